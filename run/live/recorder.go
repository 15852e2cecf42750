package live

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"os/user"
	"path"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/proc"
)

// Store keeps runs. The git implementation is gitstore.Repo; the recorder
// needs nothing but this, so the run package holds no git.
type Store interface {
	// PrivateDir is a directory inside the repository for git-runs' own
	// files; journals of live runs live in PrivateDir()/live.
	PrivateDir() string
	// CaptureSource describes the code a run starting now will run: the
	// code commit, the branch, and a snapshot of uncommitted changes.
	CaptureSource() (run.Source, error)
	// StoreFile copies the content of the file at path into the store and
	// returns its object id.
	StoreFile(path string) (string, error)
	// Save writes c as the new state of run c.Record.ID, replacing the
	// state committed as old ("" when the run must not exist yet), and
	// returns the new commit id. It fails with an error wrapping
	// ErrConflict when the run is no longer at old.
	Save(c *run.Contents, old string) (string, error)
	// Load returns the commit id and record of a run, or an error wrapping
	// ErrNotFound.
	Load(id string) (string, *run.Record, error)
	// Amend rewrites the record of a run that is not live, keeping its
	// histories and artifacts, with compare-and-swap against concurrent
	// writers.
	Amend(id string, edit func(*run.Record) error) error
	// SavedAt tells when run id was last saved, if the store knows.
	SavedAt(id string) (time.Time, bool)
}

// A Preparer is a Store that can do ahead of time the costly part of
// storing data that will soon be the start of a large file of a run, such
// as the head of an output log once it is full: the run's end, which the
// user waits for, then has less to do.
type Preparer interface {
	// Prepare starts the work for data, which the caller must not change
	// afterwards, and returns at once.
	Prepare(data []byte)
}

// ErrNotLive is returned by Attach for a run with no journal here: it
// ended, or it is recorded on another machine.
var ErrNotLive = errors.New("run is not live")

// DefaultCheckpoint is how often a live run is committed, at the most:
// see checkpointDue.
const DefaultCheckpoint = 30 * time.Second

// maxCheckpoint bounds how far checkpointDue spaces the commits of a run
// with the default interval.
const maxCheckpoint = 30 * time.Minute

// checkpointDue is how long after a commit of a live run the next one is
// due. An interval other than the default is kept as asked. With the
// default, a run whose commits are big is committed less often: each
// checkpoint writes the whole history and output log again, and the one
// it replaces stays in the repository as unreachable objects until git
// prunes them, two weeks later by default. A run with a million points
// and a full 10 MiB output log would leave about 2 GB of them an hour at
// 30 s; spaced by a minute per MiB of content, it leaves about 40 MiB.
func checkpointDue(interval time.Duration, size int64) time.Duration {
	if interval != DefaultCheckpoint {
		return interval
	}
	return min(max(interval, time.Duration(size)*time.Minute/(1<<20)), maxCheckpoint)
}

// commitSize estimates the bytes of history and output a commit of the
// run writes: a line of metrics.tsv takes about 32 bytes.
func (r *Run) commitSize() int64 {
	var n int64
	for _, m := range []map[string]*[]run.Point{r.st.series, r.st.parsed} {
		for _, pts := range m {
			n += 32 * int64(len(*pts))
		}
	}
	if r.st.output {
		prefix := outputPrefix(r.path)
		for _, ext := range []string{".head", ".tail0", ".tail1"} {
			if fi, err := os.Stat(prefix + ext); err == nil {
				n += fi.Size()
			}
		}
	}
	return n
}

// metricFlushDelay bounds how long logged metric points wait in memory
// before they reach the journal: the most a crash of this process loses.
const metricFlushDelay = 100 * time.Millisecond

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
}

// Run is a live run. Its methods are safe for concurrent use.
type Run struct {
	mu       sync.Mutex
	store    Store
	id       string
	path     string // journal
	f        *os.File
	st       *state
	off      int64        // journal bytes replayed into st
	buf      []byte       // metric lines not yet written
	pts      []keyedPoint // the points in buf
	timer    *time.Timer
	head     string // commit the run ref is at, as far as we know
	lastSave time.Time
	done     chan struct{} // closed when the run ends: stops the checkpointer
	closed   bool
}

func journalDir(s Store) string { return filepath.Join(s.PrivateDir(), "live") }

func journalPath(s Store, id string) string {
	return filepath.Join(journalDir(s), id+".journal")
}

