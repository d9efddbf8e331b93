// Package session keeps the dashboard's sign-in sessions: a random
// identifier handed to the browser in a cookie, stored only as its
// SHA-256 hash beside the hash of the API token it signs in with, so any
// replica sharing the store can resolve it and the token's revocation
// ends it. It imports only the standard library
// (and internal/usage for its error kinds).
package session

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"time"
)

// Session is one signed-in browser.
type Session struct {
	// Hash is the SHA-256 of the identifier in the cookie; the identifier
	// itself is never stored.
	Hash []byte
	// TokenHash is the SHA-256 of the API token the session acts with, as
	// the token store keeps it (usage.HashToken).
	TokenHash []byte
	// CSRF is the secret every form of the session carries back.
	CSRF      string
	CreatedAt time.Time
	ExpiresAt time.Time
}

// Live reports whether s may still be used at now.
func (s *Session) Live(now time.Time) bool { return now.Before(s.ExpiresAt) }

// Store keeps sessions by hash. Backends shared by several replicas make
// a session created on one visible to all.
type Store interface {
	// CreateSession stores s; its Hash is new.
	CreateSession(ctx context.Context, s *Session) error
	// SessionByHash returns the session whose Hash equals hash, or an
	// error of usage.KindNotFound (expired sessions may still be returned:
	// callers check Live).
	SessionByHash(ctx context.Context, hash []byte) (*Session, error)
	// DeleteSession removes a session; deleting a missing one is not an error.
	DeleteSession(ctx context.Context, hash []byte) error
	// DeleteExpiredSessions removes sessions expired at or before now and
	// returns how many it removed.
	DeleteExpiredSessions(ctx context.Context, now time.Time) (int64, error)
}

// NewSecret returns 32 random bytes, base64url without padding (43 characters).
func NewSecret() string {
	var b [32]byte
	rand.Read(b[:]) // never fails (crypto/rand panics on failure since Go 1.24)
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// Hash is the stored form of a session identifier.
func Hash(id string) []byte {
	h := sha256.Sum256([]byte(id))
	return h[:]
}

// Equal compares two secrets in constant time.
func Equal(a, b string) bool {
	return len(a) == len(b) && subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}

// New returns a session for the token hashed to tokenHash, created at now
// and living ttl, and the identifier to put in the cookie.
func New(tokenHash []byte, now time.Time, ttl time.Duration) (*Session, string) {
	id := NewSecret()
	return &Session{Hash: Hash(id), TokenHash: tokenHash, CSRF: NewSecret(),
		CreatedAt: now.UTC().Truncate(time.Second), ExpiresAt: now.UTC().Add(ttl).Truncate(time.Second)}, id
}
