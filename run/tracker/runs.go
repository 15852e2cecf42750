package tracker

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/query"
)

// Run is one run as the tracker shows it: as committed or, for a run being
// recorded on this machine, as its journal has it now, which may be ahead
// of its last commit (big runs are committed minutes apart).
type Run struct {
	ID     string
	Commit string // the run commit; "" for a live run not committed yet
	Record *run.Record
	// Live tells that the run is being recorded on this machine by a
	// process that still runs.
	Live bool
	// FetchedFrom names the remote the run was fetched from while nobody
	// has looked at it here; "" otherwise.
	FetchedFrom string
	// CameFrom names the remote the run was first fetched from, looked at
	// since or not; "" for a run recorded here.
	CameFrom string
	// StaleFor is, for a run shown as run.Stale, how long ago it was last
	// committed.
	StaleFor time.Duration
	// Err tells why the record could not be read, for a run of
	// Runs.Unreadable; Record is nil then.
	Err error

	history run.History // the journal's, for a live run
}

// Runs is every run of a store at one moment, newest first.
type Runs struct {
	All []Run
	// Unreadable holds the runs whose records could not be read (each has
	// Err set and no Record), newest first: they are left out of All, and
	// only SelectToDelete finds them, so that they can be removed.
	Unreadable []Run

	// The indexes below are made on first use, once: a Runs may be shared
	// by the goroutines of a server (RecentRuns).
	lazy   sync.Mutex
	abbrev map[string]string
	byID   map[string]int // index in All, for Parent
	// expOf names the experiment id of a record, for Query.Experiments;
	// made on first use by newExpOf, set by Tracker.Runs: most listings
	// never ask, and need not read the experiments.
	expOf    func(*run.Record) string
	newExpOf func() func(*run.Record) string
	// expires is when this listing stops telling the truth with no change
	// in the store: the first moment a running run recorded elsewhere
	// turns stale, or shortly when a run is being recorded by another
	// process here, which may die without a trace on disk. Zero: never.
	expires time.Time
}

// expireBy brings rs.expires forward to at.
func (rs *Runs) expireBy(at time.Time) {
	if rs.expires.IsZero() || at.Before(rs.expires) {
		rs.expires = at
	}
}

// inExperiments keeps the runs of the experiments ids.
func (rs *Runs) inExperiments(all []Run, ids []string) []Run {
	rs.lazy.Lock()
	if rs.expOf == nil && rs.newExpOf != nil {
		rs.expOf, rs.newExpOf = rs.newExpOf(), nil
	}
	expOf := rs.expOf
	rs.lazy.Unlock()
	if expOf == nil {
		return all
	}
	out := all[:0:0]
	for _, r := range all {
		if slices.Contains(ids, expOf(r.Record)) {
			out = append(out, r)
		}
	}
	return out
}

// Runs lists every run, newest first. Runs whose recording process died
// are committed as crashed first, so that no dead run shows as running;
// runs being recorded here are shown as their journals have them. A run
// that cannot be read is reported to the Warn option and left out.
func (t *Tracker) Runs(ctx context.Context) (*Runs, error) {
	if s, ok := t.store.(Syncer); ok {
		if err := t.mergeUnmerged(ctx, s); err != nil {
			t.warn(err)
		}
	}
	lives, err := t.recorder.ListExcept(t.hostedInfo)
	if err != nil {
		return nil, err
	}
	if _, err := t.recorder.Recover(lives); err != nil {
		t.warn(err)
	}
	entries, err := t.store.List(ctx)
	if err != nil {
		return nil, err
	}
	alive := map[string]live.Info{}
	for _, l := range lives {
		if l.Alive && l.Record != nil {
			alive[l.ID] = l
		}
	}
	marksOf := t.store.AllMarks()
	now := time.Now()
	rs := &Runs{All: make([]Run, 0, len(entries)+len(alive))}
	for _, en := range entries {
		if en.Err != nil {
			t.skipping(en.ID, en.Err)
			rs.Unreadable = append(rs.Unreadable, Run{ID: en.ID, Commit: en.Commit, Err: en.Err})
			continue
		}
		r := Run{ID: en.ID, Commit: en.Commit, Record: en.Record}
		r.FetchedFrom, r.CameFrom = marksOf(en.ID)
		if l, ok := alive[en.ID]; ok {
			delete(alive, en.ID)
			if en.Record.Status == run.Running {
				r.Record, r.history, r.Live = l.Record, l.History, true
				if !t.isHosted(en.ID) {
					rs.expireBy(now.Add(liveRecheck))
				}
			}
		} else if en.Record.Status == run.Running {
			if at := r.markStale(now); !at.IsZero() {
				rs.expireBy(at)
			}
		}
		rs.All = append(rs.All, r)
	}
	// Runs not committed yet (before their first checkpoint) exist only
	// in their journals.
	for _, l := range alive {
		rs.All = append(rs.All, Run{ID: l.ID, Record: l.Record, Live: true, history: l.History})
		if !t.isHosted(l.ID) {
			rs.expireBy(now.Add(liveRecheck))
		}
	}
	if len(alive) > 0 {
		slices.SortFunc(rs.All, func(a, b Run) int { return strings.Compare(b.ID, a.ID) })
	}
	// A listing may serve after its caller's context ended (RecentRuns).
	expCtx := context.WithoutCancel(ctx)
	rs.newExpOf = func() func(*run.Record) string {
		of, err := t.ExperimentResolver(expCtx)
		if err != nil {
			t.warn(err)
		}
		return of
	}
	return rs, nil
}

