// Package ui is ghusage's dashboard under /ui/: server-rendered HTML
// (html/template from embedded files) and SVG charts, no CDN and no
// JavaScript needed for tables or navigation. Every number it shows is
// read through the same domain services as the REST API (insights.Service,
// ratelimit.Limiter) and every account through the same access checks
// (usage.AuthorizeOrg with the endpoint's usage.Access), so a signed-in
// token sees in the dashboard exactly what it may see through the API.
//
// State (period, interval, filters, sort, page, time zone) lives in the
// URL. Sign-in pastes a token; the browser then holds only a session
// cookie (see auth.go and doc/dashboard.md).
package ui

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/billing"
	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/ratelimit"
	"github.com/ghusage/ghusage/internal/serverstats"
	"github.com/ghusage/ghusage/internal/session"
	"github.com/ghusage/ghusage/internal/usage"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Prefix is where the dashboard is served.
const Prefix = "/ui/"

// DefaultSessionTTL is how long a sign-in lasts.
const DefaultSessionTTL = 8 * time.Hour

// Config is what the dashboard reads through. Store and Sessions are
// required; a nil Insights or Limiter hides its view, as the API answers
// 404 for it.
type Config struct {
	Store    usage.Store
	Sessions session.Store
	Insights *insights.Service
	Limiter  *ratelimit.Limiter
	// Billing answers the billing view; nil hides it. BillingScope resolves
	// a billing account with the API's access rules (httpapi.Server.BillingScope).
	Billing      *billing.Service
	BillingScope func(ctx context.Context, a *usage.Actor, kind, name string) (billing.Scope, error)
	// CostCenters lists an enterprise's cost centers with the cost-center
	// endpoint's rules (httpapi.Server.CostCenterList); nil when none are kept.
	CostCenters func(ctx context.Context, a *usage.Actor, enterprise string) ([]*billing.CostCenter, error)
	// Budgets lists an account's budgets with their consumption this
	// month, with the budget endpoints' rules (httpapi.Server.BudgetStates);
	// nil when none are kept.
	Budgets budgetStates
	// Copilot answers the Copilot view; nil hides it. CopilotAccount
	// resolves an account with the report routes' rules
	// (httpapi.Server.CopilotAccount).
	Copilot        *copilot.Service
	CopilotAccount func(ctx context.Context, a *usage.Actor, kind, name string) (copilot.Scope, *usage.Enterprise, *usage.Organization, error)
	// ServerStats answers the server statistics view; nil hides it.
	ServerStats *serverstats.Service
	// Resolve loads the actor of a token hash, as the API's authentication
	// does (httpapi.ResolveActor).
	Resolve func(ctx context.Context, st usage.Store, hash []byte) (*usage.Actor, error)
	// RateSubject is the pool an actor's requests count against, as the
	// API computes it (httpapi.RateSubject).
	RateSubject func(*usage.Actor) (ratelimit.Subject, bool)
	Now         func() time.Time
	Logger      *slog.Logger
	SessionTTL  time.Duration
	// SecureCookies marks the cookies Secure on every request, for a server
	// reached over HTTPS through a proxy (--public-url https://…); they are
	// Secure anyway on requests that arrive over TLS.
	SecureCookies bool
}

// Handler serves the dashboard.
type Handler struct {
	cfg   Config
	mux   *http.ServeMux
	pages map[string]*template.Template
}

