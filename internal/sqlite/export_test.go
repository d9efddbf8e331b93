package sqlite_test

import "github.com/ghusage/ghusage/internal/usage"

var usageUser = usage.User{Login: "octocat"}
