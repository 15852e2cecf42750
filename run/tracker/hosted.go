package tracker

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/gitruns/gitruns/run/proc"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
)

// DefaultIdle is how long a hosted run may go without a call from its
// client before it is taken for abandoned and ended as crashed. MLflow's
// clients send no heartbeat, so silence is all there is to go by; an hour
// lets an epoch that logs only at its end go by.
const DefaultIdle = time.Hour

// Hosted keeps the runs that a long-lived process (git runs serve) records
// for clients that reach it over the network: it owns them, so that their
// journals are the truth while they live, and a client's calls only
// append to them. Runs are committed at checkpoints, never per call.
//
// Each run is leased for the idle time: if the process dies, the run
// outlives it while its journal is fresh, the next Hosted of the store
// takes it back (a restarted server loses nothing and its clients log on
// into the same runs), and once the lease runs out any git-runs command
// ends it as crashed. A run none of whose clients calls for the idle
// time is ended as crashed by Sweep.
type Hosted struct {
	t     *Tracker
	idle  time.Duration
	grace time.Duration

	mu   sync.Mutex
	runs map[string]*hostedRun
}

type hostedRun struct {
	r    *live.Run
	last time.Time // the last call for the run
	// client is the process on this machine that created the run, when
	// known: once it has died and gone silent for clientGrace, the run
	// is over, without waiting for the idle time.
	client      int
	clientStart uint64
}

// DefaultClientGrace is how long a run whose client process died may
// still get calls (from another process given its id) before it is
// ended.
const DefaultClientGrace = 30 * time.Second

// HostOptions tune Hosted.
type HostOptions struct {
	// Idle is the time after which a silent run is ended; DefaultIdle
	// when zero.
	Idle time.Duration
	// ClientGrace is the time after which a silent run whose client
	// process died is ended; DefaultClientGrace when zero.
	ClientGrace time.Duration
}

// Host returns the hosted runs of t, taking back the runs an earlier
// Hosted of the store left live when it died.
func (t *Tracker) Host(o HostOptions) (*Hosted, error) {
	if o.Idle <= 0 {
		o.Idle = DefaultIdle
	}
	if o.ClientGrace <= 0 {
		o.ClientGrace = DefaultClientGrace
	}
	h := &Hosted{t: t, idle: o.Idle, grace: o.ClientGrace, runs: map[string]*hostedRun{}}
	lives, err := t.recorder.List()
	if err != nil {
		return nil, err
	}
	for _, l := range lives {
		if l.Owner.Lease <= 0 || !l.Alive || l.Record == nil || l.Record.Status != run.Running {
			continue
		}
		if live.OwnerRuns(l.Owner) {
			continue // its service still runs: not ours
		}
		r, err := t.recorder.Adopt(l.ID)
		if err != nil {
			t.warn(fmt.Errorf("take back run %s: %w", l.ID, err))
			continue
		}
		h.runs[l.ID] = &hostedRun{r: r, last: l.Written}
	}
	t.hosted.Store(h)
	return h, nil
}

// hostedInfo is what Runs needs of a run hosted here: its state in
// memory, which spares reading its journal.
func (t *Tracker) hostedInfo(id string) (live.Info, bool) {
	h := t.hosted.Load()
	if h == nil {
		return live.Info{}, false
	}
	h.mu.Lock()
	hr, ok := h.runs[id]
	h.mu.Unlock()
	if !ok {
		return live.Info{}, false
	}
	rec, err := hr.r.Record()
	if err != nil || rec.Status != run.Running {
		return live.Info{}, false
	}
	hist, err := hr.r.History()
	if err != nil {
		return live.Info{}, false
	}
	return live.Info{ID: id, Alive: true, Record: rec, History: hist}, true
}

