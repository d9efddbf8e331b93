package serverstats

import (
	"encoding/json"
	"time"
)

// Snapshot is one server's statistics for one collection day: GitHub's
// server-statistics item, plus the security-products figures of GHES's
// /enterprise/stats/security-products (a ghusage extension of the item,
// kept in storage and accepted on upload, never written in
// server-statistics answers). Sections are pointers: nil is a section the
// source did not give.
type Snapshot struct {
	// Account is the enterprise slug or organization login the server
	// belongs to, lower-cased. It is not part of the document.
	Account string `json:"-"`

	ServerID         string            `json:"server_id"`
	CollectionDate   time.Time         `json:"collection_date"`
	SchemaVersion    string            `json:"schema_version,omitempty"`
	GHESVersion      string            `json:"ghes_version,omitempty"`
	HostName         string            `json:"host_name,omitempty"`
	GitHubConnect    *GitHubConnect    `json:"github_connect,omitempty"`
	GHEStats         *GHEStats         `json:"ghe_stats,omitempty"`
	DormantUsers     *DormantUsers     `json:"dormant_users,omitempty"`
	ActionsStats     *ActionsStats     `json:"actions_stats,omitempty"`
	PackagesStats    *PackagesStats    `json:"packages_stats,omitempty"`
	AdvisoryDBStats  json.RawMessage   `json:"advisory_db_stats,omitempty"` // no published schema: kept as given
	SecurityProducts *SecurityProducts `json:"security_products,omitempty"`
}

// Day is the snapshot's collection day (UTC), the unit of idempotency:
// a second snapshot of a server on the same day replaces the first.
func (s *Snapshot) Day() Day { return DayOf(s.CollectionDate) }

// GitHubConnect lists the GitHub Connect features enabled on the server.
type GitHubConnect struct {
	FeaturesEnabled []string `json:"features_enabled"`
}

// GHEStats is the ten groups GHES's /enterprise/stats/all answers. Every
// count of a group present is required; a group may be absent.
type GHEStats struct {
	Comments   *CommentStats   `json:"comments,omitempty"`
	Gists      *GistStats      `json:"gists,omitempty"`
	Hooks      *HookStats      `json:"hooks,omitempty"`
	Issues     *IssueStats     `json:"issues,omitempty"`
	Milestones *MilestoneStats `json:"milestones,omitempty"`
	Orgs       *OrgStats       `json:"orgs,omitempty"`
	Pages      *PageStats      `json:"pages,omitempty"`
	Pulls      *PullStats      `json:"pulls,omitempty"`
	Repos      *RepoStats      `json:"repos,omitempty"`
	Users      *UserStats      `json:"users,omitempty"`
}

// CommentStats counts comments by kind.
type CommentStats struct {
	TotalCommitComments      int64 `json:"total_commit_comments"`
	TotalGistComments        int64 `json:"total_gist_comments"`
	TotalIssueComments       int64 `json:"total_issue_comments"`
	TotalPullRequestComments int64 `json:"total_pull_request_comments"`
}

// GistStats counts gists; private gists are secret gists.
type GistStats struct {
	TotalGists   int64 `json:"total_gists"`
	PrivateGists int64 `json:"private_gists"`
	PublicGists  int64 `json:"public_gists"`
}

// HookStats counts pre-receive hooks.
type HookStats struct {
	TotalHooks    int64 `json:"total_hooks"`
	ActiveHooks   int64 `json:"active_hooks"`
	InactiveHooks int64 `json:"inactive_hooks"`
}

// IssueStats counts issues.
type IssueStats struct {
	TotalIssues  int64 `json:"total_issues"`
	OpenIssues   int64 `json:"open_issues"`
	ClosedIssues int64 `json:"closed_issues"`
}

// MilestoneStats counts milestones.
type MilestoneStats struct {
	TotalMilestones  int64 `json:"total_milestones"`
	OpenMilestones   int64 `json:"open_milestones"`
	ClosedMilestones int64 `json:"closed_milestones"`
}

