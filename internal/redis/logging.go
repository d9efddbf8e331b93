package redis

import (
	"context"
	"fmt"
	"log/slog"

	goredis "github.com/redis/go-redis/v9"
)

// slogAdapter sends go-redis's own log lines (reconnects, pool and
// cluster-state messages) to a log/slog logger.
type slogAdapter struct{ l *slog.Logger }

func (a slogAdapter) Printf(ctx context.Context, format string, v ...any) {
	a.l.WarnContext(ctx, "redis client: "+fmt.Sprintf(format, v...), "component", "go-redis")
}

// UseLogger routes go-redis's log lines through l, so --log-format json
// output stays JSON throughout. go-redis keeps one logger per process;
// the last call wins, which is right for one server per process.
func UseLogger(l *slog.Logger) {
	if l != nil {
		goredis.SetLogger(slogAdapter{l})
	}
}
