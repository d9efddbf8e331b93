package httpapi_test

import "github.com/ghusage/ghusage/internal/server"

type serverConfig = server.Config
