// Package demo writes ghusage's deterministic demo dataset: enterprise
// acme with organizations acme-web, acme-data and acme-infra, about 200
// users, teams, repositories, GitHub Apps with installations, OAuth apps and
// tokens. The same seed always yields the same accounts; only token secrets
// are random (they are stored as hashes and cannot be derived).
package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"

	"github.com/ghusage/ghusage/internal/usage"
)

// Options configures the dataset.
type Options struct {
	Seed  uint64
	Scale float64 // multiplies the number of users and repositories; 1 is the default size
	Now   time.Time
	// AdminToken, when set, is the value of the site administrator's
	// token; it must be a well-formed ghp_ token. Otherwise one is generated.
	AdminToken string
	// CopilotBilling is --copilot-billing: the ledger derives Copilot
	// licences and premium requests from the Copilot data, so SeedBilling
	// leaves them out and SeedCopilot gives the activity premium requests
	// and the seats their history (one source, no double entry).
	CopilotBilling bool
}

// Dataset is what Seed created, for the API families that add their own
// demo data on top (traffic, billing, Copilot activity).
type Dataset struct {
	Enterprise    *usage.Enterprise
	Orgs          []*usage.Organization
	Users         []*usage.User
	Admin         *usage.User
	AdminToken    string
	Apps          []*usage.App
	Installations []*usage.Installation
	OAuthApps     []*usage.OAuthApp
	// CopilotBilling is Options.CopilotBilling, for the later families.
	CopilotBilling bool
	// Tokens are the demo users' tokens (hashes stored, secrets not kept).
	Tokens []*usage.Token
	Rand   *rand.Rand // continues the seeded sequence for later families
}

// Demo organizations, in order.
var OrgLogins = []string{"acme-web", "acme-data", "acme-infra"}

// AdminScopes are the admin token's classic scopes.
var AdminScopes = []string{"admin:org", "admin:enterprise", "manage_billing:copilot", "read:user", "repo", "user", "ghusage:ingest", "site_admin"}