// Start begins a new run: it captures the source, writes the journal's
// first entry and commits the run as running. The returned run checkpoints
// itself in the background until End.
func Start(s Store, o Options) (*Run, error) {
	params, err := run.FlattenParams(o.Params)
	if err != nil {
		return nil, err
	}
	for k, v := range o.Tags {
		if err := run.ValidateKey("tag", k); err != nil {
			return nil, err
		}
		if err := run.ValidateTagValue(k, v); err != nil {
			return nil, err
		}
	}
	for k := range params {
		if err := run.CheckParamShape(params, k); err != nil {
			return nil, err
		}
	}
	defaults, err := run.FlattenParams(o.DefaultParams)
	if err != nil {
		return nil, err
	}
	for k := range defaults {
		if _, set := params[k]; set {
			delete(defaults, k) // an explicit param wins
		}
	}
	// Variables that run.toml cannot hold are left out rather than
	// making every commit of the run fail.
	var env map[string]string
	for k, v := range o.Env {
		if k != "" && utf8.ValidString(k) && utf8.ValidString(v) {
			if env == nil {
				env = map[string]string{}
			}
			env[k] = v
		}
	}
	if o.RerunOf != "" && !run.ValidID(o.RerunOf) {
		return nil, fmt.Errorf("invalid run id %q to rerun", o.RerunOf)
	}
	exp := o.Experiment
	if exp == "" {
		exp = "default"
	}
	if err := run.ValidateKey("tag", exp); err != nil {
		return nil, err
	}
	name := o.Name
	if name == "" {
		name = run.NewName()
	}
	if err := validateName(name); err != nil {
		return nil, err
	}
	var src run.Source
	if o.Source != nil {
		src = *o.Source
	} else if src, err = s.CaptureSource(); err != nil {
		return nil, err
	}
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
	e := startEntry{
		ID:          id,
		Name:        name,
		Experiment:  exp,
		Started:     now.UnixMilli(),
		Command:     o.Command,
		Source:      src,
		Host:        ThisHost(),
		Owner:       Owner{PID: pid, Start: proc.StartTime(pid), Host: hostname()},
		Checkpoint:  cp.Milliseconds(),
		Env:         o.Env,
		RerunOf:     o.RerunOf,
		Output:      o.Output,
		OutputLimit: o.OutputLimit,
	}
	b := appendStart(nil, &e)
	for _, k := range slices.Sorted(maps.Keys(params)) {
		if b, err = appendParam(b, k, params[k], false); err != nil {
			return nil, fmt.Errorf("param %q: %w", k, err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(defaults)) {
		if run.CheckParamShape(params, k) != nil {
			continue // a default never blocks an explicit param
		}
		if b, err = appendParam(b, k, defaults[k], true); err != nil {
			return nil, fmt.Errorf("param %q: %w", k, err)
		}
	}
	for _, k := range slices.Sorted(maps.Keys(o.Tags)) {
		b = appendTag(b, k, o.Tags[k])
	}
	if err := os.MkdirAll(journalDir(s), 0o755); err != nil {
		return nil, fmt.Errorf("create journal directory: %w", err)
	}
	p := journalPath(s, e.ID)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("create journal: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		os.Remove(p)
		return nil, fmt.Errorf("write journal: %w", err)
	}
	r := &Run{store: s, id: e.ID, path: p, f: f, st: newState(), done: make(chan struct{})}
	if err := r.refresh(); err != nil {
		return nil, r.abandon(err)
	}
	if err := r.save(); err != nil {
		return nil, r.abandon(err)
	}
	if pid == os.Getpid() {
		go r.checkpointer(cp)
	}
	return r, nil
}

// abandon undoes a start that could not commit its first state.
func (r *Run) abandon(err error) error {
	r.f.Close()
	os.Remove(r.path)
	return err
}

// Attach opens a live run that another process started, to log into it.
// Close it when done. It fails with ErrNotLive when the run has no journal
// here (it ended, or it lives on another machine).
func Attach(s Store, id string) (*Run, error) {
	p := journalPath(s, id)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_APPEND, 0)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s", ErrNotLive, id)
	}
	if err != nil {
		return nil, fmt.Errorf("open journal: %w", err)
	}
	r := &Run{store: s, id: id, path: p, f: f, st: newState(), done: make(chan struct{})}
	if err := r.refresh(); err != nil {
		f.Close()
		return nil, err
	}
	if !r.st.started {
		f.Close()
		return nil, fmt.Errorf("read journal of %s: no start entry", id)
	}
	head, _, err := s.Load(id)
	if err != nil {
		f.Close()
		return nil, err
	}
	r.head = head
	return r, nil
}

