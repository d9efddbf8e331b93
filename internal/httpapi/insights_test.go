package httpapi_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/ghusage/ghusage/internal/httpapi"
	"github.com/ghusage/ghusage/internal/insights"
	"github.com/ghusage/ghusage/internal/testenv"
	"github.com/ghusage/ghusage/internal/usage"
)

// contractPath finds ../shared/contract/github-usage-apis.openapi.json
// relative to the repository root.
func contractPath(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Skip("repository root not found")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", "contract", "github-usage-apis.openapi.json")
	if _, err := os.Stat(p); err != nil {
		t.Skipf("contract not found at %s (it lives beside the repository, in shared/contract): %v", p, err)
	}
	return p
}

func loadContract(t *testing.T) *openapi3.T {
	t.Helper()
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromFile(contractPath(t))
	if err != nil {
		t.Fatalf("loading the contract: %v", err)
	}
	if err := doc.Validate(context.Background(), openapi3.DisableExamplesValidation()); err != nil {
		t.Fatalf("the contract does not validate: %v", err)
	}
	return doc
}

// responseSchema returns the 200 application/json schema of an operation.
func responseSchema(t *testing.T, doc *openapi3.T, operationID string) *openapi3.Schema {
	t.Helper()
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			if op.OperationID == operationID {
				return op.Responses.Value("200").Value.Content.Get("application/json").Schema.Value
			}
		}
	}
	t.Fatalf("operation %s is not in the contract", operationID)
	return nil
}

// testEvent returns the i-th event of a deterministic set of request events.
func testEvent(i int, now time.Time) insights.Event {
	actorTypes := []usage.ActorType{usage.ActorClassicPAT, usage.ActorFineGrainedPAT, usage.ActorInstallation, usage.ActorOAuthApp, usage.ActorUserToServer}
	at := actorTypes[i%len(actorTypes)]
	e := insights.Event{
		ID:          fmt.Sprintf("evt-%d", i),
		Timestamp:   now.Add(-time.Duration(i%(48*60)) * time.Minute).Truncate(time.Second),
		Org:         "acme-web",
		ActorType:   at,
		ActorID:     int64(1 + i%4),
		ActorName:   fmt.Sprintf("%s %d", at, 1+i%4),
		HTTPMethod:  []string{"GET", "POST", "GET"}[i%3],
		APIRoute:    fmt.Sprintf("/repos/:owner/:repo/issues/%d", i%9),
		RateLimited: i%13 == 0,
	}
	switch at {
	case usage.ActorInstallation:
		e.IntegrationID = 77
		e.SubjectType, e.SubjectID, e.SubjectName = insights.SubjectInstallation, 42, "Deploy Bot"
	default:
		if at == usage.ActorOAuthApp {
			e.OAuthApplicationID = 1245
		}
		e.UserID = int64(100 + i%3)
		e.UserLogin = fmt.Sprintf("user%d", e.UserID)
		e.SubjectType, e.SubjectID, e.SubjectName = insights.SubjectUser, e.UserID, e.UserLogin
	}
	return e
}

func ndjson(t testing.TB, events []insights.Event) []byte {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	for _, e := range events {
		if err := enc.Encode(e); err != nil {
			t.Fatal(err)
		}
	}
	return b.Bytes()
}

func postEvents(t testing.TB, env *testenv.Env, token string, body []byte, header ...string) (*http.Response, string) {
	t.Helper()
	return env.Do(t, http.MethodPost, "/ghusage/v1/ingest/api-requests", token, bytes.NewReader(body), header...)
}

// ingestTestEvents ingests testEvent 0..n-1 around now as the admin.
func ingestTestEvents(t *testing.T, env *testenv.Env, now time.Time, n int) {
	t.Helper()
	events := make([]insights.Event, n)
	for i := range events {
		events[i] = testEvent(i, now)
	}
	if resp, body := postEvents(t, env, env.AdminToken, ndjson(t, events)); resp.StatusCode != 200 {
		t.Fatalf("ingest: %d %s", resp.StatusCode, body)
	}
}