// skipping warns of a run left out of a listing, its record unreadable.
func (t *Tracker) skipping(id string, err error) {
	// One line per run: the store's error names the run or is given its
	// id here.
	if strings.Contains(err.Error(), id) {
		t.warn(fmt.Errorf("skipping %w", err))
	} else {
		t.warn(fmt.Errorf("skipping run %s: %w", id, err))
	}
}

// staleAfter is how many checkpoint intervals a running run recorded
// elsewhere may go without a commit before it is taken for stale: its
// recorder is likely dead, or cut off, and its final record may never come.
const staleAfter = 3

// liveRecheck is how long a listing showing a run recorded by another
// process here stays good with nothing changed on disk: that process may
// have been killed, and the next listing finds the run crashed.
const liveRecheck = time.Second

// minStale keeps runs with short intervals from turning stale over a
// brief delay.
const minStale = 2 * time.Minute

// markStale shows a run that its record says is running, with no
// recorder here, as run.Stale once its last commit is older than a few
// of its checkpoint intervals. A run not stale yet returns when it will
// be, if nothing comes of it; a stale one, the zero time.
func (r *Run) markStale(now time.Time) time.Time {
	last := r.Record.Updated
	if last.IsZero() {
		last = r.Record.Started
	}
	every := r.Record.CheckpointInterval
	if every <= 0 {
		every = live.DefaultCheckpoint
	}
	age, limit := now.Sub(last), max(staleAfter*every, minStale)
	if age <= limit {
		return last.Add(limit)
	}
	rec := *r.Record
	rec.Status = run.Stale
	r.Record, r.StaleFor = &rec, age
	return time.Time{}
}

// Resolve finds the run that spec names: a full id, a unique id prefix of
// 4 or more characters, a run name, "@" (the newest run) or "@~N" (the
// Nth run before it).
func (rs *Runs) Resolve(spec string) (Run, error) {
	ids := make([]string, len(rs.All))
	names := make([]string, len(rs.All))
	for i, r := range rs.All {
		ids[i], names[i] = r.ID, r.Record.Name
	}
	i, err := run.Resolve(ids, names, spec)
	if err != nil {
		// A run that is there but cannot be read is reported as such,
		// by the store's error, rather than as missing.
		if len(spec) >= 4 && !strings.HasPrefix(spec, "@") {
			for _, u := range rs.Unreadable {
				if strings.HasPrefix(u.ID, spec) {
					return Run{}, u.Err
				}
			}
		}
		return Run{}, err
	}
	return rs.All[i], nil
}

// Query selects, orders and limits runs.
type Query struct {
	Where string // an expression of the query language (docs/QUERY.md); "" for all
	Sort  string // a key to sort by (metrics.acc, params.lr, started); "" keeps newest first
	Desc  bool   // sort in descending order
	// Order sorts by several keys, the first deciding first, after Sort
	// if both are given.
	Order []Order
	Limit int // at most this many runs; 0 for all
	// Deleted says whether runs put aside with Tracker.SoftDelete are
	// left out (the zero value), kept, or the only ones.
	Deleted DeletedView
	// Experiments, when not empty, keeps the runs of these experiment
	// ids only (see Tracker.ExperimentOf).
	Experiments []string
}

// Order is one key runs are sorted by.
type Order struct {
	Key  string
	Desc bool
}

// DeletedView says which runs a Query shows, by whether they were put
// aside with Tracker.SoftDelete.
type DeletedView int

// The views of DeletedView.
const (
	HideDeleted DeletedView = iota
	AlsoDeleted
	OnlyDeleted
)

// Query returns the runs that q selects, in its order. Runs lacking the
// sort key come last.
func (rs *Runs) Query(q Query) ([]Run, error) {
	out, err := where(rs.All, q.Where)
	if err != nil {
		return nil, err
	}
	out = byDeleted(out, q.Deleted)
	if len(q.Experiments) > 0 {
		out = rs.inExperiments(out, q.Experiments)
	}
	order := q.Order
	if q.Sort != "" {
		order = append([]Order{{q.Sort, q.Desc}}, order...)
	}
	// The sort is stable: sorting by the last key first leaves the first
	// key deciding.
	for i := len(order) - 1; i >= 0; i-- {
		if out, err = sortRuns(out, order[i].Key, order[i].Desc); err != nil {
			return nil, err
		}
	}
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}