// ID returns the run's id.
func (r *Run) ID() string { return r.id }

// Record returns the run's record as of everything logged so far, by any
// process.
func (r *Run) Record() (*run.Record, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.sync(); err != nil {
		return nil, err
	}
	return r.st.record(), nil
}

// LogParam sets a param. Params are write-once: setting a key again to
// the same value does nothing, to another value is an error.
func (r *Run) LogParam(key string, v any) error {
	return r.LogParams(map[string]any{key: v})
}

// LogParams sets several params at once; nested maps become dotted keys.
// Nothing is written if any of them is invalid or conflicts.
func (r *Run) LogParams(m map[string]any) error {
	flat, err := run.FlattenParams(m)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.live(); err != nil {
		return err
	}
	if err := r.sync(); err != nil {
		return err
	}
	var b []byte
	seen := make(map[string]any, len(r.st.rec.Params)+len(flat))
	for k, v := range r.st.rec.Params {
		seen[k] = v
	}
	for _, k := range slices.Sorted(maps.Keys(flat)) {
		v := flat[k]
		if old, ok := seen[k]; ok && !r.st.soft[k] {
			if !run.SameValue(old, v) {
				return fmt.Errorf("param %q is already %s; params are write-once", k, run.FormatValue(old))
			}
			continue
		}
		if _, ok := seen[k]; !ok {
			if err := run.CheckParamShape(seen, k); err != nil {
				return err
			}
		}
		seen[k] = v
		if b, err = appendParam(b, k, v, false); err != nil {
			return fmt.Errorf("param %q: %w", k, err)
		}
	}
	return r.write(b)
}

// NextStep, passed as a step, continues the key's steps: one more than
// the last step logged for it, or 0.
const NextStep int64 = math.MinInt64

// LogMetric records one point of a metric. The point reaches the journal
// within metricFlushDelay, or at once with Flush.
func (r *Run) LogMetric(key string, v float64, step int64) error {
	return r.LogMetricAt(key, v, step, time.Now())
}

// LogMetricAt is LogMetric with an explicit timestamp.
func (r *Run) LogMetricAt(key string, v float64, step int64, t time.Time) error {
	return r.logMetric(false, key, v, step, t)
}

// LogOutputMetricAt logs a point read from the command's output rather
// than logged by the program. Such points give way: for a key the
// program logs itself, by any means, the run keeps only what it logged,
// so a value both printed and logged is not recorded twice.
func (r *Run) LogOutputMetricAt(key string, v float64, step int64, t time.Time) error {
	return r.logMetric(true, key, v, step, t)
}

func (r *Run) logMetric(parsed bool, key string, v float64, step int64, t time.Time) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.live(); err != nil {
		return err
	}
	if _, known := r.st.next[key]; !known {
		if err := run.ValidateKey("metric", key); err != nil {
			return err
		}
	}
	if step == NextStep {
		step = r.st.next[key]
	}
	r.st.next[key] = step + 1
	ms := t.UnixMilli()
	r.buf = appendMetric(r.buf, parsed, key, step, ms, v)
	r.pts = append(r.pts, keyedPoint{key, run.Point{Step: step, Time: ms, Value: v}, parsed})
	if len(r.buf) >= 64<<10 {
		return r.flush()
	}
	if r.timer == nil {
		r.timer = time.AfterFunc(metricFlushDelay, func() {
			r.mu.Lock()
			defer r.mu.Unlock()
			r.timer = nil
			r.flush() // a failure here surfaces at the next write
		})
	}
	return nil
}

// SetTag sets a tag, replacing any earlier value. Tags can change after the
// run ended too: see SetTagOn.
func (r *Run) SetTag(key, v string) error {
	if err := run.ValidateKey("tag", key); err != nil {
		return err
	}
	if err := run.ValidateTagValue(key, v); err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.live(); err != nil {
		return err
	}
	return r.write(appendTag(nil, key, v))
}

