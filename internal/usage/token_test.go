package usage

import (
	"strings"
	"testing"
	"time"
)

func TestNewTokenStringParsesAsItsType(t *testing.T) {
	for typ, prefix := range tokenPrefixes {
		for range 50 {
			s := NewTokenString(typ)
			if !strings.HasPrefix(s, prefix) {
				t.Fatalf("%s token %q lacks prefix %q", typ, s, prefix)
			}
			got, ok := ParseTokenType(s)
			if !ok || got != typ {
				t.Fatalf("ParseTokenType(%q) = %q, %v; want %q", s, got, ok, typ)
			}
		}
	}
	if n := len(NewTokenString(ActorClassicPAT)); n != 40 {
		t.Errorf("classic token length %d, want 40 as on GitHub", n)
	}
	if n := len(NewTokenString(ActorFineGrainedPAT)); n != 93 {
		t.Errorf("fine-grained token length %d, want 93 as on GitHub", n)
	}
}

func TestParseTokenTypeRejectsMalformed(t *testing.T) {
	good := NewTokenString(ActorClassicPAT)
	flipped := []byte(good)
	if flipped[10] == 'a' {
		flipped[10] = 'b'
	} else {
		flipped[10] = 'a'
	}
	fg := NewTokenString(ActorFineGrainedPAT)
	for _, s := range []string{
		"", "ghp_", "ghp_short", good[:39], good + "x", string(flipped),
		"ghx_" + good[4:], "GHP_" + good[4:], good[:20] + "-" + good[21:],
		strings.Replace(fg, "_", "-", 2), fg[:len(fg)-1], "github_pat_abc",
		"Bearer " + good,
	} {
		if typ, ok := ParseTokenType(s); ok {
			t.Errorf("ParseTokenType(%q) accepted it as %s", s, typ)
		}
	}
}

func TestHashTokenIsStableAndComparedExactly(t *testing.T) {
	a, b := NewTokenString(ActorClassicPAT), NewTokenString(ActorClassicPAT)
	if !HashesEqual(HashToken(a), HashToken(a)) {
		t.Fatal("hash of the same token differs")
	}
	if HashesEqual(HashToken(a), HashToken(b)) {
		t.Fatal("two tokens share a hash")
	}
}

func TestTokenUsable(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cases := []struct {
		name string
		tok  Token
		want bool
	}{
		{"no expiry", Token{}, true},
		{"expires later", Token{ExpiresAt: now.Add(time.Minute)}, true},
		{"expired", Token{ExpiresAt: now}, false},
		{"revoked", Token{RevokedAt: now.Add(-time.Hour)}, false},
	}
	for _, c := range cases {
		if got := c.tok.Usable(now); got != c.want {
			t.Errorf("%s: Usable = %v, want %v", c.name, got, c.want)
		}
	}
}

func FuzzParseTokenType(f *testing.F) {
	f.Add(NewTokenString(ActorClassicPAT))
	f.Add(NewTokenString(ActorFineGrainedPAT))
	f.Add("ghs_")
	f.Fuzz(func(t *testing.T, s string) {
		typ, ok := ParseTokenType(s)
		if ok && !strings.HasPrefix(s, TokenPrefix(typ)) {
			t.Fatalf("%q parsed as %s without its prefix", s, typ)
		}
	})
}

func TestRandomBase62IsUniform(t *testing.T) {
	counts := map[rune]int{}
	const n = 62 * 2000
	for _, c := range randomBase62(n) {
		counts[c]++
	}
	if len(counts) != 62 {
		t.Fatalf("%d distinct characters, want 62", len(counts))
	}
	for c, k := range counts {
		// Expected 2000 each; modulo bias would give '0'-'7' about 2500.
		if k < 1750 || k > 2250 {
			t.Errorf("%q drawn %d times of %d, want about 2000", c, k, n)
		}
	}
}
