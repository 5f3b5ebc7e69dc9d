package store

import (
	"context"
	"fmt"
	"strings"
)

// Open opens the store a spec names: "sqlite:PATH" or "postgres:DSN"
// (a libpq keyword/value string or a postgres:// URL).
func Open(ctx context.Context, spec string) (Store, error) {
	kind, arg, ok := strings.Cut(spec, ":")
	switch {
	case !ok || arg == "":
		return nil, fmt.Errorf("%w: %q: want sqlite:PATH or postgres:DSN", ErrSpec, spec)
	case kind == "sqlite":
		return OpenSQLite(ctx, arg)
	case kind == "postgres" || kind == "postgresql":
		if strings.HasPrefix(arg, "//") { // postgres://… was cut at its colon
			arg = kind + ":" + arg
		}
		return OpenPostgres(ctx, arg)
	}
	return nil, fmt.Errorf("%w: %q: unknown kind %q", ErrSpec, spec, kind)
}
