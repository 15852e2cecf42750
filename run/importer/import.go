package importer

import (
	"context"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/mlflowtags"
	"github.com/gitruns/gitruns/run/tracker"
)

// DefaultMaxArtifact is the largest artifact file an import copies by
// default; larger ones are listed by reference (TagNotCopied).
const DefaultMaxArtifact = 100 << 20

// Options says what Import does.
type Options struct {
	// IncludeDeleted imports the runs the source deleted too, as runs
	// put aside (run.DeletedTag), as git runs rm --soft would leave them.
	IncludeDeleted bool
	// IncludeRemoved imports again the runs imported before and then
	// removed here for good (git runs rm): without it they are left
	// out, as Removed.
	IncludeRemoved bool
	// Experiments, when not empty, imports only the runs of these
	// experiments, each named by name or by the source's id.
	Experiments []string
	// DryRun reads the source and says what an import would do, and
	// writes nothing.
	DryRun bool
	// MaxArtifact bounds the artifact files copied, in bytes; zero means
	// DefaultMaxArtifact.
	MaxArtifact int64
	// Jobs is how many runs are read and written at once; zero means
	// one per core.
	Jobs int
	// Progress, when set, is told how many of the runs to look at are
	// done, as they are; calls do not overlap.
	Progress func(done, total int)
	// Warn, when set, is told of each problem as it is found; calls do
	// not overlap. Every problem is in the Result too.
	Warn func(Problem)
}

// Action is what an import did with one run of the source.
type Action string

// The actions of an import.
const (
	// New: the run was imported (or would be, in a dry run).
	New Action = "new"
	// Updated: the run had been imported, and what the source gained
	// since (metric points, tags, artifacts) was added to it.
	Updated Action = "updated"
	// Unchanged: the run had been imported and the source holds nothing
	// more.
	Unchanged Action = "unchanged"
	// Running: the run has not ended at the source; an import after its
	// end brings it.
	Running Action = "running"
	// Failed: the run could not be read or written; its Problem says why.
	Failed Action = "failed"
	// Removed: the run was imported before and removed here since (git
	// runs rm, or a fetched removal); Options.IncludeRemoved imports it
	// again.
	Removed Action = "skipped: deleted here"
)

// Item is what became of one run of the source.
type Item struct {
	Source     string // the source's id of the run
	ID         string // the git-runs id; "" when none
	Name       string
	Experiment string
	Action     Action
	Points     int // metric points imported, or added to an updated run
	Params     int // params imported
	Tags       int // tags imported, or set on an updated run
	Artifacts  int // artifact files copied
	NotCopied  int // artifact files over the limit, listed by reference
}

// Result is what an import did.
type Result struct {
	Items []Item // in the source's order
	// Deleted counts the runs deleted at the source and left out
	// (Options.IncludeDeleted imports them); Filtered those outside the
	// experiments asked for.
	Deleted, Filtered int
	// Experiments names the experiments created (or, in a dry run, to
	// be created) with their source's tags.
	Experiments []string
	// Problems are the parts of the source that could not be read or
	// imported, each naming a file or a run; what they did not touch was
	// imported.
	Problems []Problem
}

// Count returns how many runs had action a.
func (r *Result) Count(a Action) int {
	n := 0
	for _, it := range r.Items {
		if it.Action == a {
			n++
		}
	}
	return n
}