// Seed writes the dataset into an empty store.
func Seed(ctx context.Context, st usage.Store, opt Options) (*Dataset, error) {
	if opt.Scale <= 0 {
		opt.Scale = 1
	}
	if opt.Now.IsZero() {
		opt.Now = time.Now()
	}
	rng := rand.New(rand.NewPCG(opt.Seed, opt.Seed^0x9e3779b97f4a7c15))
	created := opt.Now.Add(-400 * 24 * time.Hour).UTC().Truncate(time.Second)
	d := &Dataset{Rand: rng, CopilotBilling: opt.CopilotBilling}

	d.Enterprise = &usage.Enterprise{Slug: "acme", Name: "Acme Corporation", CreatedAt: created}
	if err := st.CreateEnterprise(ctx, d.Enterprise); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	for _, login := range OrgLogins {
		o := &usage.Organization{Login: login, EnterpriseID: d.Enterprise.ID, CreatedAt: created}
		if err := st.CreateOrganization(ctx, o); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		d.Orgs = append(d.Orgs, o)
	}

	d.Admin = &usage.User{Login: "ghusage-admin", Name: "ghusage administrator", SiteAdmin: true, CreatedAt: created}
	if err := st.CreateUser(ctx, d.Admin); err != nil {
		return nil, fmt.Errorf("demo: %w", err)
	}
	if err := st.SetEnterpriseRole(ctx, d.Enterprise.ID, d.Admin.ID, usage.RoleOwner); err != nil {
		return nil, err
	}
	for _, o := range d.Orgs {
		if err := st.SetOrgRole(ctx, o.ID, d.Admin.ID, usage.RoleAdmin); err != nil {
			return nil, err
		}
	}
	tok, err := EnsureAdminToken(ctx, st, d.Admin.ID, opt.AdminToken, opt.Now)
	if err != nil {
		return nil, err
	}
	d.AdminToken = tok

	nUsers := int(200 * opt.Scale)
	for i := 0; i < nUsers; i++ {
		u := &usage.User{Login: userLogin(i), CreatedAt: created.Add(time.Duration(i) * time.Hour)}
		u.Name = strings.ToUpper(u.Login[:1]) + u.Login[1:]
		if err := st.CreateUser(ctx, u); err != nil {
			return nil, fmt.Errorf("demo: %w", err)
		}
		d.Users = append(d.Users, u)
		// Every user belongs to one or two organizations; a few own one.
		home := d.Orgs[i%len(d.Orgs)]
		role := usage.RoleMember
		if i < len(d.Orgs)*2 {
			role = usage.RoleAdmin
		}
		if err := st.SetOrgRole(ctx, home.ID, u.ID, role); err != nil {
			return nil, err
		}
		if rng.IntN(4) == 0 {
			if err := st.SetOrgRole(ctx, d.Orgs[(i+1)%len(d.Orgs)].ID, u.ID, usage.RoleMember); err != nil {
				return nil, err
			}
		}
		if err := st.SetEnterpriseRole(ctx, d.Enterprise.ID, u.ID, usage.RoleMember); err != nil {
			return nil, err
		}
	}

	for oi, o := range d.Orgs {
		for ti, name := range []string{"platform", "frontend", "backend", "data-eng", "sre"} {
			t := &usage.Team{OrgID: o.ID, Slug: name, Name: name}
			if err := st.CreateTeam(ctx, t); err != nil {
				return nil, err
			}
			for ui := oi + ti*3; ui < len(d.Users); ui += 17 {
				if err := st.AddTeamMember(ctx, t.ID, d.Users[ui].ID); err != nil {
					return nil, err
				}
			}
		}
		nRepos := int(40 * opt.Scale)
		for ri := 0; ri < nRepos; ri++ {
			r := &usage.Repository{OwnerLogin: o.Login, Name: repoName(ri), Private: rng.IntN(3) != 0}
			if err := st.CreateRepository(ctx, r); err != nil {
				return nil, err
			}
		}
	}

	for i, name := range appNames {
		app := &usage.App{Slug: strings.ToLower(strings.ReplaceAll(name, " ", "-")), Name: name, OwnerLogin: "acme-infra",
			ClientID:    fmt.Sprintf("Iv1.%016x", rng.Uint64()),
			Permissions: map[string]string{"organization_api_insights": "read", "metadata": "read", "contents": "read"}}
		if err := st.CreateApp(ctx, app); err != nil {
			return nil, err
		}
		d.Apps = append(d.Apps, app)
		org := d.Orgs[i%len(d.Orgs)]
		inst := &usage.Installation{AppID: app.ID, AccountLogin: org.Login, AccountType: "Organization",
			Permissions: app.Permissions, Repositories: 5 + rng.IntN(60)}
		if err := st.CreateInstallation(ctx, inst); err != nil {
			return nil, err
		}
		d.Installations = append(d.Installations, inst)
	}
	for _, name := range oauthAppNames {
		a := &usage.OAuthApp{Name: name, ClientID: fmt.Sprintf("Ov23li%014x", rng.Uint64()>>8), OwnerLogin: "acme-infra"}
		if err := st.CreateOAuthApp(ctx, a); err != nil {
			return nil, err
		}
		d.OAuthApps = append(d.OAuthApps, a)
	}

	// Tokens for a subset of users, of every user-token type. Their
	// secrets are thrown away: they exist to attribute demo traffic.
	for i, u := range d.Users {
		if i%5 != 0 {
			continue
		}
		typ := []usage.ActorType{usage.ActorClassicPAT, usage.ActorFineGrainedPAT, usage.ActorOAuthApp, usage.ActorUserToServer}[(i/5)%4]
		t := &usage.Token{Type: typ, UserID: u.ID, CreatedAt: created, Note: u.Login + " token"}
		switch typ {
		case usage.ActorClassicPAT:
			t.Scopes = []string{"repo", "read:org"}
		case usage.ActorFineGrainedPAT:
			t.ResourceOwner = d.Orgs[i%len(d.Orgs)].Login
			t.Permissions = map[string]string{"contents": "read", "organization_api_insights": "read"}
		case usage.ActorOAuthApp:
			t.OAuthAppID = d.OAuthApps[i%len(d.OAuthApps)].ID
			t.Scopes = []string{"repo", "read:org"}
		case usage.ActorUserToServer:
			t.AppID = d.Apps[i%len(d.Apps)].ID
			t.Permissions = d.Apps[i%len(d.Apps)].Permissions
		}
		if _, err := IssueToken(ctx, st, t); err != nil {
			return nil, err
		}
		d.Tokens = append(d.Tokens, t)
	}
	for _, inst := range d.Installations {
		t := &usage.Token{Type: usage.ActorInstallation, AppID: inst.AppID, InstallationID: inst.ID,
			Permissions: inst.Permissions, CreatedAt: created}
		if _, err := IssueToken(ctx, st, t); err != nil {
			return nil, err
		}
		d.Tokens = append(d.Tokens, t)
	}
	return d, nil
}

