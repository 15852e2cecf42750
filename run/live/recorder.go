// Package live records runs while they run: the journal every process
// logging into a run appends to, the Run that writes it and commits its
// state to a Store, checkpoints, and the recovery of runs whose owning
// process died.
//
// A live run is a journal file in the Recorder's directory. Each commit of
// the run is built by replaying the journal, never from one process's
// memory, so several processes (git runs exec, git runs metric in the
// command, the Python package) log into one run without losing each
// other's points, and whoever commits last commits everything.
package live

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/outlog"
)

// ErrNotLive is returned by Attach for a run with no journal here: it
// ended, or it is recorded on another machine.
var ErrNotLive = errors.New("run is not live")

// NextStep, passed as a step, continues the key's steps: one more than
// the last step logged for it, or 0.
const NextStep int64 = math.MinInt64

// maxStep is the last step there is.
const maxStep int64 = math.MaxInt64

// metricFlushDelay bounds how long logged metric points wait in memory
// before they reach the journal: the most a crash of this process loses.
const metricFlushDelay = 100 * time.Millisecond

// flushSize is how many bytes of metric lines are written at once.
const flushSize = 64 << 10

// Run is a live run. Its methods are safe for concurrent use. Logging
// never waits for a commit: commits are written without the lock that
// logging takes.
type Run struct {
	rc   Recorder
	id   string
	path string // journal
	f    *os.File

	saveMu sync.Mutex // serialises commits; taken before mu, never while holding it

	mu       sync.Mutex
	st       *state
	off      int64        // journal bytes replayed into st
	buf      []byte       // metric lines not yet written
	pts      []keyedPoint // the points in buf, unless ptsShort
	ptsShort bool         // a failed write left lines in buf that pts lacks
	timer    *time.Timer
	err      error  // a background write that failed, for the next call to report
	head     string // commit the run is at, as far as we know; "" before the first
	lastSave time.Time
	deleted  error         // set once the run was found deleted
	private  bool          // see Private
	done     chan struct{} // closed when the run ends: stops the checkpointer
	closed   bool
}

// keyedPoint is a metric point with its key.
type keyedPoint struct {
	key string
	run.Point
	parsed bool // read from output
}

func newRun(rc Recorder, id, path string, f *os.File) *Run {
	return &Run{rc: rc, id: id, path: path, f: f, st: newState(), done: make(chan struct{})}
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
// Secrets in values are redacted, as RedactParam does.
// Nothing is written if any of them is invalid or conflicts.
func (r *Run) LogParams(m map[string]any) error {
	flat, err := recordableParams(m, r.private)
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
	seen := maps.Clone(r.st.rec.Params)
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

// RecordableParams returns params as a run of store s records them:
// flattened to dotted keys, secrets redacted, and in a private run (see
// Private) absolute paths made relative. A run that has ended compares
// params given again with its own in this form.
func RecordableParams(s Store, m map[string]any) (map[string]any, error) {
	return recordableParams(m, Private(s))
}

func recordableParams(m map[string]any, private bool) (map[string]any, error) {
	flat, err := run.FlattenParams(m)
	if err != nil {
		return nil, err
	}
	flat = redactParams(flat)
	if private {
		cwd, _ := os.Getwd()
		for k, v := range flat {
			flat[k] = privateParam(v, cwd)
		}
	}
	return flat, nil
}

// LogMetric records one point of a metric. The point reaches the journal
// within metricFlushDelay, or at once with Flush. A step of NextStep
// continues the key's steps.
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
	if err := r.pending(); err != nil {
		return err
	}
	next := r.st.nextLogged
	if parsed {
		next = r.st.nextParsed
	}
	n, known := next[key]
	if !known {
		if err := run.ValidateKey("metric", key); err != nil {
			return err
		}
	}
	if step == NextStep {
		if n == NextStep {
			return fmt.Errorf("metric %q: no step after %d", key, maxStep)
		}
		step = n
	}
	if step == maxStep {
		next[key] = NextStep
	} else {
		next[key] = step + 1
	}
	ms := t.UnixMilli()
	r.buf = appendMetric(r.buf, parsed, key, step, ms, v)
	r.pts = append(r.pts, keyedPoint{key, run.Point{Step: step, Time: ms, Value: v}, parsed})
	if len(r.buf) >= flushSize {
		return r.flush()
	}
	if r.timer == nil {
		r.timer = time.AfterFunc(metricFlushDelay, r.backgroundFlush)
	}
	return nil
}

// backgroundFlush writes the points logged in the last metricFlushDelay.
// A failure keeps them, to be written again, and is reported by the next
// call that logs or ends the run.
func (r *Run) backgroundFlush() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timer = nil
	if err := r.flush(); err != nil && r.err == nil {
		r.err = err
	}
}