// OrgStats counts organizations (enabled and disabled), teams and team memberships.
type OrgStats struct {
	TotalOrgs        int64 `json:"total_orgs"`
	DisabledOrgs     int64 `json:"disabled_orgs"`
	TotalTeams       int64 `json:"total_teams"`
	TotalTeamMembers int64 `json:"total_team_members"`
}

// PageStats counts GitHub Pages sites.
type PageStats struct {
	TotalPages int64 `json:"total_pages"`
}

// PullStats counts pull requests; mergeable and unmergeable are the open
// ones whose mergeability is known.
type PullStats struct {
	TotalPulls       int64 `json:"total_pulls"`
	MergedPulls      int64 `json:"merged_pulls"`
	MergeablePulls   int64 `json:"mergeable_pulls"`
	UnmergeablePulls int64 `json:"unmergeable_pulls"`
}

// RepoStats counts repositories (root and forks), pushes and wikis.
type RepoStats struct {
	TotalRepos  int64 `json:"total_repos"`
	RootRepos   int64 `json:"root_repos"`
	ForkRepos   int64 `json:"fork_repos"`
	OrgRepos    int64 `json:"org_repos"`
	TotalPushes int64 `json:"total_pushes"`
	TotalWikis  int64 `json:"total_wikis"`
}

// UserStats counts user accounts, site administrators and suspended users.
type UserStats struct {
	TotalUsers     int64 `json:"total_users"`
	AdminUsers     int64 `json:"admin_users"`
	SuspendedUsers int64 `json:"suspended_users"`
}

// DormantUsers is the dormant-user figure and the threshold it was counted with.
type DormantUsers struct {
	TotalDormantUsers *int64 `json:"total_dormant_users,omitempty"`
	DormancyThreshold string `json:"dormancy_threshold,omitempty"` // e.g. "90 days"
}

// ActionsStats is how many repositories use GitHub Actions.
type ActionsStats struct {
	NumberOfReposUsingActions *int64 `json:"number_of_repos_using_actions,omitempty"`
	// PercentageOfReposUsingActions is a string on the wire (e.g. "42.5").
	PercentageOfReposUsingActions string `json:"percentage_of_repos_using_actions,omitempty" check:"percentage"`
}

// PackagesStats describes GitHub Packages on the server.
type PackagesStats struct {
	RegistryEnabled   *bool       `json:"registry_enabled,omitempty"`
	RegistryV2Enabled *bool       `json:"registry_v2_enabled,omitempty"`
	Ecosystems        []Ecosystem `json:"ecosystems,omitempty"`
}

// Ecosystem is one package ecosystem's figures; daily counts cover the 24
// hours before collection_date.
type Ecosystem struct {
	Name                      string `json:"name" check:"enum:npm,maven,docker,nuget,rubygems,containers"`
	Enabled                   string `json:"enabled,omitempty" check:"enum:TRUE,FALSE,READONLY"`
	PublishedPackagesCount    *int64 `json:"published_packages_count,omitempty"`
	PrivatePackagesCount      *int64 `json:"private_packages_count,omitempty"`
	PublicPackagesCount       *int64 `json:"public_packages_count,omitempty"`
	InternalPackagesCount     *int64 `json:"internal_packages_count,omitempty"`
	UserPackagesCount         *int64 `json:"user_packages_count,omitempty"`
	OrganizationPackagesCount *int64 `json:"organization_packages_count,omitempty"`
	DailyDownloadCount        *int64 `json:"daily_download_count,omitempty"`
	DailyUpdateCount          *int64 `json:"daily_update_count,omitempty"`
	DailyDeleteCount          *int64 `json:"daily_delete_count,omitempty"`
	DailyCreateCount          *int64 `json:"daily_create_count,omitempty"`
}