// Import brings the runs of src into t's store, which must be Removals:
// each run the store does not have yet (by its source id, kept as tag
// src.IDTag()), and did not have and remove since, as a run
// that has ended, with its original times, experiment, name, params,
// tags, full metric histories and artifacts; and to a run imported
// before, what the source gained since, as an addition to the ended run
// (Store.Extend): metric points not imported yet, tags set or changed,
// artifacts not there yet. Params are write-once, and tags removed at
// the source stay. Runs still running at the source are left for a later
// import. A problem with one file or run is reported and the rest
// imported; an error means the import could not go on.
func Import(ctx context.Context, t *tracker.Tracker, src Source, o Options) (*Result, error) {
	if o.MaxArtifact <= 0 {
		o.MaxArtifact = DefaultMaxArtifact
	}
	if o.Jobs <= 0 {
		o.Jobs = 4 * runtime.GOMAXPROCS(0)
	}
	im := &importer{t: t, src: src, o: o, res: &Result{}, now: time.Now().UTC().Truncate(time.Millisecond)}
	refs, probs, err := src.Runs(ctx)
	if err != nil {
		return nil, err
	}
	for _, p := range probs {
		if p.Experiment == "" || im.wanted(p.Experiment, "") {
			im.problem(p)
		}
	}
	existing, err := im.existing(ctx)
	if err != nil {
		return nil, err
	}
	refs = im.choose(refs)
	ids, err := im.ids(refs, existing)
	if err != nil {
		return nil, err
	}
	im.m = mapping{ids: ids, idTag: src.IDTag(), hasCommit: t.HasCommit}
	if err := im.experiments(ctx, refs); err != nil {
		return nil, err
	}
	im.res.Items = make([]Item, len(refs))
	im.run(ctx, refs, existing)
	if !o.DryRun {
		t.NoteChange()
	}
	return im.res, ctx.Err()
}

// existing returns the runs of the store imported from src before, by
// their source ids.
func (im *importer) existing(ctx context.Context) (map[string]tracker.Run, error) {
	rs, err := im.t.Runs(ctx)
	if err != nil {
		return nil, err
	}
	tag := im.src.IDTag()
	existing := map[string]tracker.Run{}
	for _, r := range rs.All {
		if id := r.Record.Tags[tag]; id != "" {
			existing[id] = r
		}
	}
	return existing, nil
}

// ids returns the git-runs id of each run of refs: a run imported before
// keeps its id; a new one gets runID's, unless the store removed a run
// of that id, which is left out (no id) unless o.IncludeRemoved, and
// then gets a new id, the old one being taken by its tombstone.
func (im *importer) ids(refs []Ref, existing map[string]tracker.Run) (map[string]string, error) {
	rm, ok := im.t.Store().(Removals)
	if !ok {
		return nil, errors.New("import: the store cannot tell which runs were removed from it")
	}
	removed, err := rm.Removed()
	if err != nil {
		return nil, err
	}
	gone := make(map[string]bool, len(removed))
	for _, id := range removed {
		gone[idSeed(id)] = true
	}
	tag := im.src.IDTag()
	ids := make(map[string]string, len(refs))
	for _, ref := range refs {
		id := runID(tag, ref.ID, ref.Start)
		switch r, had := existing[ref.ID]; {
		case had:
			ids[ref.ID] = r.ID
		case !gone[idSeed(id)]:
			ids[ref.ID] = id
		case im.o.IncludeRemoved:
			ids[ref.ID] = run.NewIDAt(ref.Start)
		}
	}
	return ids, nil
}

// importer is one import under way.
type importer struct {
	t   *tracker.Tracker
	src Source
	o   Options
	m   mapping
	now time.Time

	mu   sync.Mutex // guards res, done and the callbacks
	res  *Result
	done int
}

// experiments creates the experiments of refs, with their source's tags,
// that the repository does not have yet, when the source lists them.
func (im *importer) experiments(ctx context.Context, refs []Ref) error {
	l, ok := im.src.(ExperimentLister)
	if !ok {
		return nil
	}
	exps, err := l.Experiments(ctx)
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for _, ref := range refs {
		used[ref.ExperimentID] = true
	}
	for _, e := range exps {
		name := experimentName(Ref{Experiment: e.Name, ExperimentID: e.ID})
		if !used[e.ID] || name == run.DefaultRecordExperiment {
			continue
		}
		if _, err := im.t.ExperimentByName(ctx, name); err == nil {
			continue
		} else if !errors.Is(err, run.ErrNotFound) {
			return err
		}
		im.res.Experiments = append(im.res.Experiments, name)
		if im.o.DryRun {
			continue
		}
		tags := map[string]string{}
		for k, v := range e.Tags {
			if run.ValidateKey("tag", k) == nil && run.ValidateTagValue(k, v) == nil {
				tags[k] = v
			}
		}
		if _, err := im.t.CreateExperiment(ctx, name, tags); err != nil && !errors.Is(err, run.ErrExists) {
			im.problem(Problem{Where: "experiment " + e.ID, Err: err, Experiment: e.ID})
		}
	}
	return nil
}