func TestInsightsResponsesMatchContract(t *testing.T) {
	doc := loadContract(t)
	env := testenv.New(t)
	now := time.Now().UTC()
	ingestTestEvents(t, env, now, 3000)
	min := url.QueryEscape(now.Add(-72 * time.Hour).Format(time.RFC3339))
	cases := []struct{ op, path string }{
		{"api-insights/get-summary-stats", "/orgs/acme-web/insights/api/summary-stats?min_timestamp=" + min},
		{"api-insights/get-summary-stats-by-user", "/orgs/acme-web/insights/api/summary-stats/users/101?min_timestamp=" + min},
		{"api-insights/get-summary-stats-by-actor", "/orgs/acme-web/insights/api/summary-stats/oauth_app/2?min_timestamp=" + min},
		{"api-insights/get-time-stats", "/orgs/acme-web/insights/api/time-stats?timestamp_increment=1h&min_timestamp=" + min},
		{"api-insights/get-time-stats-by-user", "/orgs/acme-web/insights/api/time-stats/users/101?timestamp_increment=30m&min_timestamp=" + min},
		{"api-insights/get-time-stats-by-actor", "/orgs/acme-web/insights/api/time-stats/installation/3?timestamp_increment=1d&min_timestamp=" + min},
		{"api-insights/get-subject-stats", "/orgs/acme-web/insights/api/subject-stats?min_timestamp=" + min},
		{"api-insights/get-user-stats", "/orgs/acme-web/insights/api/user-stats/101?min_timestamp=" + min},
		{"api-insights/get-route-stats-by-actor", "/api/v3/orgs/acme-web/insights/api/route-stats/classic_pat/1?sort=api_route,http_method&direction=asc&min_timestamp=" + min},
	}
	for _, c := range cases {
		t.Run(c.op, func(t *testing.T) {
			resp, body := env.Get(t, c.path, env.AdminToken)
			if resp.StatusCode != 200 {
				t.Fatalf("GET %s: %d %s", c.path, resp.StatusCode, body)
			}
			var v any
			if err := json.Unmarshal([]byte(body), &v); err != nil {
				t.Fatalf("body is not JSON: %v", err)
			}
			if err := responseSchema(t, doc, c.op).VisitJSON(v); err != nil {
				t.Fatalf("response does not match the contract: %v\n%s", err, body)
			}
			switch x := v.(type) {
			case []any:
				if len(x) == 0 {
					t.Fatalf("empty list; the test data should give items: %s", body)
				}
			case map[string]any:
				if x["total_request_count"].(float64) == 0 {
					t.Fatalf("zero requests; the test data should give some: %s", body)
				}
			}
		})
	}
}

