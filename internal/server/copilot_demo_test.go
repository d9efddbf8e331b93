package server_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/ghusage/ghusage/internal/copilot"
	"github.com/ghusage/ghusage/internal/demo"
	"github.com/ghusage/ghusage/internal/server"
	"github.com/ghusage/ghusage/internal/sqlite"
)

// TestDemoCopilotData checks the demo's Copilot activity: 60 days, about
// 150 users across the three organizations, adoption rising, a mix of
// IDEs and models, CLI and agent use, pull requests, seats, the policy on;
// and the same seed gives the same activity.
func TestDemoCopilotData(t *testing.T) {
	now := time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)
	seed := func(name string) *sqlite.DB {
		st, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), name), sqlite.Options{Synchronous: "OFF"})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		start := time.Now()
		if _, err := server.SeedDemo(context.Background(), st, demo.Options{Seed: 1, Scale: 1, Now: now}, nil); err != nil {
			t.Fatal(err)
		}
		t.Logf("demo seeded in %v", time.Since(start))
		return st
	}
	a, b := seed("a.db"), seed("b.db")
	today := copilot.DayOf(now)
	users := map[int64]bool{}
	ides, models := map[string]bool{}, map[string]bool{}
	var lines []string
	var cli, agent, prs int
	perDay := map[copilot.Day]int{}
	err := a.CopilotScan(context.Background(), today-100, today, true, func(r *copilot.ScanRow) error {
		users[r.UserID] = true
		perDay[r.Day]++
		lines = append(lines, string(r.Line)+string(r.Extra))
		var act copilot.Activity
		if err := json.Unmarshal(r.Line, &act); err != nil {
			return err
		}
		for _, e := range act.TotalsByIDE {
			ides[e.IDE] = true
		}
		for _, e := range act.TotalsByModelFeature {
			models[e.Model] = true
		}
		if act.UsedCLI {
			cli++
		}
		if act.UsedAgent {
			agent++
		}
		if len(r.Extra) > 30 {
			prs++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	first, last := today, copilot.Day(0)
	for d := range perDay {
		first, last = min(first, d), max(last, d)
	}
	if last != today-1 || first != today-demo.CopilotDays {
		t.Fatalf("activity from %v to %v, want %d days ending yesterday", first, last, demo.CopilotDays)
	}
	if len(users) < 140 || len(users) > 160 {
		t.Fatalf("%d users with activity, want about 150", len(users))
	}
	week := func(end copilot.Day) int {
		n := 0
		for d := end - 6; d <= end; d++ {
			n += perDay[d]
		}
		return n
	}
	if early, late := week(first+13), week(last); late < 2*early {
		t.Fatalf("adoption does not rise: %d user-days in the second week, %d in the last", early, late)
	}
	if len(ides) < 4 || len(models) < 3 || cli == 0 || agent == 0 || prs == 0 {
		t.Fatalf("mix: ides %v models %v, %d CLI, %d agent, %d PR user-days", ides, models, cli, agent, prs)
	}
	seats, err := a.CopilotSeats(context.Background(), 1, 0, today)
	if err != nil || len(seats) < 140 {
		t.Fatalf("%d seats (%v)", len(seats), err)
	}
	if p, _ := a.CopilotPolicy(context.Background(), copilot.Scope{Enterprise: true, ID: 1}); p != copilot.PolicyEnabled {
		t.Fatalf("acme's policy is %q", p)
	}
	i := 0
	err = b.CopilotScan(context.Background(), today-100, today, true, func(r *copilot.ScanRow) error {
		if i >= len(lines) || string(r.Line)+string(r.Extra) != lines[i] {
			t.Fatalf("the same seed gave different activity at record %d", i)
		}
		i++
		return nil
	})
	if err != nil || i != len(lines) {
		t.Fatalf("second dataset: %d records of %d (%v)", i, len(lines), err)
	}
}