// isHosted tells whether this process hosts the run id: its end is
// noted here (NoteChange) however its client goes.
func (t *Tracker) isHosted(id string) bool {
	h := t.hosted.Load()
	if h == nil {
		return false
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.runs[id]
	return ok
}

// Start begins a run owned by h, as Tracker.Start does, for the process
// client on this machine (0 when unknown, or not on this machine).
func (h *Hosted) Start(ctx context.Context, o live.Options, client int) (*live.Run, error) {
	o.Lease = h.idle
	o.OwnerPID = 0
	r, err := h.t.Start(ctx, o)
	if err != nil {
		return nil, err
	}
	hr := &hostedRun{r: r, last: time.Now()}
	if client > 0 {
		hr.client, hr.clientStart = client, proc.StartTime(client)
	}
	h.mu.Lock()
	h.runs[r.ID()] = hr
	h.mu.Unlock()
	return r, nil
}

// ErrEnded is returned by Hosted.Run for a run that is no longer live:
// its params, metrics and artifacts cannot change.
var ErrEnded = errors.New("run has ended")

// Run returns live run id to log into, counting the call as a sign of
// life of its client. A run hosted by h is returned as it is; a run live
// here under another owner is attached to. It fails with ErrEnded for a
// run that ended, and run.ErrNotFound for no run.
func (h *Hosted) Run(ctx context.Context, id string) (*live.Run, error) {
	h.mu.Lock()
	if hr, ok := h.runs[id]; ok {
		hr.last = time.Now()
		h.mu.Unlock()
		return hr.r, nil
	}
	h.mu.Unlock()
	r, err := h.t.recorder.Attach(id)
	if errors.Is(err, live.ErrNotLive) {
		if _, lerr := h.t.store.Load(ctx, id); lerr != nil {
			return nil, lerr
		}
		return nil, fmt.Errorf("run %s: %w", id, ErrEnded)
	}
	if err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if hr, ok := h.runs[id]; ok { // another call attached it meanwhile
		r.Close()
		hr.last = time.Now()
		return hr.r, nil
	}
	h.runs[id] = &hostedRun{r: r, last: time.Now()}
	return r, nil
}

// Live tells whether h records run id now.
func (h *Hosted) Live(id string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	_, ok := h.runs[id]
	return ok
}

// End ends run id with status at time end (now when zero), and lets go
// of it.
func (h *Hosted) End(ctx context.Context, id string, status run.Status, end time.Time) error {
	r, err := h.Run(ctx, id)
	if err != nil {
		return err
	}
	err = r.EndAt(status, end)
	h.mu.Lock()
	if hr, ok := h.runs[id]; ok && hr.r == r {
		delete(h.runs, id)
	}
	h.mu.Unlock()
	return err
}

// Forget lets go of run id without ending it: for a run deleted meanwhile.
func (h *Hosted) Forget(id string) {
	h.mu.Lock()
	hr, ok := h.runs[id]
	delete(h.runs, id)
	h.mu.Unlock()
	if ok {
		hr.r.Close()
	}
}

// Sweep ends, as crashed, the runs whose clients have not called for the
// idle time before now, or whose client process died and has been silent
// for a little while, and returns their ids.
func (h *Hosted) Sweep(now time.Time) []string {
	h.mu.Lock()
	var idle []*hostedRun
	var ids []string
	for id, hr := range h.runs {
		silent := now.Sub(hr.last)
		gone := hr.client > 0 && silent >= h.grace && !proc.Alive(hr.client, hr.clientStart)
		if silent >= h.idle || gone {
			idle = append(idle, hr)
			ids = append(ids, id)
			delete(h.runs, id)
		}
	}
	h.mu.Unlock()
	for i, hr := range idle {
		if err := hr.r.End(run.Crashed); err != nil {
			h.t.warn(fmt.Errorf("end abandoned run %s: %w", ids[i], err))
		}
	}
	return ids
}

// Close writes everything the hosted runs hold to their journals and lets
// go of them without ending them: a Hosted started later takes them back
// while their leases last.
func (h *Hosted) Close() error {
	h.mu.Lock()
	runs := h.runs
	h.runs = map[string]*hostedRun{}
	h.mu.Unlock()
	var errs []error
	for _, hr := range runs {
		errs = append(errs, hr.r.Close())
	}
	return errors.Join(errs...)
}

// SweepEvery is how often Sweep should be called to end runs near their
// time.
func (h *Hosted) SweepEvery() time.Duration {
	return min(time.Minute, max(min(h.idle, h.grace)/4, time.Second))
}
