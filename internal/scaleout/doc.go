// Package scaleout holds the tests of ghusage's scale-out setup: several
// replicas started in-process through the real CLI entry point, sharing one
// PostgreSQL and one Redis, as in doc/scale-out.md. It has no code of its
// own; see scaleout_test.go.
package scaleout