// IssueToken creates a fresh token string of t.Type, stores t with its
// hash and returns the string, which is not kept anywhere.
func IssueToken(ctx context.Context, st usage.TokenStore, t *usage.Token) (string, error) {
	s := usage.NewTokenString(t.Type)
	t.Hash = usage.HashToken(s)
	t.LastEight = s[len(s)-8:]
	if err := st.CreateToken(ctx, t); err != nil {
		return "", err
	}
	return s, nil
}

// EnsureAdminToken makes sure the site administrator has a token: the
// given value when set (created if its hash is not stored yet), otherwise a
// new random one. It returns the token string.
func EnsureAdminToken(ctx context.Context, st usage.TokenStore, adminID int64, value string, now time.Time) (string, error) {
	t := &usage.Token{Type: usage.ActorClassicPAT, UserID: adminID, Note: "ghusage admin", Scopes: slices.Clone(AdminScopes), CreatedAt: now.UTC()}
	if value == "" {
		return IssueToken(ctx, st, t)
	}
	if typ, ok := usage.ParseTokenType(value); !ok || typ != usage.ActorClassicPAT {
		return "", fmt.Errorf("the admin token must be a well-formed ghp_ token (40 characters with a valid checksum); `ghusage token generate` prints one")
	}
	if _, err := st.TokenByHash(ctx, usage.HashToken(value)); err == nil {
		return value, nil
	} else if !usage.IsNotFound(err) {
		return "", err
	}
	t.Hash = usage.HashToken(value)
	t.LastEight = value[len(value)-8:]
	return value, st.CreateToken(ctx, t)
}

var appNames = []string{"Acme CI", "Dependency Bot", "Release Drafter", "Code Quality", "Deploy Gate", "Issue Triage",
	"Security Scanner", "Docs Publisher", "Metrics Exporter", "Backup Agent", "Chat Notifier", "License Checker"}

var oauthAppNames = []string{"GitHub Actions", "Acme Dashboard", "Legacy Sync", "Terraform Cloud", "Jira Connector"}

var firstNames = []string{"ada", "alan", "grace", "linus", "ken", "dennis", "barbara", "edsger", "margaret", "john",
	"radia", "frances", "donald", "leslie", "tim", "guido", "rob", "brian", "sophie", "katherine"}

// userLogin names demo user i: ada-dev0, alan-ops1, grace-eng2, ...
func userLogin(i int) string {
	return fmt.Sprintf("%s-%s%d", firstNames[i%len(firstNames)], []string{"dev", "ops", "eng", "data", "qa"}[i%5], i)
}

var repoWords = []string{"api", "web", "infra", "pipeline", "docs", "sdk", "cli", "mobile", "auth", "billing"}

func repoName(i int) string {
	return fmt.Sprintf("%s-%s", repoWords[i%len(repoWords)], repoWords[(i/len(repoWords)+3)%len(repoWords)]) + fmt.Sprint(i)
}
