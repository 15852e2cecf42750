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
	version string // the store's RunsVersion when the listing was made
}

// Versioned is a store that can tell cheaply whether anything a listing
// of runs shows changed.
type Versioned interface {
	// RunsVersion describes the state of everything a listing reads: two
	// equal versions mean nothing changed in between, by any process; ""
	// means it cannot tell now.
	RunsVersion() string
}

// RecentRuns returns the runs as Runs lists them, from the last listing
// when no change was noted since and either the store says nothing
// changed (Versioned) or the listing is less than maxAge old: what other
// processes wrote shows after at most maxAge. The Runs returned is shared: callers
// must not change it.
func (t *Tracker) RecentRuns(ctx context.Context, maxAge time.Duration) (*Runs, error) {
	c := &t.recent
	c.mu.Lock()
	defer c.mu.Unlock()
	version := ""
	if v, ok := t.store.(Versioned); ok {
		version = v.RunsVersion()
	}
	if c.runs != nil && c.gen == c.changes {
		// Unchanged by its version, a listing serves however old it is (a
		// listing of 100,000 runs costs most of a second, a version a
		// few stats), until a run in it turns stale or while another
		// process records a run, which may die leaving nothing changed.
		fresh := c.runs.expires.IsZero() || time.Now().Before(c.runs.expires)
		if fresh && ((version != "" && version == c.version) || time.Since(c.at) < maxAge) {
			return c.runs, nil
		}
	}
	gen := c.changes
	rs, err := t.Runs(ctx)
	if err != nil {
		return nil, err
	}
	c.runs, c.at, c.gen, c.version = rs, time.Now(), gen, version
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