// choose keeps the runs of refs to look at: ended or running, not
// deleted unless asked for, in the experiments asked for.
func (im *importer) choose(refs []Ref) []Ref {
	var out []Ref
	for _, ref := range refs {
		switch {
		case ref.Deleted && !im.o.IncludeDeleted:
			im.res.Deleted++
		case !im.wanted(ref.ExperimentID, ref.Experiment):
			im.res.Filtered++
		default:
			out = append(out, ref)
		}
	}
	return out
}

// run imports refs on o.Jobs goroutines.
func (im *importer) run(ctx context.Context, refs []Ref, existing map[string]tracker.Run) {
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(im.o.Jobs, max(len(refs), 1)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				it := im.one(ctx, refs[i], existing)
				im.mu.Lock()
				im.res.Items[i] = it
				im.done++
				if im.o.Progress != nil {
					im.o.Progress(im.done, len(refs))
				}
				im.mu.Unlock()
			}
		}()
	}
	for i := range refs {
		if ctx.Err() != nil {
			break
		}
		next <- i
	}
	close(next)
	wg.Wait()
}

// wanted tells whether the experiment of source id id and name name is
// one asked for.
func (im *importer) wanted(id, name string) bool {
	return len(im.o.Experiments) == 0 || slices.Contains(im.o.Experiments, id) || name != "" && slices.Contains(im.o.Experiments, name)
}

func (im *importer) problem(p Problem) {
	im.mu.Lock()
	defer im.mu.Unlock()
	im.res.Problems = append(im.res.Problems, p)
	if im.o.Warn != nil {
		im.o.Warn(p)
	}
}

// one imports the run ref names.
func (im *importer) one(ctx context.Context, ref Ref, existing map[string]tracker.Run) Item {
	it := Item{Source: ref.ID, ID: im.m.ids[ref.ID], Name: ref.Name, Experiment: experimentName(ref)}
	old, had := existing[ref.ID]
	if had {
		it.Name, it.Experiment = old.Record.Name, old.Record.Experiment
	}
	if it.ID == "" {
		it.Action = Removed
		return it
	}
	if ref.Status == run.Running || !ref.Status.Valid() {
		it.Action = Running
		return it
	}
	r, err := im.src.Load(ctx, ref)
	if err != nil {
		im.problem(asProblem(ref, err))
		it.Action = Failed
		return it
	}
	if rl, ok := im.src.(Releaser); ok {
		defer rl.Release(r)
	}
	c := convert(r, it.ID, im.m, im.o.MaxArtifact, im.now)
	for _, p := range c.problems {
		im.problem(p)
	}
	if had {
		err = im.update(ctx, old, c, &it)
	} else {
		it.Name = c.rec.Name
		err = im.create(c, &it)
	}
	if err != nil {
		im.problem(Problem{Where: ref.Where, Err: err, Experiment: ref.ExperimentID})
		it.Action = Failed
	}
	return it
}

func asProblem(ref Ref, err error) Problem {
	if p, ok := err.(Problem); ok {
		return p
	}
	return Problem{Where: ref.Where, Err: err, Experiment: ref.ExperimentID}
}

// create writes c as a new run.
func (im *importer) create(c *converted, it *Item) error {
	it.Action = New
	it.Points, it.Params, it.Tags = c.points, len(c.rec.Params), len(c.rec.Tags)
	it.Artifacts, it.NotCopied = len(c.artifacts), len(c.notCopied)
	if im.o.DryRun {
		return nil
	}
	s := im.t.Store()
	arts, err := storeArtifacts(s, c.artifacts)
	if err != nil {
		return err
	}
	cs := &run.Contents{Record: c.rec, History: c.history, Artifacts: arts}
	if c.output != "" {
		out, err := readOutput(c.output)
		if err != nil {
			return err
		}
		cs.Output = func() ([]byte, error) { return out, nil }
	}
	_, err = s.Save(cs, "")
	if err != nil {
		return fmt.Errorf("write run %s: %w", c.rec.ID, err)
	}
	return nil
}

