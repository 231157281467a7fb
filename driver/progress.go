package driver

import "context"

// ProgressFunc is told how a load is going: fetched of total moment XMLs are in. It is called
// from the fetch goroutines, once with (0, total) when fetching starts and after every fetch, so it
// must be cheap and safe for concurrent use.
type ProgressFunc func(fetched, total int)

type progressKey struct{}

// WithProgress returns a context that makes the loads run with it report to fn (a progress line
// on a terminal, for example). Pass it to List, Moments, Current, Def or Reload.
func WithProgress(ctx context.Context, fn ProgressFunc) context.Context {
	return context.WithValue(ctx, progressKey{}, fn)
}

// ProgressFrom returns the ProgressFunc of ctx, or nil if it has none.
func ProgressFrom(ctx context.Context) ProgressFunc {
	fn, _ := ctx.Value(progressKey{}).(ProgressFunc)
	return fn
}