// New returns the dashboard handler; it panics when its embedded
// templates do not parse (a build defect, caught by every test).
func New(cfg Config) *Handler {
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = DefaultSessionTTL
	}
	h := &Handler{cfg: cfg, mux: http.NewServeMux(), pages: map[string]*template.Template{}}
	names, err := fs.Glob(templateFiles, "templates/*.html")
	if err != nil {
		panic(err)
	}
	for _, n := range names {
		base := strings.TrimPrefix(n, "templates/")
		if base == "layout.html" || base == "partials.html" {
			continue
		}
		h.pages[strings.TrimSuffix(base, ".html")] = template.Must(template.New("layout.html").Funcs(funcs).
			ParseFS(templateFiles, "templates/layout.html", "templates/partials.html", n))
	}
	static, _ := fs.Sub(staticFiles, "static")
	h.mux.Handle("GET /ui/static/", http.StripPrefix("/ui/static/", staticHandler(static)))
	h.mux.HandleFunc("GET /ui/signin", h.signInPage)
	h.mux.HandleFunc("POST /ui/signin", h.signIn)
	h.mux.HandleFunc("POST /ui/signout", h.signOut)
	h.mux.Handle("GET /ui/{$}", h.auth(h.home))
	h.mux.Handle("GET /ui/insights", h.auth(h.insightsOrgs))
	h.mux.Handle("GET /ui/insights/{org}", h.auth(h.insightsOrg))
	h.mux.Handle("GET /ui/insights/{org}/users/{user_id}", h.auth(h.insightsUser))
	h.mux.Handle("GET /ui/insights/{org}/actors/{actor_type}/{actor_id}", h.auth(h.insightsActor))
	h.mux.Handle("GET /ui/rate-limits", h.auth(h.rateLimits))
	h.mux.Handle("GET /ui/billing", h.auth(h.billingIndex))
	h.mux.Handle("GET /ui/billing/{kind}/{name}", h.auth(h.billingAccountPage))
	h.mux.Handle("GET /ui/billing/{kind}/{name}/usage.csv", h.auth(h.billingCSV))
	h.mux.Handle("GET /ui/copilot", h.auth(h.copilotIndex))
	h.mux.Handle("GET /ui/copilot/{kind}/{name}", h.auth(h.copilotAccountPage))
	h.mux.Handle("GET /ui/server-stats", h.auth(h.serverStatsIndex))
	h.mux.Handle("GET /ui/server-stats/{account}", h.auth(h.serverStatsAccount))
	h.mux.Handle("/ui/", h.auth(func(w http.ResponseWriter, r *http.Request, v *viewer) error { return errNotFound }))
	return h
}

// contentSecurityPolicy allows nothing from elsewhere, no inline script or
// style, and no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Frame-Options", "DENY")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "same-origin")
	if r.URL.Path == "/ui" {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		return
	}
	h.mux.ServeHTTP(w, r)
}

func staticHandler(files fs.FS) http.Handler {
	fsrv := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=86400") // URLs carry a content hash
		fsrv.ServeHTTP(w, r)
	})
}

// pageError is an error shown to the user with a status.
type pageError struct {
	status  int
	title   string
	message string
}

func (e *pageError) Error() string { return e.message }

var errNotFound = &pageError{http.StatusNotFound, "Not found", "There is nothing here that this token may see."}

// render writes page with data, or a 500 when the template fails.
func (h *Handler) render(w http.ResponseWriter, r *http.Request, status int, page string, data any) {
	var buf bytes.Buffer
	if err := h.pages[page].Execute(&buf, data); err != nil {
		h.cfg.Logger.ErrorContext(r.Context(), "ui: template", "page", page, "err", err)
		http.Error(w, "Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail renders err: a pageError as itself, a usage.Error by its kind (404
// for an account the token may not see, 403 naming what it lacks), and
// anything else as a 500 without detail.
func (h *Handler) fail(w http.ResponseWriter, r *http.Request, v *viewer, err error) {
	var pe *pageError
	var ue *usage.Error
	switch {
	case errors.As(err, &pe):
	case errors.As(err, &ue):
		switch ue.Kind {
		case usage.KindNotFound:
			pe = errNotFound
		case usage.KindForbidden:
			msg := ue.Message
			if len(ue.AcceptedScopes) > 0 {
				msg += " (it needs one of the scopes: " + strings.Join(ue.AcceptedScopes, ", ") + ")"
			}
			pe = &pageError{http.StatusForbidden, "Not allowed", msg + "."}
		case usage.KindInvalid, usage.KindBadRequest:
			msg := ue.Message
			for _, f := range ue.Fields {
				msg = f.Field + ": " + f.Message
			}
			pe = &pageError{http.StatusUnprocessableEntity, "Invalid request", msg}
		case usage.KindUnavailable:
			pe = &pageError{http.StatusServiceUnavailable, "Unavailable", ue.Message}
		}
	}
	if pe == nil {
		h.cfg.Logger.ErrorContext(r.Context(), "ui: error", "path", r.URL.Path, "err", err)
		pe = &pageError{http.StatusInternalServerError, "Server error", "Something went wrong; the error was logged."}
	}
	// An error page does not echo the address it was asked for (the zone
	// toggle would): a 404 says nothing of the account asked about.
	b := h.base(r, v, pe.title, "")
	b.UTCURL, b.LocalURL = "", ""
	h.render(w, r, pe.status, "error", &errorPage{Base: b, Message: pe.message})
}

type errorPage struct {
	Base
	Message string
}
