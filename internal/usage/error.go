// Package usage is ghusage's domain: accounts, tokens, actors, access rules
// and the store interfaces every backend implements. It imports only the
// standard library; adapters (sqlite, postgres, redis, httpapi) import it.
package usage

import (
	"errors"
	"fmt"
)

// Kind classifies an error. The HTTP adapter maps each kind to one status
// code in one table; nothing else decides a status.
type Kind int

const (
	KindInternal        Kind = iota // a fault of ours: 500, message hidden
	KindInvalid                     // 422 Validation Failed, with field errors
	KindBadRequest                  // 400, the request cannot be understood
	KindUnauthenticated             // 401 Requires authentication
	KindBadCredentials              // 401 Bad credentials
	KindForbidden                   // 403, authenticated but not allowed
	KindNotFound                    // 404
	KindConflict                    // 409
	KindRateLimited                 // 403 or 429 with rate-limit headers
	KindTooLarge                    // 413
	KindUnavailable                 // 503, a backend is down
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindBadRequest:
		return "bad_request"
	case KindUnauthenticated:
		return "unauthenticated"
	case KindBadCredentials:
		return "bad_credentials"
	case KindForbidden:
		return "forbidden"
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindRateLimited:
		return "rate_limited"
	case KindTooLarge:
		return "too_large"
	case KindUnavailable:
		return "unavailable"
	}
	return "internal"
}

// FieldError names one invalid field, as GitHub's 422 "errors" array does.
type FieldError struct {
	Resource string `json:"resource,omitempty"`
	Field    string `json:"field,omitempty"`
	Code     string `json:"code"`              // missing, missing_field, invalid, already_exists, custom
	Message  string `json:"message,omitempty"` // set with Code "custom" or to explain "invalid"
}

// Error is the one error type handlers return to the HTTP adapter.
type Error struct {
	Kind    Kind
	Message string       // safe to show to the caller
	Fields  []FieldError // for KindInvalid
	// AcceptedScopes lists the classic scopes that would have allowed the
	// request (X-Accepted-OAuth-Scopes) for a KindForbidden scope failure.
	AcceptedScopes []string
	// DocumentationURL overrides the default documentation link.
	DocumentationURL string
	// Status overrides the status the kind maps to (429 for some
	// secondary rate limits); 0 keeps the kind's status.
	Status int
	// RetryAfter, in seconds, is sent as Retry-After when positive.
	RetryAfter int
	Err        error // the cause, never shown to callers
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Kind, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Kind, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf builds an *Error of kind k with a formatted message.
func Errorf(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// Invalid builds the 422 error GitHub answers for a bad field.
func Invalid(resource, field, message string) *Error {
	return &Error{Kind: KindInvalid, Message: "Validation Failed",
		Fields: []FieldError{{Resource: resource, Field: field, Code: "invalid", Message: message}}}
}

// ErrNotFound is the plain 404 GitHub answers for anything unseen.
var ErrNotFound = &Error{Kind: KindNotFound, Message: "Not Found"}

// ErrorKind reports err's Kind; errors not of type *Error are internal.
func ErrorKind(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// IsNotFound reports whether err is a not-found error.
func IsNotFound(err error) bool { return err != nil && ErrorKind(err) == KindNotFound }