// LogArtifact stores a file, or every file under a directory, under
// artifacts/ in the run, at dest (default: the base name of path).
func (r *Run) LogArtifact(src, dest string) error {
	if dest == "" {
		dest = filepath.Base(filepath.Clean(src))
	}
	dest, err := CleanArtifactPath(dest)
	if err != nil {
		return err
	}
	info, err := os.Stat(src)
	if err != nil {
		return fmt.Errorf("log artifact: %w", err)
	}
	var arts []run.Artifact
	add := func(file, d string, mode fs.FileMode) error {
		blob, err := r.store.StoreFile(file)
		if err != nil {
			return err
		}
		arts = append(arts, run.Artifact{Path: d, Blob: blob, Exec: mode&0o111 != 0})
		return nil
	}
	if info.IsDir() {
		err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if !d.Type().IsRegular() {
				return nil // directories are implied; links and devices are not stored
			}
			rel, err := filepath.Rel(src, p)
			if err != nil {
				return err
			}
			fi, err := d.Info()
			if err != nil {
				return err
			}
			return add(p, path.Join(dest, filepath.ToSlash(rel)), fi.Mode())
		})
	} else if info.Mode().IsRegular() {
		err = add(src, dest, info.Mode())
	} else {
		return fmt.Errorf("log artifact %s: not a regular file or directory", src)
	}
	if err != nil {
		return fmt.Errorf("log artifact: %w", err)
	}
	var b []byte
	for _, a := range arts {
		b = appendArtifact(b, a)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.live(); err != nil {
		return err
	}
	return r.write(b)
}

// CleanArtifactPath checks a destination path below artifacts/ and returns
// it in clean slash form. Paths that could escape the artifacts tree or
// reach into git's own files are refused.
func CleanArtifactPath(p string) (string, error) {
	q := filepath.ToSlash(p)
	if q == "" || strings.HasPrefix(q, "/") || strings.ContainsAny(q, "\x00\t\n\r\\") {
		return "", fmt.Errorf("invalid artifact path %q", p)
	}
	for _, seg := range strings.Split(q, "/") {
		if seg == "" || seg == "." {
			continue
		}
		if seg == ".." || strings.EqualFold(seg, ".git") {
			return "", fmt.Errorf("invalid artifact path %q: %q is not allowed", p, seg)
		}
	}
	c := path.Clean(q)
	if c == "." {
		return "", fmt.Errorf("invalid artifact path %q", p)
	}
	return c, nil
}

// Flush writes buffered metric points to the journal.
func (r *Run) Flush() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.flush()
}

// Checkpoint commits everything logged so far.
func (r *Run) Checkpoint() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.live(); err != nil {
		return err
	}
	return r.save()
}

// End finishes the run with status (Finished, Failed, Killed or Crashed)
// and commits its final state.
func (r *Run) End(status run.Status) error { return r.Finish(status, nil, "") }

// EndWithCode is End recording the exit code of the run's command.
func (r *Run) EndWithCode(status run.Status, code *int) error { return r.Finish(status, code, "") }

// SetHost records facts about the host learnt after the run started
// (GPUs, the Python version); zero fields of h are left as they were.
func (r *Run) SetHost(h run.Host) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.live(); err != nil {
		return err
	}
	return r.write(appendHost(nil, h))
}

// Finish ends the run with status, the exit code of its command (nil when
// none) and the name of the signal that ended the command ("" when none),
// and commits its final state.
func (r *Run) Finish(status run.Status, code *int, signal string) error {
	if !status.Valid() || status == run.Running {
		return fmt.Errorf("end run: invalid status %q (want finished, failed, killed or crashed)", status)
	}
	for _, c := range signal {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return fmt.Errorf("end run: invalid signal name %q", signal)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.live(); err != nil {
		return err
	}
	if err := r.write(appendEnd(nil, time.Now().UnixMilli(), status, code, signal)); err != nil {
		return err
	}
	if err := r.save(); err != nil {
		return err
	}
	r.close()
	// The commit holds everything now; the journal may go.
	return removeJournal(r.path, r.st.output)
}

// OutputPrefix names the files that keep the run's output while it lives.
func (r *Run) OutputPrefix() string { return outputPrefix(r.path) }

func outputPrefix(journal string) string {
	return strings.TrimSuffix(journal, ".journal") + ".output"
}

// removeJournal deletes a journal whose content is all committed, and the
// files of the output it kept, if it kept any.
func removeJournal(p string, output bool) error {
	if !output {
		// nothing to look for: most runs of the Go API keep no output
	} else if files, _ := filepath.Glob(outputPrefix(p) + ".*"); len(files) > 0 {
		for _, f := range files {
			os.Remove(f)
		}
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove journal: %w", err)
	}
	return nil
}

// Close lets go of an attached run without ending it, committing first if
// the last commit is older than the checkpoint interval.
func (r *Run) Close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	err := r.flush()
	if err == nil {
		err = r.saveIfDue()
	}
	r.close()
	return err
}

