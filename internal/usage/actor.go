package usage

import "context"

// Actor is who a request acts as, resolved from its credentials. It feeds
// access checks, the rate limiter and API insights.
type Actor struct {
	Type  ActorType
	ID    int64  // insights actor_id: installation, token or app id (see doc/insights.md)
	Name  string // insights actor_name
	Token *Token // nil when unauthenticated

	User         *User // the user acted for; nil for installations
	Installation *Installation
	OAuthAppID   int64 // insights oauth_application_id
	// Orgs maps lower-cased organization logins to the user's role there.
	Orgs map[string]string
	// Enterprises maps lower-cased enterprise slugs to the user's role there.
	Enterprises map[string]string
}

// Authenticated reports whether the request carried valid credentials.
func (a *Actor) Authenticated() bool { return a != nil && a.Token != nil }

// UserID is the acting user's id, or 0.
func (a *Actor) UserID() int64 {
	if a == nil || a.User == nil {
		return 0
	}
	return a.User.ID
}

type actorKey struct{}

// WithActor returns a context carrying a.
func WithActor(ctx context.Context, a *Actor) context.Context {
	return context.WithValue(ctx, actorKey{}, a)
}

// IsActorKey reports whether key is the context key WithActor stores an
// actor under, so a context type that carries the actor itself (the API
// pipeline's per-request context) can answer ActorFrom without a
// context.WithValue layer.
func IsActorKey(key any) bool {
	_, ok := key.(actorKey)
	return ok
}

// ActorFrom returns the request's actor; an unauthenticated actor when none was set.
func ActorFrom(ctx context.Context) *Actor {
	if a, ok := ctx.Value(actorKey{}).(*Actor); ok {
		return a
	}
	return &Actor{}
}
