package ui

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/ghusage/ghusage/internal/session"
	"github.com/ghusage/ghusage/internal/usage"
)

// Cookies. Both are HttpOnly, SameSite=Strict, limited to /ui/, and
// Secure when the request came over TLS or the public URL is https.
const (
	sessionCookie = "ghusage_session"
	// signinCookie carries the CSRF secret of the sign-in form, which has
	// no session yet (a double-submit check).
	signinCookie = "ghusage_signin"
)

// viewer is the signed-in session and the actor its token resolves to now.
type viewer struct {
	sess  *session.Session
	actor *usage.Actor
}

type viewFunc func(w http.ResponseWriter, r *http.Request, v *viewer) error

func (h *Handler) setCookie(w http.ResponseWriter, r *http.Request, name, value string, maxAge int) {
	http.SetCookie(w, &http.Cookie{Name: name, Value: value, Path: Prefix, MaxAge: maxAge,
		HttpOnly: true, SameSite: http.SameSiteStrictMode, Secure: r.TLS != nil || h.cfg.SecureCookies})
}

// auth loads the session of the request and resolves its token again, so
// a revoked or expired token ends the session at its next request. Without
// a live session the browser is sent to sign in, keeping where it was going.
func (h *Handler) auth(view viewFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, reason, err := h.load(r)
		if err != nil {
			h.fail(w, r, nil, err)
			return
		}
		if v == nil {
			if reason != "" {
				h.setCookie(w, r, sessionCookie, "", -1)
			}
			q := url.Values{"next": {r.URL.RequestURI()}}
			if reason != "" {
				q.Set("reason", reason)
			}
			http.Redirect(w, r, Prefix+"signin?"+q.Encode(), http.StatusSeeOther)
			return
		}
		if err := view(w, r, v); err != nil {
			h.fail(w, r, v, err)
		}
	})
}

// load returns the request's viewer, or nil and why the session ended
// ("" when there was none).
func (h *Handler) load(r *http.Request) (*viewer, string, error) {
	c, err := r.Cookie(sessionCookie)
	if err != nil || c.Value == "" {
		return nil, "", nil
	}
	ctx := r.Context()
	hash := session.Hash(c.Value)
	s, err := h.cfg.Sessions.SessionByHash(ctx, hash)
	if usage.IsNotFound(err) {
		return nil, "ended", nil
	}
	if err != nil {
		return nil, "", err
	}
	now := h.cfg.Now()
	if !s.Live(now) {
		h.cfg.Sessions.DeleteSession(ctx, hash)
		return nil, "expired", nil
	}
	a, err := h.cfg.Resolve(ctx, h.cfg.Store, s.TokenHash)
	if err != nil && !usage.IsNotFound(err) {
		return nil, "", err
	}
	if err != nil || !a.Token.Usable(now) {
		h.cfg.Sessions.DeleteSession(ctx, hash)
		return nil, "revoked", nil
	}
	return &viewer{sess: s, actor: a}, "", nil
}

// sameOrigin refuses requests a browser says come from another site
// (Sec-Fetch-Site, else Origin), on top of the CSRF secret and the
// SameSite=Strict cookies.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "", "same-origin", "none":
	default:
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o) // "null" has no host
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

var errCSRF = &pageError{http.StatusForbidden, "Form expired", "This form could not be verified (it may be from another site, or too old). Go back, reload the page and try again."}

type signInPage struct {
	Base
	Next, Error, Notice string
}

// safeNext keeps a sign-in's destination only when it is a dashboard path.
func safeNext(next string) string {
	if !strings.HasPrefix(next, Prefix) || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\r\n") {
		return Prefix
	}
	return next
}

func (h *Handler) signInPage(w http.ResponseWriter, r *http.Request) {
	if v, _, _ := h.load(r); v != nil {
		http.Redirect(w, r, safeNext(r.URL.Query().Get("next")), http.StatusSeeOther)
		return
	}
	h.showSignIn(w, r, http.StatusOK, "")
}

func (h *Handler) showSignIn(w http.ResponseWriter, r *http.Request, status int, errMsg string) {
	csrf := session.NewSecret()
	h.setCookie(w, r, signinCookie, csrf, 3600)
	p := &signInPage{Base: h.base(r, nil, "Sign in", ""), Next: safeNext(r.FormValue("next")), Error: errMsg}
	p.CSRF = csrf
	switch r.URL.Query().Get("reason") {
	case "revoked":
		p.Notice = "Your session ended: its token was revoked or has expired."
	case "expired":
		p.Notice = "Your session expired. Sign in again."
	case "signedout":
		p.Notice = "You are signed out."
	}
	h.render(w, r, status, "signin", p)
}

// signIn checks the pasted token as the API's authentication would and
// starts a session for it.
func (h *Handler) signIn(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	c, err := r.Cookie(signinCookie)
	if !sameOrigin(r) || err != nil || !session.Equal(c.Value, r.PostFormValue("csrf")) {
		h.fail(w, r, nil, errCSRF)
		return
	}
	token := strings.TrimSpace(r.PostFormValue("token"))
	if _, ok := usage.ParseTokenType(token); !ok {
		h.showSignIn(w, r, http.StatusUnauthorized, "That is not a GitHub token (ghp_, github_pat_, gho_, ghu_ or ghs_).")
		return
	}
	ctx := r.Context()
	hash := usage.HashToken(token)
	a, err := h.cfg.Resolve(ctx, h.cfg.Store, hash)
	if err != nil && !usage.IsNotFound(err) {
		h.fail(w, r, nil, err)
		return
	}
	now := h.cfg.Now()
	if err != nil || !a.Token.Usable(now) {
		h.showSignIn(w, r, http.StatusUnauthorized, "Bad credentials: the token is unknown, expired or revoked.")
		return
	}
	ttl := h.cfg.SessionTTL
	if !a.Token.ExpiresAt.IsZero() {
		ttl = min(ttl, a.Token.ExpiresAt.Sub(now))
	}
	s, id := session.New(hash, now, ttl)
	if err := h.cfg.Sessions.CreateSession(ctx, s); err != nil {
		h.fail(w, r, nil, err)
		return
	}
	h.setCookie(w, r, signinCookie, "", -1)
	h.setCookie(w, r, sessionCookie, id, int(ttl.Seconds()))
	http.Redirect(w, r, safeNext(r.PostFormValue("next")), http.StatusSeeOther)
}

// signOut deletes the session (so the cookie is worthless everywhere,
// whichever replica sees it next) and clears the cookie.
func (h *Handler) signOut(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	v, _, err := h.load(r)
	if err != nil {
		h.fail(w, r, nil, err)
		return
	}
	if v != nil {
		if !sameOrigin(r) || !session.Equal(v.sess.CSRF, r.PostFormValue("csrf")) {
			h.fail(w, r, v, errCSRF)
			return
		}
		if err := h.cfg.Sessions.DeleteSession(r.Context(), v.sess.Hash); err != nil {
			h.fail(w, r, v, err)
			return
		}
	}
	h.setCookie(w, r, sessionCookie, "", -1)
	http.Redirect(w, r, Prefix+"signin?reason=signedout", http.StatusSeeOther)
}
