package demo

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/ghusage/ghusage/internal/serverstats"
)

// ServerStatsDays is how many days of server statistics the demo dataset
// has for each of its two GHES servers, ending today.
const ServerStatsDays = 90

// demoServer describes one demo GHES instance's history.
type demoServer struct {
	id, host         string
	users, repos     float64 // on the first day
	growth           float64 // relative growth per day
	before, after    string  // versions before and after the upgrade
	upgradeDay       int
	cleanupDay       int // dormant users suspended that day
	dormantPerDay    float64
	ecosystems       []string
	securityProducts bool
}

// DemoServers are the demo servers, both belonging to enterprise acme.
var demoServers = []demoServer{
	{id: "a3c1e0f2-7b4d-4e8a-9c61-2f5d8e0b7a14", host: "ghes.acme.example", users: 1180, repos: 2400, growth: 0.0021,
		before: "3.13.5", after: "3.14.2", upgradeDay: 61, cleanupDay: 45, dormantPerDay: 1.6,
		ecosystems: []string{"npm", "maven", "containers"}, securityProducts: true},
	{id: "5e92b7d8-1f3a-4c06-b8e4-0d7a6c9f3e21", host: "ghes-eu.acme.example", users: 420, repos: 760, growth: 0.0034,
		before: "3.14.1", after: "3.15.0", upgradeDay: 76, cleanupDay: 52, dormantPerDay: 0.7,
		ecosystems: []string{"npm", "docker", "nuget"}, securityProducts: true},
}

// DemoServerIDs are the demo servers' ids.
func DemoServerIDs() []string {
	ids := make([]string, len(demoServers))
	for i, s := range demoServers {
		ids[i] = s.id
	}
	return ids
}

// SeedServerStats writes ServerStatsDays daily snapshots of the two demo
// GHES servers of account (the demo enterprise): steady growth of users,
// repositories and activity, one version upgrade each, and a dormant-user
// clean-up (dormant accounts suspended in one day). The same seed gives the
// same history relative to now.
func SeedServerStats(ctx context.Context, st serverstats.Store, account string, seed uint64, now time.Time) error {
	if now.IsZero() {
		now = time.Now()
	}
	rng := rand.New(rand.NewPCG(seed^0x5e4e57a7, seed+0x9e3779b97f4a7c15))
	now = now.UTC().Truncate(time.Second)
	today := time.Date(now.Year(), now.Month(), now.Day(), 2, 30, 0, 0, time.UTC)
	var snaps []serverstats.Snapshot
	for _, srv := range demoServers {
		h := newHistory(srv, rng)
		for d := range ServerStatsDays {
			at := today.AddDate(0, 0, d-(ServerStatsDays-1))
			if at.After(now) {
				at = now
			}
			snaps = append(snaps, h.day(d, at, account))
		}
	}
	if _, err := st.ServerStatsPut(ctx, snaps); err != nil {
		return fmt.Errorf("demo server statistics: %w", err)
	}
	return nil
}

// history carries one server's running totals from day to day.
type history struct {
	srv                                             demoServer
	rng                                             *rand.Rand
	pushes, issuesClosed, issues, pulls, merged     float64
	commitComments, issueComments, prComments, gist float64
	dormant, suspended                              float64
	packages                                        []float64
}

func newHistory(srv demoServer, rng *rand.Rand) *history {
	h := &history{srv: srv, rng: rng,
		pushes: srv.repos * 140, issues: srv.repos * 3.1, issuesClosed: srv.repos * 2.2,
		pulls: srv.repos * 4.4, merged: srv.repos * 3.6, commitComments: srv.repos * 0.8,
		issueComments: srv.repos * 9, prComments: srv.repos * 12, gist: srv.users * 0.6,
		dormant: srv.users * 0.14, suspended: srv.users * 0.03}
	for range srv.ecosystems {
		h.packages = append(h.packages, srv.repos*(0.05+0.1*rng.Float64()))
	}
	return h
}

func (h *history) jitter(x float64) float64 { return x * (0.8 + 0.4*h.rng.Float64()) }

