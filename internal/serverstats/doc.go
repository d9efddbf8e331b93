// Package serverstats is ghusage's server statistics domain: daily
// snapshots of GitHub Enterprise Server instances (one per server and
// collection day, each server belonging to one enterprise or organization),
// their validation, the date windows of
// GET /enterprise-installation/{enterprise_or_org}/server-statistics, the
// sums over servers that GHES's GET /enterprise/stats/{type} answer, the
// collector that reads those routes from running instances, and the Store
// interface every backend implements. It imports only the standard library
// and internal/usage.
//
// A snapshot is kept as the document GitHub's server-statistics item is
// (plus GHES's security-products figures), so sections a source did not
// give stay absent rather than becoming zeros. See doc/server-statistics.md.
package serverstats
