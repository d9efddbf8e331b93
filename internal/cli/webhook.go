package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strings"
)

const webhookHelp = `Usage:
  ghusage webhook setup --org ORG --url PUBLIC_URL [--secret SECRET]

Prints how to point a GitHub organization's webhook (GitHub.com or GitHub
Enterprise Server) at ghusage, so Actions jobs and pushes feed the billing
ledger: the payload URL, the content type, the secret to give both GitHub
and ghusage serve (--webhook-secret), the events, and the gh api command
that creates the hook. Without --secret a new random secret is printed.
`

func runWebhook(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 || isHelp(args[0]) {
		return printHelp(e, webhookHelp, args)
	}
	if args[0] != "setup" {
		fmt.Fprint(e.stderr, webhookHelp)
		return fmt.Errorf("unknown webhook command %q: use setup", args[0])
	}
	f := newFlagSet("webhook setup", e.getenv, e.stderr)
	var org, base, secret, host string
	f.stringVar(&org, "org", "", "the GitHub organization whose webhook to set up")
	f.stringVar(&base, "url", "", "ghusage's public base URL, as GitHub reaches it (e.g. https://ghusage.example.com)")
	f.stringVar(&secret, "secret", "", "the webhook secret; empty makes a new one")
	f.stringVar(&host, "github-host", "", "GitHub Enterprise Server host name for gh api (empty: github.com)")
	if err := f.parse(args[1:]); err != nil {
		return err
	}
	if org == "" || base == "" {
		fmt.Fprint(e.stderr, webhookHelp)
		return fmt.Errorf("webhook setup needs --org and --url")
	}
	if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
		return fmt.Errorf("--url %q: give an absolute http(s) URL", base)
	}
	fresh := secret == ""
	if fresh {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return err
		}
		secret = hex.EncodeToString(b)
	}
	payload := strings.TrimSuffix(base, "/") + "/ghusage/v1/webhooks/github"
	hostFlag := ""
	if host != "" {
		hostFlag = " --hostname " + host
	}
	var b strings.Builder
	fmt.Fprintf(&b, "Webhook for the organization %s:\n", org)
	fmt.Fprintf(&b, "  Payload URL:   %s\n", payload)
	b.WriteString("  Content type:  application/json\n")
	fmt.Fprintf(&b, "  Secret:        %s\n", secret)
	b.WriteString("  Events:        Workflow jobs (workflow_job), Pushes (push)\n\n")
	if fresh {
		b.WriteString("This secret is new: start ghusage with it.\n")
	}
	fmt.Fprintf(&b, "  export GHUSAGE_WEBHOOK_SECRET=%s   # or serve --webhook-secret\n\n", secret)
	b.WriteString("Create the hook with the GitHub CLI (an organization owner's token with admin:org_hook):\n")
	fmt.Fprintf(&b, "  gh api%s orgs/%s/hooks -f name=web -F active=true \\\n", hostFlag, org)
	fmt.Fprintf(&b, "    -f 'config[url]=%s' -f 'config[content_type]=json' -f 'config[secret]=%s' \\\n", payload, secret)
	b.WriteString("    -f 'events[]=workflow_job' -f 'events[]=push'\n")
	b.WriteString("GitHub sends a ping at once; ghusage answers it 200. Deliveries are listed under the hook's Recent Deliveries.\n")
	_, err := fmt.Fprint(e.stdout, b.String())
	return err
}
