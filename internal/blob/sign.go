package blob

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// DownloadPath is where signed links point: DownloadPath + name.
const DownloadPath = "/ghusage/v1/files/"

// DefaultLinkTTL is how long a download link stays valid by default.
const DefaultLinkTTL = time.Hour

// Signer makes and checks download links. A link is
//
//	PublicURL + DownloadPath + name + "?expires=UNIX&signature=HEX"
//
// where the signature is HMAC-SHA256, keyed by Secret, over the name and
// the expiry. Every replica must share the secret, so that any of them
// accepts a link any other made.
type Signer struct {
	// PublicURL is the base URL clients reach ghusage on, without a
	// trailing slash, such as https://ghusage.example.com.
	PublicURL string
	// Secret keys the HMAC; at least 16 bytes.
	Secret []byte
	// TTL is how long links made with a ttl of 0 stay valid;
	// DefaultLinkTTL when 0.
	TTL time.Duration
	// Now is the clock; time.Now when nil.
	Now func() time.Time
}

// ErrLinkInvalid is the 403 for a link that is expired, tampered with or
// malformed; it says no more than that.
var ErrLinkInvalid = &usage.Error{Kind: usage.KindForbidden, Message: "Request has expired or its signature does not match"}

// MinSecretLen is the shortest secret NewSigner accepts.
const MinSecretLen = 16

// NewSigner checks its arguments and returns a Signer.
func NewSigner(publicURL string, secret []byte, now func() time.Time) (*Signer, error) {
	u, err := url.Parse(publicURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, errors.New("blob: the public URL must be an absolute http or https URL without query, such as https://ghusage.example.com")
	}
	if len(secret) < MinSecretLen {
		return nil, errors.New("blob: the signing secret must be at least 16 bytes")
	}
	if now == nil {
		now = time.Now
	}
	return &Signer{PublicURL: strings.TrimSuffix(publicURL, "/"), Secret: secret, Now: now}, nil
}

func (s *Signer) now() time.Time {
	if s.Now == nil {
		return time.Now()
	}
	return s.Now()
}

func (s *Signer) mac(name string, expires int64) []byte {
	m := hmac.New(sha256.New, s.Secret)
	m.Write([]byte(name))
	m.Write([]byte{0})
	m.Write(strconv.AppendInt(nil, expires, 10))
	return m.Sum(nil)
}

// URL returns an absolute link to name valid for ttl (s.TTL, or else
// DefaultLinkTTL, when ttl is not positive), and when it expires.
func (s *Signer) URL(name string, ttl time.Duration) (string, time.Time) {
	if ttl <= 0 {
		ttl = s.TTL
	}
	if ttl <= 0 {
		ttl = DefaultLinkTTL
	}
	exp := s.now().Add(ttl).Truncate(time.Second)
	e := exp.Unix()
	return s.PublicURL + DownloadPath + name + "?expires=" + strconv.FormatInt(e, 10) +
		"&signature=" + hex.EncodeToString(s.mac(name, e)), exp.UTC()
}

// Verify checks a link's name, expires and signature query values; it
// answers ErrLinkInvalid for a link that is expired, altered or malformed.
func (s *Signer) Verify(name, expires, signature string) error {
	e, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || !ValidName(name) {
		return ErrLinkInvalid
	}
	sig, err := hex.DecodeString(signature)
	if err != nil || !hmac.Equal(sig, s.mac(name, e)) {
		return ErrLinkInvalid
	}
	if !s.now().Before(time.Unix(e, 0)) {
		return ErrLinkInvalid
	}
	return nil
}