// byDeleted keeps the runs that view shows.
func byDeleted(all []Run, view DeletedView) []Run {
	if view == AlsoDeleted {
		return all
	}
	out := all[:0:0]
	for _, r := range all {
		if r.Deleted() == (view == OnlyDeleted) {
			out = append(out, r)
		}
	}
	return out
}

// Deleted tells whether r was put aside with Tracker.SoftDelete.
func (r Run) Deleted() bool {
	_, ok := r.Record.Tags[run.DeletedTag]
	return ok
}

// Select returns the runs named by specs, then those matching the
// expression expr, in that order; nothing is returned when any spec names
// no run.
func (rs *Runs) Select(specs []string, expr string) ([]Run, error) {
	return rs.selectBy(rs.Resolve, specs, expr)
}

// SelectToDelete is Select for deleting runs: specs may also name, by
// full id or unique id prefix, runs whose records cannot be read (a broken
// or hostile fetched run must be removable), and those come back with Err
// set and no Record.
func (rs *Runs) SelectToDelete(specs []string, expr string) ([]Run, error) {
	return rs.selectBy(rs.resolveAny, specs, expr)
}

func (rs *Runs) selectBy(resolve func(string) (Run, error), specs []string, expr string) ([]Run, error) {
	var out []Run
	for _, spec := range specs {
		r, err := resolve(spec)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if expr != "" {
		matched, err := where(rs.All, expr)
		if err != nil {
			return nil, err
		}
		out = append(out, matched...)
	}
	return out, nil
}

// resolveAny is Resolve, falling back to the unreadable runs by id.
func (rs *Runs) resolveAny(spec string) (Run, error) {
	r, err := rs.Resolve(spec)
	if err == nil || len(rs.Unreadable) == 0 || strings.HasPrefix(spec, "@") {
		return r, err
	}
	// Readable and unreadable ids together, so that a prefix shared by two
	// runs of either kind is ambiguous; names are empty, which no spec is.
	all := append(append([]Run(nil), rs.All...), rs.Unreadable...)
	ids := make([]string, len(all))
	names := make([]string, len(all))
	for i, x := range all {
		ids[i] = x.ID
		if x.Record != nil {
			names[i] = x.Record.Name
		}
	}
	if i, err2 := run.Resolve(ids, names, spec); err2 == nil {
		return all[i], nil
	}
	return r, err
}

// Abbrev returns the shortest prefix of id, at least 8 characters, that no
// other run's id shares, as git abbreviates hashes.
func (rs *Runs) Abbrev(id string) string {
	rs.lazy.Lock()
	defer rs.lazy.Unlock()
	if rs.abbrev == nil {
		ids := make([]string, len(rs.All))
		for i, r := range rs.All {
			ids[i] = r.ID
		}
		slices.Sort(ids)
		rs.abbrev = make(map[string]string, len(ids))
		for i, x := range ids {
			rs.abbrev[x] = x[:run.AbbrevLen(ids, i, 8)]
		}
	}
	if a, ok := rs.abbrev[id]; ok {
		return a
	}
	return id
}

// where keeps the runs that match expr (all of them when expr is "").
func where(all []Run, expr string) ([]Run, error) {
	if expr == "" {
		return all, nil
	}
	q, err := query.Parse(expr)
	if err != nil {
		return nil, err
	}
	q = fullIDs(all, q)
	now := time.Now()
	out := all[:0:0]
	for _, r := range all {
		ok, err := query.Match(q, r.Record, now)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, r)
		}
	}
	return out, nil
}

// sortRuns orders runs by key, keeping runs that lack it last.
func sortRuns(all []Run, key string, desc bool) ([]Run, error) {
	k, err := query.ParseKey(key)
	if err != nil {
		return nil, err
	}
	recs := make([]*run.Record, len(all))
	for i, r := range all {
		recs[i] = r.Record
	}
	out := make([]Run, len(all))
	for i, j := range query.SortOrder(recs, k, desc) {
		out[i] = all[j]
	}
	return out, nil
}

// histCache keeps the last few histories read, by run commit: a commit
// never changes, and a server is asked for one run's history page after
// page. Histories are shared: callers must not change them.
type histCache struct {
	mu      sync.Mutex
	entries []histEntry // most recent last
}

type histEntry struct {
	commit string
	h      run.History
}

// The bounds of histCache: entries, and points in all (about 24 bytes
// each): enough for a chart of ten runs of a million points, and for the
// compare view of 50 runs, whose every chart asks for every run.
const (
	histCacheLen    = 64
	histCachePoints = 12_000_000
)