// pending reports a background write that failed, after trying it again.
func (r *Run) pending() error {
	if r.err == nil {
		return nil
	}
	if err := r.flush(); err != nil {
		return fmt.Errorf("points logged earlier are not written yet: %w", err)
	}
	r.err = nil
	return nil
}

// SetTag sets a tag, replacing any earlier value. Secrets in the value
// are redacted, as RedactTag does.
func (r *Run) SetTag(key, v string) error {
	v = RedactTag(key, v)
	if err := run.ValidateKey("tag", key); err != nil {
		return err
	}
	if err := run.ValidateTagValue(key, v); err != nil {
		return err
	}
	return r.editTag(key, &v)
}

// RemoveTag removes the tag key, as an edit that merges by its time with
// edits made elsewhere.
func (r *Run) RemoveTag(key string) error {
	if err := run.ValidateKey("tag", key); err != nil {
		return err
	}
	return r.editTag(key, nil)
}

func (r *Run) editTag(key string, v *string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.live(); err != nil {
		return err
	}
	return r.write(appendTagEdit(nil, key, v, time.Now().UnixMilli()))
}

// LogArtifact stores a file, or every file under a directory, under
// artifacts/ in the run, at dest (default: the base name of path).
func (r *Run) LogArtifact(src, dest string) error {
	if dest == "" {
		dest = filepath.Base(filepath.Clean(src))
	}
	dest, err := run.CleanArtifactPath(dest)
	if err != nil {
		return err
	}
	arts, err := StoreFiles(r.rc.Store, src, dest)
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

// Rename gives the run a new name.
func (r *Run) Rename(name string) error {
	if err := run.ValidateName(name); err != nil {
		return err
	}
	j, _ := json.Marshal(name)
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.live(); err != nil {
		return err
	}
	return r.write(append(append([]byte("N\t"), j...), '\n'))
}

// RemoveArtifact removes the artifact at dest, or every artifact below the
// directory dest, from the run.
func (r *Run) RemoveArtifact(dest string) error {
	dest, err := run.CleanArtifactPath(dest)
	if err != nil {
		return err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.live(); err != nil {
		return err
	}
	return r.write([]byte("A\t" + dest + "\t-\t-\n"))
}

// Artifacts returns the files stored with the run so far, by any
// process, in no set order.
func (r *Run) Artifacts() ([]run.Artifact, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.sync(); err != nil {
		return nil, err
	}
	return r.st.artifacts(), nil
}

// History returns every metric's points so far, logged by any process.
// The slices are shared with the run and must not be changed.
func (r *Run) History() (run.History, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.sync(); err != nil {
		return nil, err
	}
	return r.st.history(), nil
}

// StoreFiles stores the file src, or the regular files below the
// directory src, in s, and returns them as artifacts at dest, a clean
// artifact path (run.CleanArtifactPath). Links and devices are left out.
func StoreFiles(s Store, src, dest string) ([]run.Artifact, error) {
	info, err := os.Stat(src)
	if err != nil {
		return nil, err
	}
	var arts []run.Artifact
	add := func(file, d string, mode fs.FileMode) error {
		blob, err := s.StoreFile(file)
		if err != nil {
			return err
		}
		arts = append(arts, run.Artifact{Path: d, Blob: blob, Exec: mode&0o111 != 0})
		return nil
	}
	switch {
	case info.Mode().IsRegular():
		return arts, add(src, dest, info.Mode())
	case !info.IsDir():
		return nil, fmt.Errorf("%s: not a regular file or directory", src)
	}
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err // directories are implied; links and devices are not stored
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
	return arts, err
}

// SetHost records facts about the host learnt after the run started
// (GPUs, the Python version); zero fields of h are left as they were.
// Secrets in the package list are redacted, and a private run (see
// Private) records no host name, user name or interpreter path.
func (r *Run) SetHost(h run.Host) error {
	if r.private {
		h = privateHost(h)
	}
	if h.PythonPackages != nil {
		// pip lists a package installed from a URL with the URL, which
		// may carry a token (pkg @ git+https://user:TOKEN@host/...).
		pkgs := make([]string, len(h.PythonPackages))
		for i, p := range h.PythonPackages {
			pkgs[i] = envRedactor().Redact(p)
		}
		h.PythonPackages = pkgs
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.live(); err != nil {
		return err
	}
	return r.write(appendHost(nil, h))
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
	err := r.live()
	r.mu.Unlock()
	if err != nil {
		return err
	}
	return r.save(false)
}

// End finishes the run with status (Finished, Failed, Killed or Crashed)
// and commits its final state.
func (r *Run) End(status run.Status) error { return r.Finish(status, nil, "") }

// EndWithCode is End recording the exit code of the run's command.
func (r *Run) EndWithCode(status run.Status, code *int) error { return r.Finish(status, code, "") }

// Finish ends the run with status, the exit code of its command (nil when
// none) and the name of the signal that ended the command ("" when none),
// and commits its final state. When that commit fails, the journal stays,
// end entry included: the next git-runs command on this machine commits
// it, with this status, once this process has exited.
func (r *Run) Finish(status run.Status, code *int, signal string) error {
	return r.finish(status, code, signal, time.Now())
}

// EndAt is End with the time the run ended, as its client says: a client
// over the network reports when it ended, a moment before its call
// arrives. A time before the run's start, or in the future, is taken as
// now.
func (r *Run) EndAt(status run.Status, end time.Time) error {
	if end.IsZero() || end.After(time.Now()) {
		end = time.Now()
	}
	return r.finish(status, nil, "", end)
}

func (r *Run) finish(status run.Status, code *int, signal string, end time.Time) error {
	if !status.Valid() || status == run.Running {
		return fmt.Errorf("end run: invalid status %q (want finished, failed, killed or crashed)", status)
	}
	for _, c := range signal {
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9') {
			return fmt.Errorf("end run: invalid signal name %q", signal)
		}
	}
	r.mu.Lock()
	err := r.live()
	if err == nil {
		if started := r.st.rec.Started; end.Before(started) {
			end = started
		}
		err = r.write(appendEnd(nil, end.UnixMilli(), status, code, signal))
	}
	r.mu.Unlock()
	if err != nil {
		return err
	}
	if err := r.save(true); err != nil {
		if errors.Is(err, run.ErrNotFound) {
			return err // deleted: nothing is kept
		}
		return fmt.Errorf("commit the end of run %s: %w (its journal is kept: the next git-runs command here commits it)", r.id, err)
	}
	r.mu.Lock()
	r.close()
	output := r.st.output
	r.mu.Unlock()
	// The commit holds everything now; the journal may go.
	return removeJournal(r.path, output)
}

// OutputPrefix names the files that keep the run's output while it lives.
func (r *Run) OutputPrefix() string { return outputPrefix(r.path) }

func outputPrefix(journal string) string {
	return strings.TrimSuffix(journal, ".journal") + ".output"
}

// Close lets go of an attached run without ending it, committing first if
// the last commit is older than the checkpoint interval.
func (r *Run) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	err := r.flush()
	r.mu.Unlock()
	if err == nil {
		err = r.saveIfDue()
	}
	r.mu.Lock()
	r.close()
	r.mu.Unlock()
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
	switch {
	case r.deleted != nil:
		return r.deleted
	case r.closed || r.st.ended:
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

// flush writes the buffered metric lines. When the write fails, the lines
// stay buffered from the first one not wholly written, to be written
// again: a line cut short in the journal is then followed by its whole
// copy, which replay finds.
func (r *Run) flush() error {
	if len(r.buf) == 0 || r.closed {
		return nil
	}
	n, err := r.f.Write(r.buf)
	if err != nil {
		keep := 0
		if n > 0 {
			keep = strings.LastIndexByte(string(r.buf[:n]), '\n') + 1
		}
		r.buf = r.buf[:copy(r.buf, r.buf[keep:])]
		r.pts, r.ptsShort = r.pts[:0], true // read back from the journal instead, once written
		return fmt.Errorf("write journal: %w", err)
	}
	if !r.ptsShort && r.caughtUp(len(r.buf)) {
		// Our own points need no parsing back from the journal.
		for _, p := range r.pts {
			r.st.addPoint(p.key, p.Point, p.parsed)
		}
		r.off += int64(len(r.buf))
	}
	r.buf, r.pts, r.ptsShort = r.buf[:0], r.pts[:0], false
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

// removeJournal deletes a journal whose content is all committed, and the
// files of the output it kept, if it kept any.
func removeJournal(p string, output bool) error {
	if output {
		if err := outlog.Remove(outputPrefix(p)); err != nil {
			return err
		}
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove journal: %w", err)
	}
	return nil
}