// storeArtifacts copies arts into the store.
func storeArtifacts(s tracker.Store, arts []Artifact) ([]run.Artifact, error) {
	out := make([]run.Artifact, 0, len(arts))
	for _, a := range arts {
		blob, err := s.StoreFile(a.File)
		if err != nil {
			return nil, fmt.Errorf("store artifact %s: %w", a.Path, err)
		}
		out = append(out, run.Artifact{Path: a.Path, Blob: blob})
	}
	return out, nil
}

// update adds to old, a run imported before, what c holds and it does
// not: metric points, tags set or changed, artifacts.
func (im *importer) update(ctx context.Context, old tracker.Run, c *converted, it *Item) error {
	d := delta{points: map[string][]run.Point{}, tags: map[string]string{}}
	// MLflow only appends points: a metric whose summary (count, last
	// point, min, max) is the stored one holds nothing new, which the
	// record tells without reading the history.
	changed := run.History{}
	for k, pts := range c.history {
		if !sameSummary(old.Record.Metrics[k], c.rec.Metrics[k]) {
			changed[k] = pts
		}
	}
	if len(changed) > 0 {
		hist, err := im.t.History(ctx, old)
		if err != nil {
			return err
		}
		d.points, d.source = newPoints(hist, changed), changed
	}
	have, err := im.t.Artifacts(ctx, old)
	if err != nil {
		return err
	}
	for k, v := range c.rec.Tags {
		if k == run.DeletedTag {
			continue // put aside here or not, as the user decides here
		}
		if cur, ok := old.Record.Tags[k]; !ok || cur != v {
			d.tags[k] = v
		}
	}
	if _, ok := d.tags[mlflowtags.Parent]; ok {
		if _, was := old.Record.Tags[TagParentElsewhere]; was {
			d.drop = append(d.drop, TagParentElsewhere)
		}
	}
	paths := map[string]bool{}
	for _, a := range have {
		paths[a.Path] = true
	}
	for _, a := range c.artifacts {
		if !paths[a.Path] {
			d.arts = append(d.arts, a)
		}
	}
	for _, pts := range d.points {
		it.Points += len(pts)
	}
	it.Tags, it.Artifacts = len(d.tags), len(d.arts)
	if it.Points == 0 && len(d.tags) == 0 && len(d.arts) == 0 {
		it.Action = Unchanged
		return nil
	}
	it.Action = Updated
	if im.o.DryRun {
		return nil
	}
	return im.apply(ctx, old.ID, d)
}

// delta is what a source run gained since it was imported.
type delta struct {
	points map[string][]run.Point // what the source has beyond the run
	source run.History            // the source's histories of the metrics that changed
	tags   map[string]string
	drop   []string // tags to remove
	arts   []Artifact
}

// apply writes d onto run id: as an addition to the ended run when it
// brings points or artifacts, by amending its record when only tags.
func (im *importer) apply(ctx context.Context, id string, d delta) error {
	s := im.t.Store()
	editTags := func(rec *run.Record) {
		if rec.TagTimes == nil {
			rec.TagTimes = map[string]time.Time{}
		}
		for k, v := range d.tags {
			rec.Tags[k] = v
			rec.TagTimes[k] = im.now
		}
		for _, k := range d.drop {
			delete(rec.Tags, k)
			rec.TagTimes[k] = im.now
		}
	}
	if len(d.points) == 0 && len(d.arts) == 0 {
		return s.Amend(id, func(rec *run.Record) error { editTags(rec); return nil })
	}
	arts, err := storeArtifacts(s, d.arts)
	if err != nil {
		return err
	}
	_, err = s.Extend(ctx, id, func(c *run.Contents) error {
		rec := c.Record
		editTags(rec)
		if c.History == nil {
			c.History = run.History{}
		}
		if rec.Metrics == nil {
			rec.Metrics = map[string]run.Summary{}
		}
		// Against the run as it is now: another import may have added
		// some of the points meanwhile.
		for k, pts := range newPoints(c.History, d.source) {
			c.History[k] = append(c.History[k], pts...)
			rec.Metrics[k] = run.Summarize(c.History[k])
		}
		have := map[string]bool{}
		for _, a := range c.Artifacts {
			have[a.Path] = true
		}
		for _, a := range arts {
			if !have[a.Path] {
				c.Artifacts = append(c.Artifacts, a)
			}
		}
		rec.Updated = time.Now().UTC().Truncate(time.Millisecond)
		return nil
	})
	return err
}

