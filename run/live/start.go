package live

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/user"
	"runtime"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
	"github.com/gitruns/gitruns/run/proc"
)

// Options configure a new run.
type Options struct {
	Name       string            // default: a generated name such as "brave-otter-42"
	Experiment string            // default: "default"
	Params     map[string]any    // nested maps become dotted keys
	Tags       map[string]string // initial tags
	Command    []string          // the command the run runs, if any
	// OwnerPID is the process whose death means the run crashed. Zero
	// means the calling process.
	OwnerPID int
	// Checkpoint is how often the live run is committed; zero means
	// DefaultCheckpoint.
	Checkpoint time.Duration
	// Now, when set, replaces time.Now for the start time.
	Now time.Time
	// Source, when set, is the code the run runs, captured earlier with
	// the store's CaptureSource: a sweep that starts many runs of one
	// piece of code captures it once instead of snapshotting per run.
	Source *run.Source
	// DefaultParams are params taken from the command line: recorded,
	// but replaced without complaint when the program logs the same key.
	DefaultParams map[string]any
	// Env holds environment variables worth recording (never secrets).
	Env map[string]string
	// RerunOf is the id of the run this one repeats.
	RerunOf string
	// Output tells that the command's output will be written to the
	// files at the run's OutputPrefix, to be kept with the run, up to
	// OutputLimit bytes.
	Output      bool
	OutputLimit int64
	// SourceDir is the command's working directory relative to the top of
	// the work tree, recorded so that the run can be repeated there.
	SourceDir string
	// Lease keeps the run alive for this long after its owner died, as
	// long as its journal is written to within it (see Owner.Lease): for
	// runs owned by a service whose clients log over the network.
	Lease time.Duration
}

// Start begins a new run: it captures the source and writes the journal's
// first entries. The run is first committed at its first checkpoint, or
// when it ends if that comes sooner: until then its journal is what every
// git-runs command on this machine shows, and what recovers it if this
// process dies. When the calling process owns the run, the returned Run
// checkpoints itself in the background until End.
func (rc Recorder) Start(ctx context.Context, o Options) (*Run, error) {
	b, e, err := startEntries(ctx, rc.Store, o)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(rc.Dir, 0o755); err != nil {
		return nil, fmt.Errorf("create journal directory: %w", err)
	}
	p := rc.journalPath(e.ID)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create journal: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(p)
		return nil, fmt.Errorf("write journal: %w", err)
	}
	r := newRun(rc, e.ID, p, f)
	r.private = Private(rc.Store)
	r.off = int64(r.st.replay(b))
	if e.Owner.PID == os.Getpid() {
		go r.checkpointer(time.Duration(e.Checkpoint) * time.Millisecond)
	}
	return r, nil
}

