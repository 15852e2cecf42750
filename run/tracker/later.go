package tracker

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
)

// A Logger logs into one run: params, metric points, tags and artifacts.
// Tracker.Log returns the one the run needs: its live.Run while it is
// recorded on this machine, an *Addition once it has ended. Close it when
// done; for a run that has ended, Close is what writes.
type Logger interface {
	ID() string
	LogParams(m map[string]any) error
	// LogMetricAt logs a point of metric key at step (live.NextStep
	// continues the key's steps), logged at time at.
	LogMetricAt(key string, v float64, step int64, at time.Time) error
	// LogArtifact stores the file, or the files below the directory, src
	// at dest below artifacts/ (its base name when "").
	LogArtifact(src, dest string) error
	SetTag(key, v string) error
	RemoveTag(key string) error
	Close() error
}

var (
	_ Logger = (*live.Run)(nil)
	_ Logger = (*Addition)(nil)
)

// Log opens the run spec names to log into: through its journal while it
// is recorded on this machine (as Attach), or, when it has ended, as an
// Addition, which writes everything logged as one new commit of the run
// when closed. A run running on another machine is an error that says
// so.
func (t *Tracker) Log(ctx context.Context, spec string) (Logger, error) {
	id, err := t.runID(ctx, spec)
	if err != nil {
		return nil, err
	}
	lr, err := t.recorder.Attach(id)
	switch {
	case err == nil:
		rec, rerr := lr.Record()
		if rerr != nil {
			return nil, closeAfter(lr, rerr)
		}
		if rec.Status == run.Running {
			return lr, nil
		}
		// Its end is in the journal: the last commit is being written,
		// and the run takes additions only once it is.
		lr.Close()
	case !errors.Is(err, live.ErrNotLive):
		return nil, err
	}
	en, err := t.store.Load(ctx, id)
	if err != nil {
		return nil, err
	}
	if en.Record.Status == run.Running {
		if lr != nil {
			return nil, fmt.Errorf("run %s (%s) is ending: its last commit is not written yet; try again in a moment", short(id), en.Record.Name)
		}
		return nil, fmt.Errorf("run %s (%s) is running, but not on this machine", short(id), en.Record.Name)
	}
	return &Addition{t: t, ctx: context.WithoutCancel(ctx), rec: en.Record}, nil
}

// runID returns the id of the run spec names: a full id as it is, without
// listing runs (a command in a training loop pays for nothing else), any
// other RUN resolved among every run.
func (t *Tracker) runID(ctx context.Context, spec string) (string, error) {
	if run.ValidID(spec) {
		return spec, nil
	}
	rs, err := t.Runs(ctx)
	if err != nil {
		return "", err
	}
	r, err := rs.Resolve(spec)
	if err != nil {
		return "", err
	}
	return r.ID, nil
}

// An Addition gathers metric points, tags and artifacts to add to a run
// that has ended, and Close writes them as one new commit of the run on
// top of the one it was at (tracker.Store's Extend), so that the run's
// state as it ended is kept: evaluation after training. Metric points
// keep the times they were logged at, and the run's summaries take them
// in. Params are write-once: giving one again with its value does
// nothing; another value, or a param the run does not have, is refused,
// as params say how the run ran. Tags alone are edited as EditTags edits
// them, in place. Its methods are safe for concurrent use.
type Addition struct {
	t   *Tracker
	ctx context.Context
	rec *run.Record // as the run was when opened, to check params against

	mu     sync.Mutex
	points []addedPoint
	arts   []run.Artifact
	tags   map[string]*string // nil: removed
	times  map[string]time.Time
	closed bool
	commit string
}

// addedPoint is a metric point to add; its step may be live.NextStep,
// resolved against the run's history when written.
type addedPoint struct {
	key string
	run.Point
}

// ID returns the run's id.
func (a *Addition) ID() string { return a.rec.ID }

// Commit returns the commit Close wrote, "" before, or when there was
// nothing to add or only tags to edit.
func (a *Addition) Commit() string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.commit
}

// ended names the run and how it ended, to begin its errors with.
func (a *Addition) ended() string {
	return fmt.Sprintf("run %s (%s) has %s", short(a.rec.ID), a.rec.Name, a.rec.Status)
}

// LogParams checks params against the run's: each must be there with
// that value.
func (a *Addition) LogParams(m map[string]any) error {
	flat, err := live.RecordableParams(a.t.store, m)
	if err != nil {
		return err
	}
	for _, k := range slices.Sorted(maps.Keys(flat)) {
		old, ok := a.rec.Params[k]
		switch {
		case !ok:
			return fmt.Errorf("%s: param %q cannot be added after the end (metrics, tags and artifacts can)", a.ended(), k)
		case !run.SameValue(old, flat[k]):
			return fmt.Errorf("%s: param %q is already %s; params are write-once", a.ended(), k, run.FormatValue(old))
		}
	}
	return nil
}

// LogMetricAt adds a point of metric key.
func (a *Addition) LogMetricAt(key string, v float64, step int64, at time.Time) error {
	if err := run.ValidateKey("metric", key); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.open(); err != nil {
		return err
	}
	a.points = append(a.points, addedPoint{key, run.Point{Step: step, Time: at.UnixMilli(), Value: v}})
	return nil
}

