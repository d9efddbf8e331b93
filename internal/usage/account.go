package usage

import "time"

// Enterprise is a GitHub enterprise account, addressed by slug.
type Enterprise struct {
	ID        int64     `json:"id"`
	Slug      string    `json:"slug"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// Organization is an organization, addressed by login; EnterpriseID is 0
// when it belongs to no enterprise.
type Organization struct {
	ID           int64     `json:"id"`
	Login        string    `json:"login"`
	EnterpriseID int64     `json:"enterprise_id,omitempty"`
	CreatedAt    time.Time `json:"created_at"`
}

// User is a personal account. A site administrator may see and manage every
// account, as on GitHub Enterprise Server.
type User struct {
	ID        int64     `json:"id"`
	Login     string    `json:"login"`
	Name      string    `json:"name,omitempty"`
	SiteAdmin bool      `json:"site_admin"`
	CreatedAt time.Time `json:"created_at"`
	// Email and SuspendedAt (zero: not suspended) are set through the
	// site-admin API (admin.go).
	Email       string    `json:"email,omitempty"`
	SuspendedAt time.Time `json:"suspended_at,omitzero"`
}

// Roles of a user in an organization or enterprise.
const (
	RoleMember = "member"
	RoleAdmin  = "admin" // organization owner
	RoleOwner  = "owner" // enterprise owner
)

// Team is a team in an organization.
type Team struct {
	ID    int64  `json:"id"`
	OrgID int64  `json:"org_id"`
	Slug  string `json:"slug"`
	Name  string `json:"name"`
}

// Repository belongs to an organization or a user (OwnerLogin).
type Repository struct {
	ID         int64  `json:"id"`
	OwnerLogin string `json:"owner"`
	Name       string `json:"name"`
	Private    bool   `json:"private"`
}

// FullName is owner/name.
func (r Repository) FullName() string { return r.OwnerLogin + "/" + r.Name }

// App is a GitHub App.
type App struct {
	ID          int64             `json:"id"`
	Slug        string            `json:"slug"`
	Name        string            `json:"name"`
	OwnerLogin  string            `json:"owner"`
	ClientID    string            `json:"client_id"`
	Permissions map[string]string `json:"permissions"`
}

// Installation is an App installed on an account (an organization or user,
// by login). Permissions are what the installation was granted.
type Installation struct {
	ID           int64             `json:"id"`
	AppID        int64             `json:"app_id"`
	AccountLogin string            `json:"account"`
	AccountType  string            `json:"account_type"` // Organization, User or Enterprise
	Permissions  map[string]string `json:"permissions"`
	Repositories int               `json:"repositories"` // repositories it is installed on, for the rate-limit formula
	// Members is the number of members of the organization it is installed
	// on (0 on a user or enterprise account), for the rate-limit formula.
	// Stores derive it from organization roles when reading; it is not
	// stored with the installation.
	Members int `json:"members"`
}

// OAuthApp is an OAuth application.
type OAuthApp struct {
	ID         int64  `json:"id"`
	Name       string `json:"name"`
	ClientID   string `json:"client_id"`
	OwnerLogin string `json:"owner"`
}