func (r *Run) close() {
	if r.closed {
		return
	}
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	close(r.done)
	r.f.Close()
}

func (r *Run) live() error {
	if r.closed || r.st.ended {
		return fmt.Errorf("run %s has ended", r.id)
	}
	return nil
}

// write flushes pending metric points, then appends b in one write so that
// the entries stay whole beside other writers.
func (r *Run) write(b []byte) error {
	if err := r.flush(); err != nil {
		return err
	}
	if len(b) == 0 {
		return nil
	}
	if _, err := r.f.Write(b); err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	if r.caughtUp(len(b)) {
		r.off += int64(r.st.replay(b))
	}
	return nil
}

func (r *Run) flush() error {
	if len(r.buf) == 0 || r.closed {
		return nil
	}
	_, err := r.f.Write(r.buf)
	if err == nil && r.caughtUp(len(r.buf)) {
		// Our own points need no parsing back from the journal.
		for _, p := range r.pts {
			r.st.addPoint(p.key, p.Point, p.parsed)
		}
		r.off += int64(len(r.buf))
	}
	r.buf, r.pts = r.buf[:0], r.pts[:0]
	if err != nil {
		return fmt.Errorf("write journal: %w", err)
	}
	return nil
}

// caughtUp reports whether the n bytes just appended to the journal follow
// directly what st has replayed, no other writer having appended in
// between: they may then be applied to st as they are, without reading
// them back. The journal is opened for appending, so the file offset after
// a write is the end of that write, wherever other processes appended.
func (r *Run) caughtUp(n int) bool {
	end, err := r.f.Seek(0, io.SeekCurrent)
	return err == nil && end-int64(n) == r.off
}

// keyedPoint is a metric point with its key.
type keyedPoint struct {
	key string
	run.Point
	parsed bool // read from output
}

// refresh replays what other writers (and we) appended since last time.
func (r *Run) refresh() error {
	data, err := io.ReadAll(io.NewSectionReader(r.f, r.off, math.MaxInt64-r.off))
	if err != nil {
		return fmt.Errorf("read journal: %w", err)
	}
	r.off += int64(r.st.replay(data))
	return nil
}

func (r *Run) sync() error {
	if err := r.flush(); err != nil {
		return err
	}
	return r.refresh()
}

// save commits the state the journal describes, retrying when another
// process moved the ref in between.
func (r *Run) save() error {
	if err := r.sync(); err != nil {
		return err
	}
	for try := 0; ; try++ {
		c, err := r.store.Save(r.st.contents(r.path), r.head)
		if err == nil {
			r.head = c
			r.lastSave = time.Now()
			return nil
		}
		if !errors.Is(err, run.ErrConflict) || try >= 8 {
			return err
		}
		// Another process committed this run; what it wrote came from the
		// same journal, so read on and commit again on top of it.
		head, _, lerr := r.store.Load(r.id)
		if lerr != nil && !errors.Is(lerr, run.ErrNotFound) {
			return lerr
		}
		r.head = head
		if err := r.refresh(); err != nil {
			return err
		}
	}
}

func (r *Run) saveIfDue() error {
	interval := r.st.checkpoint
	if interval <= 0 {
		interval = DefaultCheckpoint
	}
	interval = checkpointDue(interval, r.commitSize())
	last := r.lastSave
	if last.IsZero() {
		// An attached process asks when any process last saved the run.
		last, _ = r.store.SavedAt(r.id)
	}
	if !last.IsZero() && time.Since(last) < interval {
		return nil
	}
	return r.save()
}

func (r *Run) checkpointer(every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-t.C:
			r.mu.Lock()
			if !r.closed && time.Since(r.lastSave) >= checkpointDue(every, r.commitSize())-every/10 {
				r.save() // a failed checkpoint is retried at the next tick or at End
			}
			r.mu.Unlock()
		}
	}
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

func validateName(n string) error {
	if n == "" || len(n) > 250 || strings.IndexFunc(n, unicode.IsControl) >= 0 || strings.TrimSpace(n) != n || !utf8.ValidString(n) {
		return fmt.Errorf("invalid run name %q", n)
	}
	if n == "@" || strings.HasPrefix(n, "@~") {
		return fmt.Errorf("invalid run name %q: reserved", n)
	}
	return nil
}
