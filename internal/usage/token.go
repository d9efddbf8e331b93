package usage

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"hash/crc32"
	"strings"
	"time"
)

// ActorType is the kind of credential a request was made with; it is also
// the actor_type of API insights.
type ActorType string

const (
	ActorInstallation    ActorType = "installation"
	ActorClassicPAT      ActorType = "classic_pat"
	ActorFineGrainedPAT  ActorType = "fine_grained_pat"
	ActorOAuthApp        ActorType = "oauth_app"
	ActorUserToServer    ActorType = "github_app_user_to_server"
	ActorUnauthenticated ActorType = "" // no credentials: rate limited by IP, not metered
)

// ActorTypes lists the actor types in API insights' enum order.
var ActorTypes = []ActorType{ActorInstallation, ActorClassicPAT, ActorFineGrainedPAT, ActorOAuthApp, ActorUserToServer}

// ParseActorType accepts one of the insights enum values.
func ParseActorType(s string) (ActorType, bool) {
	for _, t := range ActorTypes {
		if string(t) == s {
			return t, true
		}
	}
	return "", false
}

// prefixes GitHub gives each token type.
var tokenPrefixes = map[ActorType]string{
	ActorClassicPAT:     "ghp_",
	ActorFineGrainedPAT: "github_pat_",
	ActorOAuthApp:       "gho_",
	ActorUserToServer:   "ghu_",
	ActorInstallation:   "ghs_",
}

// TokenPrefix returns GitHub's prefix for tokens of type t.
func TokenPrefix(t ActorType) string { return tokenPrefixes[t] }

// ClassicScopes are the OAuth scopes a classic token may carry: GitHub's,
// plus ghusage:ingest for pushing usage data (doc/architecture.md).
var ClassicScopes = []string{
	"repo", "repo:status", "repo_deployment", "public_repo", "repo:invite", "security_events",
	"admin:repo_hook", "write:repo_hook", "read:repo_hook", "admin:org", "write:org", "read:org",
	"admin:public_key", "write:public_key", "read:public_key", "admin:org_hook", "gist", "notifications",
	"user", "read:user", "user:email", "user:follow", "project", "read:project", "delete_repo",
	"write:packages", "read:packages", "delete:packages", "admin:gpg_key", "write:gpg_key", "read:gpg_key",
	"codespace", "workflow", "admin:enterprise", "manage_runners:enterprise", "manage_billing:enterprise",
	"read:enterprise", "site_admin", "audit_log", "read:audit_log", "manage_billing:copilot", "read:org_copilot",
	"admin:ssh_signing_key", "write:ssh_signing_key", "read:ssh_signing_key", "ghusage:ingest",
}

// Token is a stored credential. The secret itself is never stored: Hash is
// SHA-256 of the token string, which is enough for random 178-bit secrets.
type Token struct {
	ID             int64
	Type           ActorType
	Hash           []byte // sha256 of the token string
	LastEight      string // the last eight characters, to tell tokens apart in listings
	UserID         int64  // the user the token acts for; 0 for installation tokens
	OAuthAppID     int64  // for oauth_app tokens
	AppID          int64  // for github_app_user_to_server and installation tokens
	InstallationID int64  // for installation tokens
	Note           string
	Scopes         []string          // classic scopes, for ghp_, gho_
	Permissions    map[string]string // fine-grained permissions, for github_pat_, ghu_, ghs_
	ResourceOwner  string            // login of the account a fine-grained token is for
	CreatedAt      time.Time
	ExpiresAt      time.Time // zero: never expires
	RevokedAt      time.Time // zero: not revoked
}

// Usable reports whether the token may authenticate a request at now.
func (t *Token) Usable(now time.Time) bool {
	if !t.RevokedAt.IsZero() {
		return false
	}
	return t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt)
}

// HashToken is the lookup key stored for a token string.
func HashToken(token string) []byte {
	h := sha256.Sum256([]byte(token))
	return h[:]
}

// HashesEqual compares two token hashes in constant time.
func HashesEqual(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomBase62 returns n uniformly random base62 characters. Bytes of 248
// and above are drawn again, so every character is equally likely.
func randomBase62(n int) string {
	out := make([]byte, 0, n)
	var buf [64]byte
	for len(out) < n {
		rand.Read(buf[:]) // crypto/rand.Read never fails on supported platforms
		for _, c := range buf {
			if c < 248 && len(out) < n {
				out = append(out, base62[c%62])
			}
		}
	}
	return string(out)
}

func encodeBase62(v uint32, width int) string {
	out := make([]byte, width)
	for i := width - 1; i >= 0; i-- {
		out[i] = base62[v%62]
		v /= 62
	}
	return string(out)
}

// NewTokenString returns a fresh random token of type t in GitHub's format:
// a prefix, 30 random base62 characters and a 6-character CRC32 checksum
// (40 characters for ghp_); fine-grained tokens are github_pat_, 22
// characters, an underscore and 59 characters.
func NewTokenString(t ActorType) string {
	if t == ActorFineGrainedPAT {
		return "github_pat_" + randomBase62(22) + "_" + randomBase62(59)
	}
	body := randomBase62(30)
	return tokenPrefixes[t] + body + encodeBase62(crc32.ChecksumIEEE([]byte(body)), 6)
}

// ParseTokenType reports the type of a well-formed token string. It checks
// the prefix, the length, the alphabet and, for ghX_ tokens, the checksum,
// so malformed strings are refused before any lookup.
func ParseTokenType(s string) (ActorType, bool) {
	if rest, ok := strings.CutPrefix(s, "github_pat_"); ok {
		a, b, ok := strings.Cut(rest, "_")
		if !ok || len(a) != 22 || len(b) != 59 || !isBase62(a) || !isBase62(b) {
			return "", false
		}
		return ActorFineGrainedPAT, true
	}
	if len(s) != 40 || s[3] != '_' {
		return "", false
	}
	var typ ActorType
	switch s[:4] { // a switch, not a walk over tokenPrefixes: this runs on every request
	case "ghp_":
		typ = ActorClassicPAT
	case "gho_":
		typ = ActorOAuthApp
	case "ghu_":
		typ = ActorUserToServer
	case "ghs_":
		typ = ActorInstallation
	}
	body, sum := s[4:34], s[34:]
	if typ == "" || !isBase62(s[4:]) || encodeBase62(crc32.ChecksumIEEE([]byte(body)), 6) != sum {
		return "", false
	}
	return typ, true
}

func isBase62(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return false
		}
	}
	return true
}