// LogArtifact stores src at once and adds it, replacing an artifact at
// the same path.
func (a *Addition) LogArtifact(src, dest string) error {
	if dest == "" {
		dest = filepath.Base(filepath.Clean(src))
	}
	dest, err := run.CleanArtifactPath(dest)
	if err != nil {
		return err
	}
	arts, err := live.StoreFiles(a.t.store, src, dest)
	if err != nil {
		return fmt.Errorf("log artifact: %w", err)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.open(); err != nil {
		return err
	}
	a.arts = append(a.arts, arts...)
	return nil
}

// SetTag sets a tag, its value redacted as live.RedactTag does.
func (a *Addition) SetTag(key, v string) error {
	v = live.RedactTag(key, v)
	if err := run.ValidateKey("tag", key); err != nil {
		return err
	}
	if err := run.ValidateTagValue(key, v); err != nil {
		return err
	}
	return a.editTag(key, &v)
}

// RemoveTag removes a tag.
func (a *Addition) RemoveTag(key string) error {
	if err := run.ValidateKey("tag", key); err != nil {
		return err
	}
	return a.editTag(key, nil)
}

func (a *Addition) editTag(key string, v *string) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.open(); err != nil {
		return err
	}
	if a.tags == nil {
		a.tags, a.times = map[string]*string{}, map[string]time.Time{}
	}
	a.tags[key], a.times[key] = v, time.Now().UTC().Truncate(time.Millisecond)
	return nil
}

func (a *Addition) open() error {
	if a.closed {
		return fmt.Errorf("run %s: addition already written", short(a.rec.ID))
	}
	return nil
}

// Close writes what was added: metric points and artifacts as a new
// commit of the run; tags alone in place. Nothing added writes nothing.
func (a *Addition) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed {
		return nil
	}
	a.closed = true
	switch {
	case len(a.points) == 0 && len(a.arts) == 0 && len(a.tags) == 0:
		return nil
	case len(a.points) == 0 && len(a.arts) == 0:
		return a.t.store.Amend(a.rec.ID, func(rec *run.Record) error {
			a.applyTags(rec)
			return nil
		})
	}
	c, err := a.t.store.Extend(a.ctx, a.rec.ID, a.apply)
	if err != nil {
		return fmt.Errorf("add to run %s: %w", short(a.rec.ID), err)
	}
	a.commit = c
	return nil
}

// apply adds everything to c, the run as the store has it now: called
// again when another writer moved the run meanwhile.
func (a *Addition) apply(c *run.Contents) error {
	rec := c.Record
	a.applyTags(rec)
	if c.History == nil {
		c.History = run.History{}
	}
	if rec.Metrics == nil {
		rec.Metrics = map[string]run.Summary{}
	}
	for _, p := range a.points {
		pts := c.History[p.key]
		if p.Step == live.NextStep {
			p.Step = 0
			if n := len(pts); n > 0 {
				if pts[n-1].Step == maxStep {
					return fmt.Errorf("metric %q: no step after %d", p.key, maxStep)
				}
				p.Step = pts[n-1].Step + 1
			}
		}
		c.History[p.key] = append(pts, p.Point)
	}
	for _, p := range a.points {
		rec.Metrics[p.key] = run.Summarize(c.History[p.key])
	}
	if len(a.arts) > 0 {
		byPath := make(map[string]run.Artifact, len(c.Artifacts)+len(a.arts))
		for _, x := range c.Artifacts {
			byPath[x.Path] = x
		}
		for _, x := range a.arts {
			byPath[x.Path] = x
		}
		c.Artifacts = slices.Collect(maps.Values(byPath))
	}
	rec.Updated = time.Now().UTC().Truncate(time.Millisecond)
	return nil
}

// applyTags sets and removes the tags of a on rec, with their times, by
// which they merge with edits made on other clones.
func (a *Addition) applyTags(rec *run.Record) {
	if len(a.tags) == 0 {
		return
	}
	if rec.Tags == nil {
		rec.Tags = map[string]string{}
	}
	if rec.TagTimes == nil {
		rec.TagTimes = map[string]time.Time{}
	}
	for k, v := range a.tags {
		if v == nil {
			delete(rec.Tags, k)
		} else {
			rec.Tags[k] = *v
		}
		rec.TagTimes[k] = a.times[k]
	}
}

// maxStep is the last step there is.
const maxStep int64 = 1<<63 - 1

// StartChild begins a run that is part of the run parent names, as a
// trial is part of a sweep (MLflow's nested runs): its tags name the
// parent's full id (run.ParentTag), and unless o says otherwise it runs
// in the parent's experiment on the parent's code (its source, so the
// same parents in git, and its directory), captured once for every
// child instead of a snapshot each. A parent recorded here lends its
// host's facts (GPUs, Python) too.
func (t *Tracker) StartChild(ctx context.Context, parent string, o live.Options) (*live.Run, error) {
	p, err := t.Get(ctx, parent)
	if err != nil {
		return nil, fmt.Errorf("parent run: %w", err)
	}
	if v, ok := o.Tags[run.ParentTag]; ok && v != p.ID {
		return nil, fmt.Errorf("tag %s=%s names another parent than %s", run.ParentTag, v, short(p.ID))
	}
	if o.Source == nil {
		src := p.Record.Source
		src.Skipped = slices.Clone(src.Skipped)
		o.Source = &src
		if o.SourceDir == "" {
			o.SourceDir = src.Dir
		}
	}
	if o.Experiment == "" {
		o.Experiment = p.Record.Experiment
	}
	o.Tags = maps.Clone(o.Tags)
	if o.Tags == nil {
		o.Tags = map[string]string{}
	}
	o.Tags[run.ParentTag] = p.ID
	lr, err := t.recorder.Start(ctx, o)
	if err != nil {
		return nil, err
	}
	if p.Live {
		h := p.Record.Host
		h.Hostname, h.User, h.OS, h.Arch = "", "", "", ""
		if err := lr.SetHost(h); err != nil {
			return nil, closeAfter(lr, err)
		}
	}
	return lr, nil
}

// Discard drops what was added, writing nothing: for a caller that met an
// error part way and adds all or nothing.
func (a *Addition) Discard() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.closed = true
}