func TestInsightsRejectsBadInput(t *testing.T) {
	env := testenv.New(t)
	base := "/orgs/acme-web/insights/api/"
	ok := "min_timestamp=2026-01-01T00:00:00Z"
	cases := []struct{ path, field string }{
		{base + "summary-stats", "min_timestamp"},
		{base + "summary-stats?min_timestamp=yesterday", "min_timestamp"},
		{base + "summary-stats?min_timestamp=2026-13-01T00:00:00Z", "min_timestamp"},
		{base + "summary-stats?min_timestamp=2026-02-30", "min_timestamp"},
		{base + "summary-stats?" + ok + "&max_timestamp=2026-01-01T25:00:00Z", "max_timestamp"},
		{base + "summary-stats?" + ok + "&max_timestamp=2025-12-31T00:00:00Z", "max_timestamp"},
		{base + "time-stats?" + ok, "timestamp_increment"},
		{base + "time-stats?" + ok + "&timestamp_increment=0m", "timestamp_increment"},
		{base + "time-stats?" + ok + "&timestamp_increment=7x", "timestamp_increment"},
		{base + "time-stats?" + ok + "&timestamp_increment=-5m", "timestamp_increment"},
		{base + "time-stats?min_timestamp=2000-01-01T00:00:00Z&timestamp_increment=1m", "timestamp_increment"},
		{base + "subject-stats?" + ok + "&sort=bogus", "sort"},
		{base + "subject-stats?" + ok + "&sort=total_request_count,api_route", "sort"},
		{base + "route-stats/classic_pat/1?" + ok + "&sort=subject_name", "sort"},
		{base + "subject-stats?" + ok + "&per_page=0", "per_page"},
		{base + "subject-stats?" + ok + "&per_page=1000", "per_page"},
		{base + "subject-stats?" + ok + "&page=0", "page"},
		{base + "subject-stats?" + ok + "&direction=sideways", "direction"},
		{base + "summary-stats/robot/1?" + ok, "actor_type"},
		{base + "route-stats/robot/1?" + ok, "actor_type"},
		{base + "time-stats/classic_pat/abc?" + ok + "&timestamp_increment=1h", "actor_id"},
		{base + "user-stats/octocat?" + ok, "user_id"},
	}
	for _, c := range cases {
		resp, body := env.Get(t, c.path, env.AdminToken)
		if resp.StatusCode != http.StatusUnprocessableEntity {
			t.Errorf("GET %s: %d %s, want 422", c.path, resp.StatusCode, body)
			continue
		}
		var e struct {
			Message string             `json:"message"`
			Errors  []usage.FieldError `json:"errors"`
		}
		if err := json.Unmarshal([]byte(body), &e); err != nil || len(e.Errors) == 0 || e.Errors[0].Field != c.field {
			t.Errorf("GET %s: body %s does not name the field %s", c.path, body, c.field)
		}
	}
	// Organizations the caller cannot see, or that do not exist, are 404.
	if resp, body := env.Get(t, base+"summary-stats?"+ok, ""); resp.StatusCode != 401 {
		t.Errorf("no token: %d %s, want 401", resp.StatusCode, body)
	}
	if resp, body := env.Get(t, "/orgs/no-such-org/insights/api/summary-stats?"+ok, env.AdminToken); resp.StatusCode != 404 {
		t.Errorf("unknown org: %d %s, want 404", resp.StatusCode, body)
	}
}

func TestIngestEndpoint(t *testing.T) {
	env := testenv.New(t)
	now := time.Now().UTC()
	events := []insights.Event{testEvent(1, now), testEvent(2, now), testEvent(3, now)}
	body := ndjson(t, events)

	// A bad line rejects the whole batch, naming the line and the field.
	bad := append(append([]byte{}, body...), []byte(`{"id":"x","timestamp":"noon","org":"acme-web"}`+"\n")...)
	resp, out := postEvents(t, env, env.AdminToken, bad)
	if resp.StatusCode != 422 || !strings.Contains(out, "line 4: timestamp") {
		t.Fatalf("bad line: %d %s, want 422 naming line 4: timestamp", resp.StatusCode, out)
	}
	// Gzip is accepted; a re-sent batch is recognised.
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(body)
	zw.Close()
	for i, want := range []insights.IngestResult{{Received: 3, Recorded: 3}, {Received: 3, Duplicates: 3}} {
		resp, out := postEvents(t, env, env.AdminToken, gz.Bytes(), "Content-Encoding", "gzip")
		var got insights.IngestResult
		if resp.StatusCode != 200 || json.Unmarshal([]byte(out), &got) != nil || got != want {
			t.Fatalf("post %d: %d %s, want %+v", i+1, resp.StatusCode, out, want)
		}
	}
	// Tokens without the ingest scope may not ingest.
	u := env.Data.Users[0]
	tok := &usage.Token{Type: usage.ActorClassicPAT, UserID: u.ID, Scopes: []string{"read:org"}, CreatedAt: now}
	secret := issueToken(t, env, tok)
	if resp, out := postEvents(t, env, secret, body); resp.StatusCode != 403 || resp.Header.Get("X-Accepted-OAuth-Scopes") != "ghusage:ingest" {
		t.Fatalf("token without ghusage:ingest: %d %s", resp.StatusCode, out)
	}
}

