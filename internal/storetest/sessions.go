package storetest

import (
	"bytes"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/session"
	"github.com/ghusage/ghusage/internal/usage"
)

// RunSessions runs the dashboard session cases against backends whose
// Store also implements session.Store.
func RunSessions(t *testing.T, open func(t *testing.T) Backend) {
	cases := []struct {
		name string
		fn   func(t *testing.T, s session.Store)
	}{
		{"RoundTrip", sessionRoundTrip},
		{"Delete", sessionDelete},
		{"DeleteExpired", sessionDeleteExpired},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			b := open(t)
			s, ok := b.Store.(session.Store)
			if !ok {
				t.Skip("backend has no session.Store")
			}
			c.fn(t, s)
		})
	}
}

func sessionRoundTrip(t *testing.T, st session.Store) {
	ctx := t.Context()
	s, id := session.New(usage.HashToken("ghp_example"), testTime, 8*time.Hour)
	must(t, "create", st.CreateSession(ctx, s))
	got, err := st.SessionByHash(ctx, session.Hash(id))
	must(t, "get", err)
	if !bytes.Equal(got.Hash, s.Hash) || !bytes.Equal(got.TokenHash, s.TokenHash) || got.CSRF != s.CSRF {
		t.Errorf("got %+v, want %+v", got, s)
	}
	sameTime(t, "created_at", got.CreatedAt, testTime)
	sameTime(t, "expires_at", got.ExpiresAt, testTime.Add(8*time.Hour))
	if !got.Live(testTime.Add(8*time.Hour-time.Second)) || got.Live(testTime.Add(8*time.Hour)) {
		t.Error("Live: want live until expires_at, not at it")
	}
	_, err = st.SessionByHash(ctx, session.Hash(id+"x"))
	wantKind(t, "unknown session", err, usage.KindNotFound)
	wantKind(t, "duplicate session", st.CreateSession(ctx, s), usage.KindConflict)
}

func sessionDelete(t *testing.T, st session.Store) {
	ctx := t.Context()
	a, idA := session.New(usage.HashToken("ghp_a"), testTime, time.Hour)
	b, idB := session.New(usage.HashToken("ghp_b"), testTime, time.Hour)
	must(t, "create a", st.CreateSession(ctx, a))
	must(t, "create b", st.CreateSession(ctx, b))
	must(t, "delete a", st.DeleteSession(ctx, session.Hash(idA)))
	must(t, "delete a again", st.DeleteSession(ctx, session.Hash(idA)))
	_, err := st.SessionByHash(ctx, session.Hash(idA))
	wantKind(t, "deleted session", err, usage.KindNotFound)
	if _, err := st.SessionByHash(ctx, session.Hash(idB)); err != nil {
		t.Fatalf("the other session: %v", err)
	}
}

func sessionDeleteExpired(t *testing.T, st session.Store) {
	ctx := t.Context()
	var ids []string
	for i, ttl := range []time.Duration{time.Minute, time.Hour, 2 * time.Hour} {
		s, id := session.New(usage.HashToken("ghp_"+string(rune('a'+i))), testTime, ttl)
		must(t, "create", st.CreateSession(ctx, s))
		ids = append(ids, id)
	}
	n, err := st.DeleteExpiredSessions(ctx, testTime.Add(time.Hour))
	must(t, "delete expired", err)
	if n != 2 {
		t.Errorf("deleted %d sessions, want 2 (expired before and at now)", n)
	}
	for i, id := range ids {
		_, err := st.SessionByHash(ctx, session.Hash(id))
		if i < 2 {
			wantKind(t, "expired session", err, usage.KindNotFound)
		} else if err != nil {
			t.Errorf("live session: %v", err)
		}
	}
}
