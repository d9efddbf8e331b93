package insights

import "github.com/ghusage/ghusage/internal/usage"

// Access is what reading an organization's API insights requires (seed
// 000): the fine-grained "API Insights" organization permission (read), or
// a classic token with read:org. The REST endpoints and the dashboard both
// check it with usage.AuthorizeOrg.
var Access = usage.Access{Scopes: []string{"read:org"}, Permission: "organization_api_insights", Level: "read"}
