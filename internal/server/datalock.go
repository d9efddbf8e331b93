package server

import "errors"

// ErrDataDirInUse is LockDataDir's error when another process holds the lock.
var ErrDataDirInUse = errors.New("data directory in use")
