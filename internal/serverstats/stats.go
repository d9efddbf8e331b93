package serverstats

import (
	"reflect"
	"slices"
)

// Types are the GHES /enterprise/stats/{type} routes, in the contract's order.
var Types = []string{"all", "comments", "gists", "hooks", "issues", "milestones", "orgs", "pages", "pulls", "repos", "security-products", "users"}

// IsType reports whether t is one of Types.
func IsType(t string) bool { return slices.Contains(Types, t) }

// Current is what GHES's /enterprise/stats/* answer: the latest snapshot of
// each server, summed over the servers.
type Current struct {
	// Servers is how many servers' snapshots were summed.
	Servers int
	// Stats holds every group; a group no server reported sums to zeros
	// (the sum over no servers), as every count of a group is required on
	// the wire.
	Stats GHEStats
	// SecurityProducts holds the figures at least one server reported;
	// the others stay absent.
	SecurityProducts SecurityProducts
}

// Sum adds up the latest snapshots of several servers.
func Sum(latest []Snapshot) Current {
	c := Current{Servers: len(latest), Stats: GHEStats{
		Comments: &CommentStats{}, Gists: &GistStats{}, Hooks: &HookStats{}, Issues: &IssueStats{},
		Milestones: &MilestoneStats{}, Orgs: &OrgStats{}, Pages: &PageStats{}, Pulls: &PullStats{},
		Repos: &RepoStats{}, Users: &UserStats{},
	}}
	for i := range latest {
		s := &latest[i]
		if s.GHEStats != nil {
			addInto(reflect.ValueOf(&c.Stats).Elem(), reflect.ValueOf(s.GHEStats).Elem())
		}
		if s.SecurityProducts != nil {
			addInto(reflect.ValueOf(&c.SecurityProducts).Elem(), reflect.ValueOf(s.SecurityProducts).Elem())
		}
	}
	return c
}

// Section is the body of /enterprise/stats/{type}: the whole GHEStats for
// "all", one group for the others, the security-products figures for
// "security-products". ok is false for an unknown type.
func (c *Current) Section(typ string) (v any, ok bool) {
	g := &c.Stats
	switch typ {
	case "all":
		return allStats{g.Repos, g.Hooks, g.Pages, g.Orgs, g.Users, g.Pulls, g.Issues, g.Milestones, g.Gists, g.Comments}, true
	case "comments":
		return g.Comments, true
	case "gists":
		return g.Gists, true
	case "hooks":
		return g.Hooks, true
	case "issues":
		return g.Issues, true
	case "milestones":
		return g.Milestones, true
	case "orgs":
		return g.Orgs, true
	case "pages":
		return g.Pages, true
	case "pulls":
		return g.Pulls, true
	case "repos":
		return g.Repos, true
	case "users":
		return g.Users, true
	case "security-products":
		return &c.SecurityProducts, true
	}
	return nil, false
}

// allStats is /enterprise/stats/all in GHES's order of sections.
type allStats struct {
	Repos      *RepoStats      `json:"repos"`
	Hooks      *HookStats      `json:"hooks"`
	Pages      *PageStats      `json:"pages"`
	Orgs       *OrgStats       `json:"orgs"`
	Users      *UserStats      `json:"users"`
	Pulls      *PullStats      `json:"pulls"`
	Issues     *IssueStats     `json:"issues"`
	Milestones *MilestoneStats `json:"milestones"`
	Gists      *GistStats      `json:"gists"`
	Comments   *CommentStats   `json:"comments"`
}

// addInto adds every count of src into dst, which have the same struct
// type: int64 fields add; *int64 fields add when src has them (dst
// becomes present); pointers to structs recurse, allocating dst's.
func addInto(dst, src reflect.Value) {
	for i := range src.NumField() {
		sf, df := src.Field(i), dst.Field(i)
		switch sf.Kind() {
		case reflect.Int64:
			df.SetInt(df.Int() + sf.Int())
		case reflect.Pointer:
			if sf.IsNil() {
				continue
			}
			if df.IsNil() {
				df.Set(reflect.New(sf.Type().Elem()))
			}
			if sf.Elem().Kind() == reflect.Int64 {
				df.Elem().SetInt(df.Elem().Int() + sf.Elem().Int())
				continue
			}
			addInto(df.Elem(), sf.Elem())
		}
	}
}