func (c *histCache) get(commit string) run.History {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, e := range c.entries {
		if e.commit == commit {
			c.entries = append(append(c.entries[:i:i], c.entries[i+1:]...), e)
			return e.h
		}
	}
	return nil
}

func (c *histCache) put(commit string, h run.History) {
	n := points(h)
	if n > histCachePoints {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	total := n
	for _, e := range c.entries {
		total += points(e.h)
	}
	for len(c.entries) > 0 && (len(c.entries) >= histCacheLen || total > histCachePoints) {
		total -= points(c.entries[0].h)
		c.entries = c.entries[1:]
	}
	c.entries = append(c.entries, histEntry{commit, h})
}

func points(h run.History) int {
	n := 0
	for _, pts := range h {
		n += len(pts)
	}
	return n
}

// History returns the metric histories of r: from its journal while it is
// recorded here, else from its commit. Histories are shared with other
// callers: they must not be changed.
func (t *Tracker) History(ctx context.Context, r Run) (run.History, error) {
	if r.Live && r.history != nil {
		return r.history, nil
	}
	if r.Commit == "" {
		return run.History{}, nil
	}
	if h := t.hist.get(r.Commit); h != nil {
		return h, nil
	}
	h, err := t.store.History(ctx, r.Commit)
	if err == nil {
		t.hist.put(r.Commit, h)
	}
	return h, err
}

// Output returns the output log of r as committed; nil when it kept none
// or has no commit yet. While r is recorded here, Follow shows its output
// as it comes.
func (t *Tracker) Output(ctx context.Context, r Run) ([]byte, error) {
	if r.Commit == "" {
		return nil, nil
	}
	return t.store.Output(ctx, r.Commit)
}

// Artifacts lists the files stored with r.
func (t *Tracker) Artifacts(ctx context.Context, r Run) ([]run.ArtifactInfo, error) {
	if r.Commit == "" {
		return nil, nil
	}
	return t.store.Artifacts(ctx, r.Commit)
}

// MarkSeen clears the mark of a run fetched from a remote: someone has
// looked at it here.
func (t *Tracker) MarkSeen(r Run) error {
	if r.FetchedFrom == "" {
		return nil
	}
	return t.store.MarkSeen(r.ID)
}

// Get returns the run spec names, as Runs and Resolve would, without
// listing every run when spec is a full id: a server answers calls for
// one run at a time.
func (t *Tracker) Get(ctx context.Context, spec string) (Run, error) {
	if !run.ValidID(spec) {
		return t.Find(ctx, spec)
	}
	l, isLive := t.hostedInfo(spec)
	if !isLive {
		l, isLive = t.recorder.Info(spec)
	}
	if isLive && l.Alive {
		r := Run{ID: spec, Record: l.Record, Live: true, history: l.History}
		if en, err := t.store.Load(ctx, spec); err == nil {
			r.Commit = en.Commit
		}
		return r, nil
	}
	if isLive {
		// Its recorder died: recovered as every listing does first.
		if _, err := t.recorder.Recover([]live.Info{l}); err != nil {
			t.warn(err)
		}
	}
	en, err := t.load(ctx, spec)
	if err != nil {
		return Run{}, err
	}
	if en.Err != nil {
		return Run{}, en.Err
	}
	r := Run{ID: spec, Commit: en.Commit, Record: en.Record}
	r.FetchedFrom, r.CameFrom = t.store.MarksOf(spec)
	if r.Record.Status == run.Running {
		r.markStale(time.Now())
	}
	return r, nil
}

// Blob returns the content of a blob the store holds, such as an artifact
// of a live run (live.Run.Artifacts names them), or an error wrapping
// run.ErrNotFound.
func (t *Tracker) Blob(id string) ([]byte, error) {
	code, ok := t.code()
	if !ok {
		return nil, run.NotFound("no blob %s", id)
	}
	return code.CodeBlob(id)
}

// Parent returns the run r is part of (run.ParentTag), if it is there.
func (rs *Runs) Parent(r Run) (Run, bool) {
	id := r.Record.Tags[run.ParentTag]
	if id == "" {
		return Run{}, false
	}
	rs.lazy.Lock()
	defer rs.lazy.Unlock()
	if rs.byID == nil {
		rs.byID = make(map[string]int, len(rs.All))
		for i, x := range rs.All {
			rs.byID[x.ID] = i
		}
	}
	if i, ok := rs.byID[id]; ok {
		return rs.All[i], true
	}
	return Run{}, false
}

// Children returns the runs that name r as their parent, newest first.
func (rs *Runs) Children(r Run) []Run {
	var out []Run
	for _, c := range rs.All {
		if c.Record.Tags[run.ParentTag] == r.ID {
			out = append(out, c)
		}
	}
	return out
}
