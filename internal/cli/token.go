package cli

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/usage"
)

const tokenHelp = `Usage:
  ghusage token create --user LOGIN [--type classic] [--scopes read:org,...] [--expires 720h] [--note TEXT]
  ghusage token create --user LOGIN --type fine-grained --owner ORG --permissions organization_api_insights=read,...
  ghusage token create --user LOGIN --type oauth --oauth-app ID [--scopes ...]
  ghusage token create --user LOGIN --type user-to-server --app ID [--permissions ...]
  ghusage token create --type installation --installation ID
  ghusage token list [--user LOGIN]
  ghusage token revoke ID
  ghusage token generate      print a fresh well-formed ghp_ value (not stored), e.g. for GHUSAGE_ADMIN_TOKEN
The token is printed once; only its hash is stored.
`

var tokenTypes = map[string]usage.ActorType{
	"classic":        usage.ActorClassicPAT,
	"fine-grained":   usage.ActorFineGrainedPAT,
	"oauth":          usage.ActorOAuthApp,
	"user-to-server": usage.ActorUserToServer,
	"installation":   usage.ActorInstallation,
}

func runToken(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		return printHelp(e, tokenHelp, args)
	}
	verb, args := args[0], args[1:]
	if verb == "generate" {
		fmt.Fprintln(e.stdout, usage.NewTokenString(usage.ActorClassicPAT))
		return nil
	}
	cfg := server.DefaultConfig()
	f := newFlagSet("token "+verb, e.getenv, e.stderr)
	storeFlags(f, &cfg)
	var user, typ, scopes, perms, owner, note string
	var oauthApp, app, inst int64
	var expires time.Duration
	switch verb {
	case "create":
		f.StringVar(&user, "user", "", "login of the user the token acts for")
		f.StringVar(&typ, "type", "classic", "classic, fine-grained, oauth, user-to-server or installation")
		f.StringVar(&scopes, "scopes", "", "comma-separated classic scopes (classic, oauth)")
		f.StringVar(&perms, "permissions", "", "comma-separated name=level fine-grained permissions")
		f.StringVar(&owner, "owner", "", "resource owner login of a fine-grained token")
		f.Int64Var(&oauthApp, "oauth-app", 0, "OAuth app id (oauth tokens)")
		f.Int64Var(&app, "app", 0, "GitHub App id (user-to-server tokens)")
		f.Int64Var(&inst, "installation", 0, "installation id (installation tokens)")
		f.DurationVar(&expires, "expires", 0, "lifetime, e.g. 720h; 0 never expires")
		f.StringVar(&note, "note", "", "what the token is for")
	case "list":
		f.StringVar(&user, "user", "", "only this user's tokens")
	case "revoke":
	default:
		fmt.Fprint(e.stderr, tokenHelp)
		return fmt.Errorf("unknown token command %q", verb)
	}
	st, err := parseAndOpen(ctx, f, args, &cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	now := time.Now().UTC()

	switch verb {
	case "create":
		t := &usage.Token{Note: note, CreatedAt: now, ResourceOwner: owner, OAuthAppID: oauthApp, AppID: app, InstallationID: inst}
		var ok bool
		if t.Type, ok = tokenTypes[typ]; !ok {
			return fmt.Errorf("--type %q: use classic, fine-grained, oauth, user-to-server or installation", typ)
		}
		if scopes != "" {
			t.Scopes = splitList(scopes)
			for _, sc := range t.Scopes {
				if !slices.Contains(usage.ClassicScopes, sc) {
					return fmt.Errorf("--scopes: %q is not a classic scope (GitHub's scopes, or ghusage:ingest)", sc)
				}
			}
		}
		if expires < 0 {
			return fmt.Errorf("--expires %s: a lifetime must be positive (0 never expires)", expires)
		}
		if t.Permissions, err = parsePermissions(perms); err != nil {
			return err
		}
		if expires > 0 {
			t.ExpiresAt = now.Add(expires)
		}
		if err := completeToken(ctx, st, t, user); err != nil {
			return err
		}
		s, err := demo.IssueToken(ctx, st, t)
		if err != nil {
			return err
		}
		fmt.Fprintln(e.stdout, s)
		fmt.Fprintf(e.stderr, "token %d created (%s); it is shown only now\n", t.ID, t.Type)
		return nil
	case "list":
		var uid int64
		if user != "" {
			u, err := st.UserByLogin(ctx, user)
			if err != nil {
				return fmt.Errorf("user %q: %w", user, err)
			}
			uid = u.ID
		}
		toks, err := st.ListTokens(ctx, uid)
		if err != nil {
			return err
		}
		users, err := st.ListUsers(ctx)
		if err != nil {
			return err
		}
		logins := make(map[int64]string, len(users))
		for _, u := range users {
			logins[u.ID] = u.Login
		}
		tw := tabwriter.NewWriter(e.stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTYPE\tUSER\tLAST EIGHT\tSCOPES/PERMISSIONS\tCREATED\tEXPIRES\tSTATE\tNOTE")
		for _, t := range toks {
			state := "active"
			if !t.RevokedAt.IsZero() {
				state = "revoked"
			} else if !t.Usable(now) {
				state = "expired"
			}
			grant := slices.Clone(t.Scopes)
			for _, k := range slices.Sorted(maps.Keys(t.Permissions)) {
				grant = append(grant, k+"="+t.Permissions[k])
			}
			user := logins[t.UserID]
			if user == "" {
				user = "-"
			}
			fmt.Fprintf(tw, "%d\t%s\t%s\t…%s\t%s\t%s\t%s\t%s\t%s\n", t.ID, t.Type, user, t.LastEight, strings.Join(grant, ","),
				t.CreatedAt.Format(time.RFC3339), formatTime(t.ExpiresAt), state, t.Note)
		}
		return tw.Flush()
	default: // revoke
		if len(f.args) != 1 {
			return fmt.Errorf("usage: ghusage token revoke ID")
		}
		id, err := strconv.ParseInt(f.args[0], 10, 64)
		if err != nil {
			return fmt.Errorf("token id %q is not a number (see 'ghusage token list')", f.args[0])
		}
		if err := st.RevokeToken(ctx, id, now); err != nil {
			return fmt.Errorf("revoke token %d: %w", id, err)
		}
		fmt.Fprintf(e.stdout, "token %d revoked\n", id)
		return nil
	}
}

// completeToken checks and fills in the accounts a new token refers to.
func completeToken(ctx context.Context, st usage.Store, t *usage.Token, user string) error {
	if t.Type == usage.ActorInstallation {
		inst, err := st.InstallationByID(ctx, t.InstallationID)
		if err != nil {
			return fmt.Errorf("--installation %d: %w", t.InstallationID, err)
		}
		t.AppID = inst.AppID
		if t.Permissions == nil {
			t.Permissions = inst.Permissions
		}
		return nil
	}
	if user == "" {
		return fmt.Errorf("--user is required for %s tokens", t.Type)
	}
	u, err := st.UserByLogin(ctx, user)
	if err != nil {
		return fmt.Errorf("user %q: %w", user, err)
	}
	t.UserID = u.ID
	switch t.Type {
	case usage.ActorFineGrainedPAT:
		if t.ResourceOwner == "" {
			return fmt.Errorf("--owner is required for fine-grained tokens")
		}
	case usage.ActorOAuthApp:
		if _, err := st.OAuthAppByID(ctx, t.OAuthAppID); err != nil {
			return fmt.Errorf("--oauth-app %d: %w", t.OAuthAppID, err)
		}
	case usage.ActorUserToServer:
		app, err := st.AppByID(ctx, t.AppID)
		if err != nil {
			return fmt.Errorf("--app %d: %w", t.AppID, err)
		}
		if t.Permissions == nil {
			t.Permissions = app.Permissions
		}
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parsePermissions(s string) (map[string]string, error) {
	if s == "" {
		return nil, nil
	}
	m := map[string]string{}
	for _, p := range splitList(s) {
		k, v, ok := strings.Cut(p, "=")
		if !ok || (v != "read" && v != "write" && v != "admin") {
			return nil, fmt.Errorf("permission %q: write name=read, name=write or name=admin", p)
		}
		m[k] = v
	}
	return m, nil
}

func formatTime(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.Format(time.RFC3339)
}