// startEntries checks o and returns the first entries of the journal of a
// run started with it, and the start entry among them.
func startEntries(ctx context.Context, s Store, o Options) ([]byte, *startEntry, error) {
	params, defaults, err := startParams(o)
	if err != nil {
		return nil, nil, err
	}
	if err := validateStart(o); err != nil {
		return nil, nil, err
	}
	if o.Source == nil {
		// Before Private: capturing asks git for its variables beside
		// git status, where Private would wait for them alone (some
		// 10 ms of every exec).
		src, err := s.CaptureSource(ctx)
		if err != nil {
			return nil, nil, err
		}
		o.Source = &src
	}
	private := Private(s)
	if private {
		makePrivate(&o, params, defaults)
	}
	e := newStartEntry(s, o)
	if private {
		e.Host = privateHost(e.Host)
	}
	b := appendStart(nil, e)
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if b, err = appendParam(b, k, params[k], false); err != nil {
			return nil, nil, fmt.Errorf("param %q: %w", k, err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(defaults)) {
		if b, err = appendParam(b, k, defaults[k], true); err != nil {
			return nil, nil, fmt.Errorf("param %q: %w", k, err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(o.Tags)) {
		b = appendTag(b, k, RedactTag(k, o.Tags[k]))
	}
	// The first commit may be a while away: a record that could not be
	// written is refused now, not when the run ends.
	st := newState()
	st.replay(b)
	if _, err := codec.EncodeTOML(st.record()); err != nil {
		return nil, nil, err
	}
	return b, e, nil
}

// startParams returns the explicit params of o and the defaults taken
// from its command line that they leave, flattened and checked.
func startParams(o Options) (params, defaults map[string]any, err error) {
	if params, err = run.FlattenParams(o.Params); err != nil {
		return nil, nil, err
	}
	params = redactParams(params)
	for k := range params {
		if err := run.CheckParamShape(params, k); err != nil {
			return nil, nil, err
		}
	}
	if defaults, err = run.FlattenParams(o.DefaultParams); err != nil {
		return nil, nil, err
	}
	defaults = redactParams(defaults)
	for k := range defaults {
		// An explicit param wins, and a default never blocks one.
		if _, set := params[k]; set || run.CheckParamShape(params, k) != nil {
			delete(defaults, k)
		}
	}
	return params, defaults, nil
}

// validateStart checks the names and tags o gives a run.
func validateStart(o Options) error {
	if err := run.ValidateExperimentName(cmp.Or(o.Experiment, "default")); err != nil {
		return err
	}
	if o.Name != "" {
		if err := run.ValidateName(o.Name); err != nil {
			return err
		}
	}
	for k, v := range o.Tags {
		if err := run.ValidateKey("tag", k); err != nil {
			return err
		}
		if err := run.ValidateTagValue(k, v); err != nil {
			return err
		}
	}
	if o.RerunOf != "" && !run.ValidID(o.RerunOf) {
		return fmt.Errorf("invalid run id %q to rerun", o.RerunOf)
	}
	return nil
}

// newStartEntry fills in the fixed fields of a run started with o, checked
// by validateStart, its source captured.
func newStartEntry(s Store, o Options) *startEntry {
	src := *o.Source
	src.Dir = o.SourceDir
	now := o.Now
	if now.IsZero() {
		now = time.Now()
	}
	pid := o.OwnerPID
	if pid == 0 {
		pid = os.Getpid()
	}
	cp := o.Checkpoint
	if cp <= 0 {
		cp = DefaultCheckpoint
	}
	id := run.NewID()
	if !o.Now.IsZero() {
		id = run.NewIDAt(now)
	}
	return &startEntry{
		ID:          id,
		Name:        cmp.Or(o.Name, run.NewName()),
		Experiment:  cmp.Or(o.Experiment, "default"),
		Started:     now.UnixMilli(),
		Command:     o.Command,
		Source:      src,
		Host:        ThisHost(),
		Owner:       Owner{PID: pid, Start: proc.StartTime(pid), Host: hostname(), Lease: o.Lease.Milliseconds()},
		Author:      s.Author(),
		Checkpoint:  cp.Milliseconds(),
		Env:         recordableEnv(o.Env),
		RerunOf:     o.RerunOf,
		Output:      o.Output,
		OutputLimit: o.OutputLimit,
	}
}

// recordableEnv leaves out the variables that run.toml cannot hold, rather
// than making every commit of the run fail.
func recordableEnv(env map[string]string) map[string]string {
	var out map[string]string
	for k, v := range env {
		if k != "" && utf8.ValidString(k) && utf8.ValidString(v) {
			if out == nil {
				out = map[string]string{}
			}
			out[k] = v
		}
	}
	return out
}

// Attach opens a live run that another process started, to log into it.
// Close it when done. It fails with ErrNotLive when the run has no journal
// here (it ended, or it lives on another machine).
func (rc Recorder) Attach(id string) (*Run, error) {
	if !run.ValidID(id) {
		return nil, fmt.Errorf("attach: invalid run id %q", id)
	}
	p := rc.journalPath(id)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_APPEND, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotLive, id)
	}
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	r := newRun(rc, id, p, f)
	r.private = Private(rc.Store)
	if err := r.refresh(); err != nil {
		f.Close()
		return nil, err
	}
	if !r.st.started {
		f.Close()
		return nil, fmt.Errorf("read journal of %s: no start entry", id)
	}
	head, err := rc.Store.Head(id)
	if err != nil && !errors.Is(err, run.ErrNotFound) {
		f.Close()
		return nil, err
	}
	r.head = head // "" until the run's first commit
	return r, nil
}

// Adopt is Attach for a process that takes over a run whose owner died
// while its lease lasts (Options.Lease): the returned Run checkpoints
// itself in the background, as its owner's did, until it ends or is
// closed.
func (rc Recorder) Adopt(id string) (*Run, error) {
	r, err := rc.Attach(id)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	every := r.st.checkpoint
	r.mu.Unlock()
	if every <= 0 {
		every = DefaultCheckpoint
	}
	go r.checkpointer(every)
	return r, nil
}

// ThisHost describes the machine this process runs on.
func ThisHost() run.Host {
	u := os.Getenv("USER")
	if u == "" {
		u = os.Getenv("LOGNAME")
	}
	if u == "" {
		if cu, err := user.Current(); err == nil {
			u = cu.Username
		}
	}
	return run.Host{Hostname: hostname(), User: u, OS: runtime.GOOS, Arch: runtime.GOARCH}
}

func hostname() string {
	h, _ := os.Hostname()
	return h
}
