package tracker

import (
	"context"
	"sync"
	"time"
)

// recent is the last listing of runs, kept for a long-lived process (the
// server) that is asked for runs many times a second: a client paging
// through a search, a UI polling for live runs.
type recent struct {
	mu   sync.Mutex
	runs *Runs
	at   time.Time
	gen  uint64 // the change count the listing was made at
	// changes counts the writes this process noted (NoteChange).
	changes uint64
}

// RecentRuns returns the runs as Runs lists them, from a listing made less
// than maxAge ago when no change was noted since: what other processes
// wrote shows after at most maxAge. The Runs returned is shared: callers
// must not change it.
func (t *Tracker) RecentRuns(ctx context.Context, maxAge time.Duration) (*Runs, error) {
	c := &t.recent
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.runs != nil && c.gen == c.changes && time.Since(c.at) < maxAge {
		return c.runs, nil
	}
	gen := c.changes
	rs, err := t.Runs(ctx)
	if err != nil {
		return nil, err
	}
	c.runs, c.at, c.gen = rs, time.Now(), gen
	return rs, nil
}

// NoteChange tells RecentRuns that this process changed runs, so that the
// next listing is made afresh.
func (t *Tracker) NoteChange() {
	c := &t.recent
	c.mu.Lock()
	c.changes++
	c.mu.Unlock()
}