// SecurityProducts is GHES's /enterprise/stats/security-products. Every
// figure is optional (older servers lack the newer ones) and stays absent
// when the server did not give it.
type SecurityProducts struct {
	TotalRepos                               *int64 `json:"total_repos,omitempty"`
	NonarchivedRepos                         *int64 `json:"nonarchived_repos,omitempty"`
	SecretScanningEnabledRepos               *int64 `json:"secret_scanning_enabled_repos,omitempty"`
	SecretScanningPushProtectionEnabledRepos *int64 `json:"secret_scanning_push_protection_enabled_repos,omitempty"`
	CodeScanningEnabledRepos                 *int64 `json:"code_scanning_enabled_repos,omitempty"`
	CodeScanningPRReviewsEnabledRepos        *int64 `json:"code_scanning_pr_reviews_enabled_repos,omitempty"`
	CodeScanningDefaultSetupEnabledRepos     *int64 `json:"code_scanning_default_setup_enabled_repos,omitempty"`
	CodeScanningDefaultSetupEligibleRepos    *int64 `json:"code_scanning_default_setup_eligible_repos,omitempty"`
	DependabotAlertsEnabledRepos             *int64 `json:"dependabot_alerts_enabled_repos,omitempty"`
	DependabotSecurityUpdatesEnabledRepos    *int64 `json:"dependabot_security_updates_enabled_repos,omitempty"`
	DependabotVersionUpdatesEnabledRepos     *int64 `json:"dependabot_version_updates_enabled_repos,omitempty"`
	AdvancedSecurityEnabledRepos             *int64 `json:"advanced_security_enabled_repos,omitempty"`
	ActiveCommitters                         *int64 `json:"active_committers,omitempty"`
	PurchasedCommitters                      *int64 `json:"purchased_committers,omitempty"`
	MaximumCommitters                        *int64 `json:"maximum_committers,omitempty"`
	SecretProtectionLicenses                 *int64 `json:"secret_protection_licenses,omitempty"`
	SecretProtectionActiveCommitters         *int64 `json:"secret_protection_active_committers,omitempty"`
	CodeSecurityLicenses                     *int64 `json:"code_security_licenses,omitempty"`
	CodeSecurityActiveCommitters             *int64 `json:"code_security_active_committers,omitempty"`
}

// Item is the snapshot as GitHub's server-statistics item: the document
// without the security-products extension.
func (s *Snapshot) Item() *Snapshot {
	it := *s
	it.SecurityProducts = nil
	return &it
}

// MarshalDoc is the whole document (with security products) as an upload
// carries it.
func (s *Snapshot) MarshalDoc() ([]byte, error) { return json.Marshal(s) }

// MarshalItem is the stored item document: the snapshot as GitHub's
// server-statistics item. Stores keep these bytes as they are and hand
// them back from ServerStatsList; History writes them unchanged.
func (s *Snapshot) MarshalItem() ([]byte, error) { return json.Marshal(s.Item()) }

// MarshalSecurity is the stored security-products figures, nil when the
// snapshot has none.
func (s *Snapshot) MarshalSecurity() ([]byte, error) {
	if s.SecurityProducts == nil {
		return nil, nil
	}
	return json.Marshal(s.SecurityProducts)
}

// UnmarshalStored reads a stored snapshot back from its item document and
// security-products figures (nil or empty when none), setting the account.
func UnmarshalStored(item, security []byte, account string) (Snapshot, error) {
	var s Snapshot
	if err := json.Unmarshal(item, &s); err != nil {
		return Snapshot{}, err
	}
	s.SecurityProducts = nil
	if len(security) > 0 {
		s.SecurityProducts = &SecurityProducts{}
		if err := json.Unmarshal(security, s.SecurityProducts); err != nil {
			return Snapshot{}, err
		}
	}
	s.Account = account
	s.CollectionDate = s.CollectionDate.UTC()
	return s, nil
}
