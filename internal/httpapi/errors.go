package httpapi

import (
	"context"
	"errors"
	"net/http"
	"strconv"
	"strings"

	"github.com/ghusage/ghusage/internal/usage"
)

// statusByKind is the one table that maps error kinds to HTTP statuses.
var statusByKind = map[usage.Kind]int{
	usage.KindInternal:        http.StatusInternalServerError,
	usage.KindInvalid:         http.StatusUnprocessableEntity,
	usage.KindBadRequest:      http.StatusBadRequest,
	usage.KindUnauthenticated: http.StatusUnauthorized,
	usage.KindBadCredentials:  http.StatusUnauthorized,
	usage.KindForbidden:       http.StatusForbidden,
	usage.KindNotFound:        http.StatusNotFound,
	usage.KindConflict:        http.StatusConflict,
	usage.KindRateLimited:     http.StatusForbidden,
	usage.KindTooLarge:        http.StatusRequestEntityTooLarge,
	usage.KindUnavailable:     http.StatusServiceUnavailable,
}

// DocsURL is the base of documentation_url in error bodies.
const DocsURL = "https://docs.github.com/rest"

// errorBody is GitHub's error JSON.
type errorBody struct {
	Message          string             `json:"message"`
	Errors           []usage.FieldError `json:"errors,omitempty"`
	DocumentationURL string             `json:"documentation_url"`
	Status           string             `json:"status"`
}

// StatusOf returns the HTTP status an error is answered with.
func StatusOf(err error) int {
	var e *usage.Error
	if errors.As(err, &e) && e.Status != 0 {
		return e.Status
	}
	return statusByKind[usage.ErrorKind(err)]
}

// statusClientClosedRequest records a request whose client went away
// before it was answered (nginx's 499): not a server error.
const statusClientClosedRequest = 499

// writeError renders err as GitHub's error body and returns the status
// sent. Errors that are not *usage.Error are internal: they are logged and
// answered with a generic message, so no internal detail reaches the
// caller. When the client has gone away (its request's context is
// canceled), whatever failed failed because of that: the request is
// recorded as 499 and nothing is logged as an error.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) int {
	if errors.Is(r.Context().Err(), context.Canceled) {
		s.Logger.DebugContext(r.Context(), "client closed request", "err", err, "request_id", w.Header().Get("X-GitHub-Request-Id"))
		w.WriteHeader(statusClientClosedRequest) // records the status; the connection is gone
		return statusClientClosedRequest
	}
	var e *usage.Error
	if errors.As(err, &e) && e.Kind == usage.KindInternal && e.Message == "" {
		e = nil
	}
	if maxErr := (*http.MaxBytesError)(nil); errors.As(err, &maxErr) {
		e = usage.Errorf(usage.KindTooLarge, "Request body is larger than %d bytes", maxErr.Limit)
	}
	if e == nil {
		s.Logger.ErrorContext(r.Context(), "internal error", "err", err, "request_id", w.Header().Get("X-GitHub-Request-Id"))
		e = &usage.Error{Kind: usage.KindInternal, Message: "Server Error"}
	}
	if e.Kind == usage.KindInternal && e.Err != nil {
		s.Logger.ErrorContext(r.Context(), "internal error", "err", e.Err, "request_id", w.Header().Get("X-GitHub-Request-Id"))
	}
	status := StatusOf(e)
	if status == 0 {
		status = http.StatusInternalServerError
	}
	if len(e.AcceptedScopes) > 0 {
		w.Header().Set("X-Accepted-OAuth-Scopes", strings.Join(e.AcceptedScopes, ", "))
	}
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	doc := e.DocumentationURL
	if doc == "" {
		doc = DocsURL
	}
	writeJSON(w, status, errorBody{Message: e.Message, Errors: e.Fields, DocumentationURL: doc, Status: strconv.Itoa(status)})
	return status
}
