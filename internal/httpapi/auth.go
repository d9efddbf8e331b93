package httpapi

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// credentials extracts the token from Authorization: "Bearer T", "token T"
// or Basic with the token as the password (login:T, x-access-token:T) or,
// as GitHub accepts it, as the username (T:x-oauth-basic, T:, T). ok is
// false without the header.
func credentials(r *http.Request) (token string, ok bool) {
	h := headerValue(r.Header, "Authorization")
	if h == "" {
		return "", false
	}
	scheme, value, _ := strings.Cut(strings.TrimSpace(h), " ")
	value = strings.TrimSpace(value)
	switch {
	case asciiEqualFold(scheme, "bearer"), asciiEqualFold(scheme, "token"):
		return value, true
	case asciiEqualFold(scheme, "basic"):
		raw, err := base64.StdEncoding.DecodeString(value)
		if err != nil {
			return "", true
		}
		user, pass, _ := strings.Cut(string(raw), ":")
		if _, isToken := usage.ParseTokenType(pass); !isToken {
			if _, userIsToken := usage.ParseTokenType(user); userIsToken {
				return user, true
			}
		}
		return pass, true
	}
	return "", true
}

// asciiEqualFold reports whether s equals the lower-case ASCII word lower,
// ignoring ASCII case only: strings.EqualFold would also accept Unicode
// folds such as "Baſic" (U+017F), which no HTTP scheme name is.
func asciiEqualFold(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != lower[i] {
			return false
		}
	}
	return true
}

// authenticate resolves the request's actor. Without credentials the actor
// is unauthenticated and err is nil (the endpoint decides whether it needs
// one); an unknown, malformed, expired or revoked token is ErrBadCredentials.
// scopes is the X-OAuth-Scopes value of a classic PAT or OAuth app token
// (oauthScopes), "" for other actors; it is joined once per cached token.
// now is the request's time (Server.Now, read once per request).
func (s *Server) authenticate(r *http.Request, now time.Time) (_ *usage.Actor, scopes string, _ error) {
	token, ok := credentials(r)
	if !ok {
		return &usage.Actor{}, "", nil
	}
	// The same hash as usage.HashToken, kept in an array: it is the cache
	// key, and the hot path then allocates nothing for it (tokens are
	// copied to the stack first; []byte(token) of a 40-byte token would
	// be on the heap).
	var hash [sha256.Size]byte
	var buf [96]byte
	if len(token) <= len(buf) {
		hash = sha256.Sum256(buf[:copy(buf[:], token)])
	} else {
		hash = sha256.Sum256([]byte(token))
	}
	// A token the cache knows was well-formed when it was resolved (the
	// same hash is the same token), so its shape is checked only on a miss.
	a, scopes, hit := s.tokens.lookup(&hash, now, s.TokenCacheTTL)
	var err error
	if !hit {
		if _, ok := usage.ParseTokenType(token); !ok {
			return &usage.Actor{}, "", usage.ErrBadCredentials
		}
		a, scopes, err = s.tokens.load(r.Context(), s.Store, &hash, now, s.TokenCacheTTL)
	} else if a == nil {
		err = usage.ErrNotFound
	}
	if err != nil {
		if usage.IsNotFound(err) {
			return &usage.Actor{}, "", usage.ErrBadCredentials
		}
		return &usage.Actor{}, "", err
	}
	if !a.Token.Usable(now) {
		return &usage.Actor{}, "", usage.ErrBadCredentials
	}
	if a.User.Suspended() { // site-admin API (admin.go)
		return &usage.Actor{}, "", usage.ErrSuspended
	}
	return a, scopes, nil
}

// oauthScopes is the X-OAuth-Scopes value GitHub sends for a classic PAT
// or an OAuth app token ("" for other actors, which send no such header).
func oauthScopes(a *usage.Actor) string {
	if a == nil || a.Token == nil || (a.Type != usage.ActorClassicPAT && a.Type != usage.ActorOAuthApp) {
		return ""
	}
	return strings.Join(a.Token.Scopes, ", ")
}

