package scaleout_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// TestDashboardSessionOnEveryReplica signs in to the web UI on one
// replica and uses the session on the other, then signs out on the other
// and finds the session gone on the first: sessions live in PostgreSQL.
func TestDashboardSessionOnEveryReplica(t *testing.T) {
	t.Parallel()
	a, b, token := twoReplicasOn(t)
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	send := func(method, u string, form url.Values, cookies ...*http.Cookie) (*http.Response, string) {
		t.Helper()
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, _ := http.NewRequest(method, u, body)
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		for _, c := range cookies {
			req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
		}
		resp, err := noRedirect.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`)

	resp, page := send("GET", a.url+"/ui/signin", nil)
	pre := resp.Cookies()
	resp, _ = send("POST", a.url+"/ui/signin", url.Values{"token": {token}, "csrf": {csrf.FindStringSubmatch(page)[1]}}, pre...)
	var sess *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "ghusage_session" {
			sess = c
		}
	}
	if resp.StatusCode != http.StatusSeeOther || sess == nil {
		t.Fatalf("sign in on replica a: %d, cookie %v", resp.StatusCode, sess)
	}
	resp, page = send("GET", b.url+"/ui/rate-limits", nil, sess)
	if resp.StatusCode != http.StatusOK || !strings.Contains(page, "ghusage-admin") {
		t.Fatalf("replica b with a's session: %d", resp.StatusCode)
	}
	resp, _ = send("POST", b.url+"/ui/signout", url.Values{"csrf": {csrf.FindStringSubmatch(page)[1]}}, sess)
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign out on replica b: %d", resp.StatusCode)
	}
	resp, _ = send("GET", a.url+"/ui/rate-limits", nil, sess)
	if resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(resp.Header.Get("Location"), "/ui/signin?") {
		t.Errorf("replica a after signing out on b: %d to %q, want the sign-in page", resp.StatusCode, resp.Header.Get("Location"))
	}
}
