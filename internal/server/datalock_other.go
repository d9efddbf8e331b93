//go:build !unix

package server

// LockDataDir is a no-op where flock is not available: one serve per data
// directory is then the operator's to ensure.
func LockDataDir(dir string) (release func(), err error) { return func() {}, nil }
