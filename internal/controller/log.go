package controller

import (
	"context"
	"log/slog"
)

type loggerKey struct{}

// WithLogger returns a context that carries l; LoggerFrom retrieves it.
func WithLogger(ctx context.Context, l *slog.Logger) context.Context {
	return context.WithValue(ctx, loggerKey{}, l)
}

// LoggerFrom is the logger carried by ctx, or slog.Default() if none. Sync
// functions log through it: it names the controller and the key.
func LoggerFrom(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(loggerKey{}).(*slog.Logger); ok && l != nil {
		return l
	}
	return slog.Default()
}