func (h *history) day(d int, at time.Time, account string) serverstats.Snapshot {
	srv := h.srv
	scale := 1 + srv.growth*float64(d)
	weekday := at.Weekday() != time.Saturday && at.Weekday() != time.Sunday
	activity := 1.0
	if !weekday {
		activity = 0.25
	}
	users := srv.users * scale
	repos := srv.repos * scale
	forks := repos * 0.08
	h.pushes += h.jitter(repos * 0.9 * activity)
	newIssues := h.jitter(repos * 0.02 * activity)
	h.issues += newIssues
	h.issuesClosed += h.jitter(newIssues * 0.93)
	newPulls := h.jitter(repos * 0.03 * activity)
	h.pulls += newPulls
	h.merged += h.jitter(newPulls * 0.82)
	h.commitComments += h.jitter(repos * 0.004 * activity)
	h.issueComments += h.jitter(newIssues * 3)
	h.prComments += h.jitter(newPulls * 4)
	h.gist += h.jitter(users * 0.001)
	h.dormant += h.jitter(srv.dormantPerDay)
	if d == srv.cleanupDay {
		// The clean-up: most dormant accounts are suspended at once.
		h.suspended += h.dormant * 0.85
		h.dormant *= 0.15
	}
	version := srv.before
	if d >= srv.upgradeDay {
		version = srv.after
	}
	openPulls := h.pulls - h.merged - h.pulls*0.05
	n := func(x float64) int64 { return int64(x) }
	p := func(x float64) *int64 { v := int64(x); return &v }
	repoCount := n(repos)
	forkCount := n(forks)
	actions := repos * (0.35 + 0.002*float64(d))
	s := serverstats.Snapshot{
		Account: account, ServerID: srv.id, CollectionDate: at,
		SchemaVersion: "20230306", GHESVersion: version, HostName: srv.host,
		GitHubConnect: &serverstats.GitHubConnect{FeaturesEnabled: []string{"license_usage_sync", "content_analysis", "content_analysis_notifications"}},
		GHEStats: &serverstats.GHEStats{
			Comments: &serverstats.CommentStats{TotalCommitComments: n(h.commitComments), TotalGistComments: n(h.gist * 0.4),
				TotalIssueComments: n(h.issueComments), TotalPullRequestComments: n(h.prComments)},
			Gists:      &serverstats.GistStats{TotalGists: n(h.gist), PrivateGists: n(h.gist) - n(h.gist*0.3), PublicGists: n(h.gist * 0.3)},
			Hooks:      &serverstats.HookStats{TotalHooks: 14, ActiveHooks: 11, InactiveHooks: 3},
			Issues:     &serverstats.IssueStats{TotalIssues: n(h.issues), OpenIssues: n(h.issues) - n(h.issuesClosed), ClosedIssues: n(h.issuesClosed)},
			Milestones: &serverstats.MilestoneStats{TotalMilestones: n(repos * 0.2), OpenMilestones: n(repos*0.2) - n(repos*0.14), ClosedMilestones: n(repos * 0.14)},
			Orgs: &serverstats.OrgStats{TotalOrgs: n(repos / 40), DisabledOrgs: 2, TotalTeams: n(repos / 9),
				TotalTeamMembers: n(users * 2.3)},
			Pages: &serverstats.PageStats{TotalPages: n(repos * 0.03)},
			Pulls: &serverstats.PullStats{TotalPulls: n(h.pulls), MergedPulls: n(h.merged),
				MergeablePulls: n(openPulls * 0.7), UnmergeablePulls: n(openPulls * 0.08)},
			Repos: &serverstats.RepoStats{TotalRepos: repoCount, RootRepos: repoCount - forkCount, ForkRepos: forkCount,
				OrgRepos: n(repos * 0.83), TotalPushes: n(h.pushes), TotalWikis: n(repos * 0.06)},
			Users: &serverstats.UserStats{TotalUsers: n(users), AdminUsers: 6, SuspendedUsers: n(h.suspended)},
		},
		DormantUsers: &serverstats.DormantUsers{TotalDormantUsers: p(h.dormant), DormancyThreshold: "90 days"},
		ActionsStats: &serverstats.ActionsStats{NumberOfReposUsingActions: p(actions),
			PercentageOfReposUsingActions: strconv.FormatFloat(100*float64(n(actions))/float64(repoCount), 'f', 1, 64)},
	}
	yes, no := true, false
	pk := &serverstats.PackagesStats{RegistryEnabled: &yes, RegistryV2Enabled: &no}
	for i, eco := range srv.ecosystems {
		created := h.jitter(1.5 * activity)
		h.packages[i] += created
		total := n(h.packages[i])
		private, public, user := n(h.packages[i]*0.7), n(h.packages[i]*0.1), n(h.packages[i]*0.15)
		c := func(v int64) *int64 { return &v }
		pk.Ecosystems = append(pk.Ecosystems, serverstats.Ecosystem{Name: eco, Enabled: "TRUE",
			PublishedPackagesCount: c(total), PrivatePackagesCount: c(private), PublicPackagesCount: c(public),
			InternalPackagesCount: c(total - private - public), UserPackagesCount: c(user), OrganizationPackagesCount: c(total - user),
			DailyDownloadCount: p(h.jitter(h.packages[i] * 3 * activity)), DailyUpdateCount: p(h.jitter(h.packages[i] * 0.05 * activity)),
			DailyDeleteCount: p(h.jitter(0.3)), DailyCreateCount: p(created)})
	}
	s.PackagesStats = pk
	if srv.securityProducts {
		active := users * 0.62
		s.SecurityProducts = &serverstats.SecurityProducts{
			TotalRepos: p(repos), NonarchivedRepos: p(repos * 0.91),
			SecretScanningEnabledRepos: p(repos * 0.74), SecretScanningPushProtectionEnabledRepos: p(repos * 0.52),
			CodeScanningEnabledRepos: p(repos * 0.41), CodeScanningPRReviewsEnabledRepos: p(repos * 0.33),
			CodeScanningDefaultSetupEnabledRepos: p(repos * 0.22), CodeScanningDefaultSetupEligibleRepos: p(repos * 0.3),
			DependabotAlertsEnabledRepos: p(repos * 0.8), DependabotSecurityUpdatesEnabledRepos: p(repos * 0.61),
			DependabotVersionUpdatesEnabledRepos: p(repos * 0.27), AdvancedSecurityEnabledRepos: p(repos * 0.45),
			ActiveCommitters: p(active), PurchasedCommitters: p(srv.users * 0.8), MaximumCommitters: p(active * 1.07),
		}
	}
	return s
}