// sameSummary tells whether a and b summarise the same points, as far as
// summaries tell.
func sameSummary(a, b run.Summary) bool {
	same := func(x, y float64) bool { return x == y && math.Signbit(x) == math.Signbit(y) || x != x && y != y }
	return a.Count == b.Count && a.Step == b.Step && a.Time == b.Time && same(a.Last, b.Last) && same(a.Min, b.Min) && same(a.Max, b.Max)
}

// pointKey tells points apart, NaN from NaN too.
type pointKey struct {
	step, time int64
	bits       uint64
}

// newPoints returns the points of src that h lacks, by key, counting
// repeated points: a point logged twice at the source and imported once
// is new once.
func newPoints(h run.History, src run.History) map[string][]run.Point {
	out := map[string][]run.Point{}
	for k, pts := range src {
		have := h[k]
		if len(have) >= len(pts) && samePrefix(have, pts) {
			continue
		}
		count := make(map[pointKey]int, len(have))
		for _, p := range have {
			count[keyOf(p)]++
		}
		var add []run.Point
		for _, p := range pts {
			if kp := keyOf(p); count[kp] > 0 {
				count[kp]--
			} else {
				add = append(add, p)
			}
		}
		if len(add) > 0 {
			out[k] = add
		}
	}
	return out
}

func keyOf(p run.Point) pointKey {
	bits := math.Float64bits(p.Value)
	if p.Value != p.Value {
		bits = math.Float64bits(math.NaN()) // one NaN, whatever its payload
	}
	return pointKey{p.Step, p.Time, bits}
}

// samePrefix tells whether the first len(b) points of a are b's: the
// common case of nothing new, checked without a map.
func samePrefix(a, b []run.Point) bool {
	for i := range b {
		if keyOf(a[i]) != keyOf(b[i]) {
			return false
		}
	}
	return true
}

// Summary says in a few words what r did, such as "3 new runs, 1
// updated, 12 unchanged".
func (r *Result) Summary(dry bool) string {
	verb := map[bool]string{false: "imported", true: "would import"}[dry]
	parts := []string{fmt.Sprintf("%s %d new %s", verb, r.Count(New), plural(r.Count(New), "run"))}
	if n := r.Count(Updated); n > 0 {
		parts = append(parts, fmt.Sprintf("%d updated", n))
	}
	if n := len(r.Experiments); n > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", n, plural(n, "new experiment")))
	}
	if n := r.Count(Unchanged); n > 0 {
		parts = append(parts, fmt.Sprintf("%d unchanged", n))
	}
	if n := r.Count(Running); n > 0 {
		parts = append(parts, fmt.Sprintf("%d still running left for later", n))
	}
	if r.Deleted > 0 {
		parts = append(parts, fmt.Sprintf("%d deleted left out", r.Deleted))
	}
	if n := r.Count(Removed); n > 0 {
		parts = append(parts, fmt.Sprintf("%d skipped: deleted here", n))
	}
	if n := r.Count(Failed); n > 0 {
		parts = append(parts, fmt.Sprintf("%d failed", n))
	}
	if n := len(r.Problems); n > 0 {
		parts = append(parts, fmt.Sprintf("%d %s", n, plural(n, "problem")))
	}
	return strings.Join(parts, ", ")
}

func plural(n int, s string) string {
	if n == 1 {
		return s
	}
	return s + "s"
}