// ResolveActor loads the token with the given hash and everything an actor
// carries: the user and its roles, the installation, and the insights
// actor id and name (see doc/insights.md for the attribution rules).
func ResolveActor(ctx context.Context, st usage.Store, hash []byte) (*usage.Actor, error) {
	t, err := st.TokenByHash(ctx, hash)
	if err != nil {
		return nil, err
	}
	// The lookup was by hash; comparing again in constant time keeps the
	// final decision independent of how the store matched.
	if !usage.HashesEqual(t.Hash, hash) {
		return nil, usage.ErrNotFound
	}
	a := &usage.Actor{Type: t.Type, Token: t, ID: t.ID, Name: t.Note}
	if t.UserID != 0 {
		if a.User, err = st.UserByID(ctx, t.UserID); err != nil {
			return nil, err
		}
		if a.Orgs, a.Enterprises, err = st.Roles(ctx, t.UserID); err != nil {
			return nil, err
		}
		if a.Name == "" {
			a.Name = a.User.Login
		}
	}
	switch t.Type {
	case usage.ActorInstallation:
		if a.Installation, err = st.InstallationByID(ctx, t.InstallationID); err != nil {
			return nil, err
		}
		a.ID = a.Installation.ID
		app, err := st.AppByID(ctx, a.Installation.AppID)
		if err != nil {
			return nil, err
		}
		a.Name = app.Name
	case usage.ActorUserToServer:
		app, err := st.AppByID(ctx, t.AppID)
		if err != nil {
			return nil, err
		}
		a.ID, a.Name = app.ID, app.Name
	case usage.ActorOAuthApp:
		app, err := st.OAuthAppByID(ctx, t.OAuthAppID)
		if err != nil {
			return nil, err
		}
		a.ID, a.Name, a.OAuthAppID = app.ID, app.Name, app.ID
	}
	return a, nil
}

// tokenCache remembers resolved actors, and hashes the store does not
// know, for a short time so the hot path does not ask the store on every
// request (a flood of well-formed but unknown tokens included).
type tokenCache struct {
	mu sync.Mutex
	m  map[[sha256.Size]byte]cachedActor
	// gen counts forget calls: a load that resolved its token before a
	// forget (a revocation racing with the first request of the token)
	// caches nothing, so the forget is never undone by an older answer.
	gen uint64
}

type cachedActor struct {
	actor   *usage.Actor // nil: the store has no such token
	scopes  string       // oauthScopes(actor)
	expires time.Time
}

// lookup returns the cached actor of the token hashed to key and its
// oauthScopes; hit is false when the cache has no fresh entry. A hit with
// a nil actor is a token the store does not know.
func (c *tokenCache) lookup(key *[sha256.Size]byte, now time.Time, ttl time.Duration) (a *usage.Actor, scopes string, hit bool) {
	if ttl <= 0 {
		return nil, "", false
	}
	c.mu.Lock()
	e, ok := c.m[*key]
	c.mu.Unlock()
	if !ok || !now.Before(e.expires) {
		return nil, "", false
	}
	return e.actor, e.scopes, true
}

// forget drops the cached actors match selects, so a change to an
// account or token (admin.go) takes effect on this replica at once.
func (c *tokenCache) forget(match func(*usage.Actor) bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	for k, e := range c.m {
		if e.actor != nil && match(e.actor) {
			delete(c.m, k)
		}
	}
}

// load resolves the token hashed to key from st and caches the answer,
// a token the store does not know included; scopes is oauthScopes(a).
func (c *tokenCache) load(ctx context.Context, st usage.Store, key *[sha256.Size]byte, now time.Time, ttl time.Duration) (_ *usage.Actor, scopes string, _ error) {
	hash := *key // copied here, so only a miss puts it on the heap
	c.mu.Lock()
	gen := c.gen
	c.mu.Unlock()
	a, err := ResolveActor(ctx, st, hash[:])
	if err != nil && !usage.IsNotFound(err) {
		if usage.ErrorKind(err) == usage.KindInternal {
			return nil, "", &usage.Error{Kind: usage.KindUnavailable, Message: "The data store is unavailable; try again shortly.", Err: fmt.Errorf("resolve token: %w", err)}
		}
		return nil, "", err
	}
	scopes = oauthScopes(a)
	if ttl > 0 {
		c.mu.Lock()
		if c.gen == gen { // else a forget ran while the token was resolved
			if c.m == nil || len(c.m) > 100_000 {
				c.m = make(map[[sha256.Size]byte]cachedActor)
			}
			c.m[*key] = cachedActor{actor: a, scopes: scopes, expires: now.Add(ttl)}
		}
		c.mu.Unlock()
	}
	return a, scopes, err
}
