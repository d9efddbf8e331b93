// Package ratelimit enforces GitHub's primary and secondary rate limits.
//
// The primary limit is GitHub's: one fixed window per pool (a user, an App
// installation or, for unauthenticated requests, an IP address) and resource
// category, starting at the first counted request and lasting an hour or a
// minute by category. The window ends on a whole second so that the epoch
// seconds of x-ratelimit-reset are exact and never move while it is open.
//
// Secondary limits (concurrent requests per pool, points per minute per
// endpoint) are answered with a retry-after and GitHub's secondary-limit
// message.
//
// A Limiter computes limits from a Config and keeps its counters in a Store.
// NewMemory is the in-process Store; internal/redis has one for Redis. Both
// pass the behaviour suite in ratelimittest.
package ratelimit

import "strings"

// Resource is a rate-limit category: the resources.* keys of GET /rate_limit
// and the values of x-ratelimit-resource.
type Resource uint8

const (
	Core Resource = iota
	Search
	CodeSearch
	GraphQL
	IntegrationManifest
	DependencySnapshots
	DependencySBOM
	CodeScanningUpload
	CodeScanningAutofix
	ActionsRunnerRegistration
	SCIM
	SourceImport
	AuditLog
	AuditLogStreaming

	// NumResources is the number of categories; Resource values are
	// 0..NumResources-1 and index per-category arrays.
	NumResources = int(iota)
)

var resourceNames = [NumResources]string{
	Core:                      "core",
	Search:                    "search",
	CodeSearch:                "code_search",
	GraphQL:                   "graphql",
	IntegrationManifest:       "integration_manifest",
	DependencySnapshots:       "dependency_snapshots",
	DependencySBOM:            "dependency_sbom",
	CodeScanningUpload:        "code_scanning_upload",
	CodeScanningAutofix:       "code_scanning_autofix",
	ActionsRunnerRegistration: "actions_runner_registration",
	SCIM:                      "scim",
	SourceImport:              "source_import",
	AuditLog:                  "audit_log",
	AuditLogStreaming:         "audit_log_streaming",
}

// String is GitHub's name of the category.
func (r Resource) String() string {
	if int(r) < NumResources {
		return resourceNames[r]
	}
	return "unknown"
}

// ParseResource accepts GitHub's name of a category.
func ParseResource(s string) (Resource, bool) {
	for i, n := range resourceNames {
		if n == s {
			return Resource(i), true
		}
	}
	return 0, false
}

// Classify returns the category a request is charged to, from its method and
// path (with or without the /api/v3 prefix). The rules are GitHub's, and
// they agree with go-github's client-side classification so that its local
// book-keeping matches the headers; everything else is core.
func Classify(method, path string) Resource {
	path = strings.TrimPrefix(path, "/api/v3")
	var segs [maxSegments]string
	splitPath(path, &segs)
	seg := func(i int) string { return segs[i] }
	switch seg(0) {
	case "search":
		if seg(1) == "code" && (method == "GET" || method == "HEAD") {
			return CodeSearch
		}
		return Search
	case "graphql":
		return GraphQL
	case "scim":
		return SCIM
	case "app-manifests":
		if method == "POST" && seg(2) == "conversions" && seg(3) == "" {
			return IntegrationManifest
		}
	case "orgs", "enterprises":
		// /orgs/{org}/audit-log, /enterprises/{e}/audit-log[/streams...]
		if seg(2) == "audit-log" {
			if seg(3) == "" {
				return AuditLog
			}
			if seg(3) == "streams" || seg(3) == "stream-key" {
				return AuditLogStreaming
			}
		}
		if method == "POST" && seg(2) == "actions" && seg(3) == "runners" && seg(4) == "registration-token" && seg(5) == "" {
			return ActionsRunnerRegistration
		}
	case "repos":
		// /repos/{owner}/{repo}/...
		switch seg(3) {
		case "dependency-graph":
			if seg(4) == "snapshots" && seg(5) == "" && method == "POST" {
				return DependencySnapshots
			}
			if seg(4) == "sbom" && seg(5) == "" {
				return DependencySBOM
			}
		case "code-scanning":
			if seg(4) == "sarifs" && method == "POST" && seg(5) == "" {
				return CodeScanningUpload
			}
			if seg(4) == "alerts" && seg(6) == "autofix" && seg(7) == "" && method == "POST" {
				return CodeScanningAutofix
			}
		case "actions":
			if method == "POST" && seg(4) == "runners" && seg(5) == "registration-token" && seg(6) == "" {
				return ActionsRunnerRegistration
			}
		case "import":
			// Source imports are gone from GitHub's API, but go-github still
			// charges PUT /repos/{o}/{r}/import to source_import.
			if method == "PUT" && seg(4) == "" {
				return SourceImport
			}
		}
	}
	return Core
}

// maxSegments is one more than the deepest path the rules look at, so a
// longer path never looks like it ends where a rule wants it to.
const maxSegments = 9

// splitPath stores the first segments of an absolute path in segs without
// allocating; a trailing slash is ignored, and the last slot holds a
// non-empty marker when the path is longer than the rules look.
func splitPath(path string, segs *[maxSegments]string) {
	if path == "" || path[0] != '/' {
		return
	}
	rest := path[1:]
	if n := len(rest); n > 0 && rest[n-1] == '/' {
		rest = rest[:n-1]
	}
	for i := 0; rest != "" && i < maxSegments; i++ {
		j := strings.IndexByte(rest, '/')
		if j < 0 {
			segs[i] = rest
			return
		}
		segs[i], rest = rest[:j], rest[j+1:]
		if rest == "" && i+1 < maxSegments { // an empty segment at the end ("a//")
			segs[i+1] = "/"
		}
	}
}