func issueToken(t *testing.T, env *testenv.Env, tok *usage.Token) string {
	t.Helper()
	s := usage.NewTokenString(tok.Type)
	tok.Hash, tok.LastEight = usage.HashToken(s), s[len(s)-8:]
	if err := env.Store.CreateToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	return s
}

// TestMeteredRequestShowsUp makes a request with a token and expects it in
// summary-stats and route-stats, with its route and actor, within 2 s.
func TestMeteredRequestShowsUp(t *testing.T) {
	env := testenv.New(t)
	rec := env.Server.API.Meter
	ctx, cancel := context.WithCancel(context.Background())
	go rec.Run(ctx)
	t.Cleanup(func() { cancel(); rec.Close() })

	u := env.Data.Users[0] // a member of acme-web
	tok := &usage.Token{Type: usage.ActorClassicPAT, UserID: u.ID, Scopes: []string{"read:org"}, Note: "metering test", CreatedAt: time.Now()}
	secret := issueToken(t, env, tok)
	org := strings.ToLower(env.Data.Orgs[0].Login)
	min := url.QueryEscape(time.Now().Add(-time.Hour).UTC().Format(time.RFC3339))
	first := "/orgs/" + org + "/insights/api/summary-stats?min_timestamp=" + min
	if resp, body := env.Get(t, first, secret); resp.StatusCode != 200 {
		t.Fatalf("first request: %d %s", resp.StatusCode, body)
	}
	made := time.Now()
	routes := fmt.Sprintf("/orgs/%s/insights/api/route-stats/classic_pat/%d?min_timestamp=%s", org, tok.ID, min)
	for {
		var sum insights.SummaryStats
		_, body := env.Get(t, "/orgs/"+org+"/insights/api/summary-stats/users/"+fmt.Sprint(u.ID)+"?min_timestamp="+min, env.AdminToken)
		json.Unmarshal([]byte(body), &sum)
		var rs []insights.RouteStat
		_, rbody := env.Get(t, routes, env.AdminToken)
		json.Unmarshal([]byte(rbody), &rs)
		if sum.TotalRequestCount >= 1 && len(rs) > 0 {
			if rs[0].APIRoute != "/orgs/:org/insights/api/summary-stats" || rs[0].HTTPMethod != "GET" || rs[0].TotalRequestCount < 1 {
				t.Fatalf("route-stats of the token = %s", rbody)
			}
			break
		}
		if time.Since(made) > 2*time.Second {
			t.Fatalf("the request is not in insights 2 s later: summary %s, route-stats %s", body, rbody)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestTimeSeriesEncodingMatchesEncodingJSON checks the hand-written
// time-stats encoder writes exactly what encoding/json writes for the same
// items (plus the newline every body ends with): empty series, zero
// buckets, large and odd counts, timestamps the formatter handles itself
// and those it leaves to the time package, and random series.
func TestTimeSeriesEncodingMatchesEncodingJSON(t *testing.T) {
	check := func(s insights.Series) {
		t.Helper()
		want, err := json.Marshal(s.Stats())
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, '\n')
		if got := httpapi.AppendTimeSeries(nil, &s); !bytes.Equal(got, want) {
			t.Fatalf("series %+v:\ngot  %s\nwant %s", s, got, want)
		}
		// Appending to a used buffer keeps what it holds.
		if got := httpapi.AppendTimeSeries([]byte("xyz"), &s); !bytes.Equal(got, append([]byte("xyz"), want...)) {
			t.Fatalf("series %+v appended to xyz: %s", s, got)
		}
	}
	check(insights.Series{First: 1_700_000_000, Increment: 300})
	check(insights.Series{First: 1_700_000_000, Increment: 300, Counts: []insights.SeriesCounts{}})
	check(insights.Series{First: 1_700_000_100, Increment: 300, Counts: make([]insights.SeriesCounts, 1)})
	check(insights.Series{First: 0, Increment: 60, Counts: make([]insights.SeriesCounts, 3)})
	counts := func(c ...int64) []insights.SeriesCounts {
		var out []insights.SeriesCounts
		for i := 0; i < len(c); i += 2 {
			out = append(out, insights.SeriesCounts{Total: c[i], RateLimited: c[i+1]})
		}
		return out
	}
	check(insights.Series{First: 1_700_006_400, Increment: 86400,
		Counts: counts(0, 0, 1, 0, 123456789, 1, 1<<63-1, 1<<63-1, -1, -1<<63, 99999999, 100000000)})
	check(insights.Series{First: 253402300800 - 2*3600, Increment: 3600, Counts: make([]insights.SeriesCounts, 4)}) // into year 10000
	check(insights.Series{First: -3 * 86400, Increment: 86400, Counts: make([]insights.SeriesCounts, 6)})           // before 1970
	r := rand.New(rand.NewPCG(7, 8))
	for range 200 {
		inc := []int64{60, 300, 600, 3600, 6 * 3600, 86400, 7 * 86400}[r.IntN(7)]
		s := insights.Series{First: r.Int64N(4_000_000_000) / inc * inc, Increment: inc, Counts: make([]insights.SeriesCounts, r.IntN(50))}
		for i := range s.Counts {
			if r.IntN(3) > 0 {
				s.Counts[i] = insights.SeriesCounts{Total: r.Int64N(1 << uint(r.IntN(62)+1)), RateLimited: r.Int64N(1000)}
			}
		}
		check(s)
	}
	// A long series, as a 30-day answer in five-minute buckets.
	long := insights.Series{First: 1_700_000_100, Increment: 300, Counts: make([]insights.SeriesCounts, 8640)}
	for i := range long.Counts {
		long.Counts[i] = insights.SeriesCounts{Total: int64(i * i % 977), RateLimited: int64(i % 3)}
	}
	check(long)
}

// TestTimeStatsBodyMatchesService checks each time-stats endpoint answers
// the service's TimeStats items exactly as encoding/json writes them.
func TestTimeStatsBodyMatchesService(t *testing.T) {
	env := testenv.New(t)
	now := time.Now().UTC()
	ingestTestEvents(t, env, now, 3000)
	q := url.Values{"min_timestamp": {now.Add(-50 * time.Hour).Format(time.RFC3339)}, "max_timestamp": {now.Format(time.RFC3339)}}
	base := "/orgs/acme-web/insights/api/time-stats"
	cases := []struct {
		path  string
		scope insights.Scope
	}{
		{base, insights.Scope{Org: "acme-web"}},
		{base + "/users/101", insights.Scope{Org: "acme-web", UserID: 101}},
		{base + "/oauth_app/2", insights.Scope{Org: "acme-web", Actor: insights.ActorRef{Type: usage.ActorOAuthApp, ID: 2}}},
		{base + "/users/999", insights.Scope{Org: "acme-web", UserID: 999}}, // no requests: every bucket zero
	}
	for _, c := range cases {
		for _, inc := range []string{"1m", "5m", "1h", "1d", "1w"} {
			q.Set("timestamp_increment", inc)
			resp, body := env.Get(t, c.path+"?"+q.Encode(), env.AdminToken)
			if resp.StatusCode != 200 {
				t.Fatalf("GET %s: %d %s", c.path, resp.StatusCode, body)
			}
			p, err := insights.ParseParams(q, insights.EndpointTime, now)
			if err != nil {
				t.Fatal(err)
			}
			items, err := env.Server.API.Insights.TimeStats(context.Background(), c.scope, p)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := json.Marshal(items)
			if body != string(want)+"\n" {
				t.Fatalf("GET %s?%s:\ngot  %.300s\nwant %.300s", c.path, q.Encode(), body, want)
			}
			var total int64
			for _, x := range items {
				total += x.TotalRequestCount
			}
			if (total > 0) != (c.scope.UserID != 999) {
				t.Fatalf("GET %s?%s: %d requests in all buckets; the test data should give some (and none for user 999)", c.path, q.Encode(), total)
			}
		}
	}
}
