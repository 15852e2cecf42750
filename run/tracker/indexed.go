package tracker

import (
	"context"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/index"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/query"
)

// Indexed is a store that keeps an index of its runs (package run/index),
// as gitstore.Repo does: one run, the newest runs, or the runs a query
// can match are then read without reading every record, and a command
// costs what it shows rather than what the store holds.
type Indexed interface {
	// RunIndex returns the index of the runs as the store holds them
	// now. Its rows stay valid for as long as the store is open.
	RunIndex(ctx context.Context) (*index.Index, error)
	// IndexEntry decodes a row of the index: the run's entry, with Err
	// set when its record cannot be read.
	IndexEntry(row index.Row) run.Entry
}

// view is what showing runs one by one needs besides the index: the runs
// recorded here now, as their journals have them, and the marks.
type view struct {
	ix    Indexed
	x     *index.Index
	alive map[string]live.Info
	// only holds the live runs the index has no commit of yet, newest
	// first.
	only  []live.Info
	marks func(id string) (fetchedFrom, cameFrom string)
	now   time.Time
}

// indexed returns the view of runs through the store's index, or false
// when the store keeps none.
func (t *Tracker) indexed(ctx context.Context) (*view, bool, error) {
	ix, ok := t.store.(Indexed)
	if !ok {
		return nil, false, nil
	}
	alive, err := t.aliveRuns(ctx)
	if err != nil {
		return nil, true, err
	}
	x, err := ix.RunIndex(ctx)
	if err != nil {
		return nil, true, err
	}
	v := &view{ix: ix, x: x, alive: alive, now: time.Now(), marks: t.store.MarksOf}
	for id, l := range alive {
		if _, ok := x.Get(id); !ok {
			v.only = append(v.only, l)
		}
	}
	slices.SortFunc(v.only, func(a, b live.Info) int { return strings.Compare(b.ID, a.ID) })
	return v, true, nil
}

// aliveRuns brings in what git fetched behind our back, commits as
// crashed the runs whose recorders died, and returns the runs being
// recorded here, by id: what every reading of runs does first.
func (t *Tracker) aliveRuns(ctx context.Context) (map[string]live.Info, error) {
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
	alive := map[string]live.Info{}
	for _, l := range lives {
		if l.Alive && l.Record != nil {
			alive[l.ID] = l
		}
	}
	return alive, nil
}

// run makes the Run of an index row: its record, or its journal's while
// it is recorded here, shown stale when its recorder elsewhere seems gone.
func (v *view) run(row index.Row) Run {
	en := v.ix.IndexEntry(row)
	if en.Err != nil {
		return Run{ID: en.ID, Commit: en.Commit, Err: en.Err}
	}
	r := Run{ID: en.ID, Commit: en.Commit, Record: en.Record}
	r.FetchedFrom, r.CameFrom = v.marks(en.ID)
	if l, ok := v.alive[en.ID]; ok && en.Record.Status == run.Running {
		r.Record, r.history, r.Live = l.Record, l.History, true
	} else if en.Record.Status == run.Running {
		r.markStale(v.now)
	}
	return r
}

func liveOnly(l live.Info) Run {
	return Run{ID: l.ID, Record: l.Record, Live: true, history: l.History}
}

// newest calls f with every run, newest first, the live runs not in the
// index among them, until f returns false.
func (v *view) newest(f func(Run) bool) {
	k := 0
	stopped := false
	v.x.Newest(func(row index.Row) bool {
		for ; k < len(v.only) && v.only[k].ID > row.ID; k++ {
			if !f(liveOnly(v.only[k])) {
				stopped = true
				return false
			}
		}
		if !f(v.run(row)) {
			stopped = true
			return false
		}
		return true
	})
	for ; !stopped && k < len(v.only); k++ {
		if !f(liveOnly(v.only[k])) {
			return
		}
	}
}

// len is the number of runs.
func (v *view) len() int { return v.x.Len() + len(v.only) }

// resolve finds the run spec names, as Runs.Resolve does, reading only the
// runs spec could name.
func (v *view) resolve(spec string) (Run, error) {
	if n, ok, err := run.Position(spec); ok || err != nil {
		if err != nil {
			return Run{}, err
		}
		if n >= v.len() {
			return Run{}, run.PositionError(spec, v.len())
		}
		var found Run
		i := 0
		v.newest(func(r Run) bool {
			if i == n {
				found = r
				return false
			}
			i++
			return true
		})
		if found.Err != nil {
			return Run{}, found.Err
		}
		return found, nil
	}
	cands := v.specRuns(spec)
	var ok []Run
	var broken []Run
	for _, r := range cands {
		if r.Err != nil {
			broken = append(broken, r)
		} else {
			ok = append(ok, r)
		}
	}
	ids := make([]string, len(ok))
	names := make([]string, len(ok))
	for i, r := range ok {
		ids[i], names[i] = r.ID, r.Record.Name
	}
	i, err := run.Resolve(ids, names, spec)
	if err != nil {
		if len(spec) >= 4 {
			for _, u := range broken {
				if strings.HasPrefix(u.ID, spec) {
					return Run{}, u.Err
				}
			}
		}
		return Run{}, err
	}
	return ok[i], nil
}

// maxPrefix bounds the runs an ambiguous id prefix reads.
const maxPrefix = 1000

// specRuns returns the runs spec may name, newest first: by id, id
// prefix or name.
func (v *view) specRuns(spec string) []Run {
	seen := map[string]bool{}
	var out []Run
	add := func(r Run) {
		if !seen[r.ID] {
			seen[r.ID] = true
			out = append(out, r)
		}
	}
	rows := v.x.Named(spec)
	if len(spec) >= 4 {
		rows = append(rows, v.x.Prefix(strings.ToLower(spec), maxPrefix)...)
	}
	for _, row := range rows {
		add(v.run(row))
	}
	for _, l := range v.only {
		if l.ID == spec || l.Record.Name == spec || len(spec) >= 4 && strings.HasPrefix(l.ID, strings.ToLower(spec)) {
			add(liveOnly(l))
		}
	}
	slices.SortFunc(out, func(a, b Run) int { return strings.Compare(b.ID, a.ID) })
	return out
}

// get returns run id, if it is there.
func (v *view) get(id string) (Run, bool) {
	if row, ok := v.x.Get(id); ok {
		r := v.run(row)
		return r, r.Err == nil
	}
	for _, l := range v.only {
		if l.ID == id {
			return liveOnly(l), true
		}
	}
	return Run{}, false
}

// Family is a run's place among the others: the run it is part of and
// the runs part of it, with the short ids listings give them.
type Family struct {
	Parent   *Run
	Children []Run
	// Abbrev returns the short id of one of these runs, or of r itself.
	Abbrev func(id string) string
}

// Family returns r's parent and children, reading only them when the
// store keeps an index.
func (t *Tracker) Family(ctx context.Context, r Run) (Family, error) {
	v, ok, err := t.indexed(ctx)
	if err != nil {
		return Family{}, err
	}
	if !ok {
		rs, err := t.Runs(ctx)
		if err != nil {
			return Family{}, err
		}
		f := Family{Children: rs.Children(r), Abbrev: rs.Abbrev}
		if p, ok := rs.Parent(r); ok {
			f.Parent = &p
		}
		return f, nil
	}
	f := Family{Abbrev: v.abbrev}
	if id := r.Record.Tags[run.ParentTag]; id != "" {
		if p, ok := v.get(id); ok {
			f.Parent = &p
		}
	}
	for _, row := range v.x.Select(index.Cond{Kind: index.Tag, Name: run.ParentTag, Eq: true, Value: r.ID}) {
		if c := v.run(row); c.Err == nil && c.Record.Tags[run.ParentTag] == r.ID {
			f.Children = append(f.Children, c)
		}
	}
	for _, l := range v.only {
		if l.Record.Tags[run.ParentTag] == r.ID {
			f.Children = append(f.Children, liveOnly(l))
		}
	}
	slices.SortFunc(f.Children, func(a, b Run) int { return strings.Compare(b.ID, a.ID) })
	return f, nil
}

// abbrev is Runs.Abbrev through the index: the shortest prefix of id, 8
// characters or more, that its neighbours in id order do not share.
func (v *view) abbrev(id string) string {
	below, above := v.x.Neighbours(id)
	ids := []string{id}
	for _, n := range []string{below, above} {
		if n != "" {
			ids = append(ids, n)
		}
	}
	for _, l := range v.only {
		if l.ID != id {
			ids = append(ids, l.ID)
		}
	}
	slices.Sort(ids)
	return id[:run.AbbrevLen(ids, slices.Index(ids, id), 8)]
}

// Scan calls f with the runs q selects, in q's order, and returns how
// many it selects in all: more than f was given when q.Limit cut it
// short. Through a store's index, runs newest first are read only as far
// as the limit, and a Where whose comparisons the index can check reads
// only the runs that can match; a sort reads every run that matches.
func (t *Tracker) Scan(ctx context.Context, q Query, f func(Run) error) (int, error) {
	v, ok, err := t.indexed(ctx)
	if err != nil {
		return 0, err
	}
	if !ok || q.Sort != "" || len(q.Order) > 0 {
		return t.scanAll(ctx, q, f)
	}
	v.marks = t.store.AllMarks() // runs come in id order, which it reads fastest
	var e query.Expr
	if q.Where != "" {
		if e, err = query.Parse(q.Where); err != nil {
			return 0, err
		}
		e = query.ResolveIDs(e, v.fullID)
	}
	expOf := t.lazyExperiments(ctx, q)
	n := 0
	var ferr error
	keep := func(r Run) bool {
		if r.Err != nil {
			t.skipping(r.ID, r.Err)
			return true
		}
		if ok, err := v.selects(e, q, expOf, r); err != nil || !ok {
			ferr = err
			return err == nil
		}
		n++
		if q.Limit == 0 || n <= q.Limit {
			if ferr = f(r); ferr != nil {
				return false
			}
		}
		return true
	}
	if rows, ok := v.candidates(e, q); ok {
		v.merged(rows, keep)
		return n, ferr
	}
	// With no Where, the runs the view shows are counted without reading
	// them: all but those put aside, which the index finds by their tag.
	counting := e == nil && len(q.Experiments) == 0
	v.decoded(ctx, func(r Run) bool {
		if q.Limit > 0 && n >= q.Limit && counting {
			return false
		}
		return keep(r)
	})
	if counting && ferr == nil && q.Limit > 0 && n >= q.Limit {
		n = v.len()
		if q.Deleted == HideDeleted {
			n -= v.deletedCount()
		}
	}
	return n, ferr
}

// decoded is newest with the records read and decoded on a goroutine of
// its own, beside f: a listing of a million runs spends as long decoding
// records as it does printing them, and there are two cores for it.
func (v *view) decoded(ctx context.Context, f func(Run) bool) {
	runs := make(chan []Run, 4)
	stop := make(chan struct{})
	go func() {
		defer close(runs)
		batch := make([]Run, 0, 64)
		v.newest(func(r Run) bool {
			if batch = append(batch, r); len(batch) < cap(batch) {
				return true
			}
			select {
			case runs <- batch:
				batch = make([]Run, 0, 64)
				return true
			case <-stop:
				return false
			case <-ctx.Done():
				return false
			}
		})
		if len(batch) > 0 {
			select {
			case runs <- batch:
			case <-stop:
			}
		}
	}()
	defer func() {
		close(stop)
		for range runs { // let the goroutine end before returning
		}
	}()
	for batch := range runs {
		for _, r := range batch {
			if !f(r) {
				return
			}
		}
	}
}

// candidates returns the rows of the only runs that can match, when the
// index can tell them and they are few enough to be worth it.
func (v *view) candidates(e query.Expr, q Query) ([]index.Row, bool) {
	if c, est, ok := v.narrowest(e); ok && est < v.x.Len()/4 {
		return v.x.Select(c), true
	}
	if q.Deleted == OnlyDeleted {
		return v.x.Having(run.DeletedTag), true
	}
	return nil, false
}

// deletedCount is the number of runs put aside.
func (v *view) deletedCount() int {
	n := 0
	for _, row := range v.x.Having(run.DeletedTag) {
		if _, ok := v.alive[row.ID]; !ok {
			n++
		}
	}
	for _, l := range v.alive {
		if _, ok := l.Record.Tags[run.DeletedTag]; ok {
			n++
		}
	}
	return n
}

// merged calls f with the runs of rows (newest first) and the live runs
// the index lacks, newest first, until f returns false.
func (v *view) merged(rows []index.Row, f func(Run) bool) {
	k := 0
	for _, row := range rows {
		for ; k < len(v.only) && v.only[k].ID > row.ID; k++ {
			if !f(liveOnly(v.only[k])) {
				return
			}
		}
		if !f(v.run(row)) {
			return
		}
	}
	for ; k < len(v.only); k++ {
		if !f(liveOnly(v.only[k])) {
			return
		}
	}
}

// scanAll is Scan over every run, for stores without an index and for
// sorted queries.
func (t *Tracker) scanAll(ctx context.Context, q Query, f func(Run) error) (int, error) {
	rs, err := t.Runs(ctx)
	if err != nil {
		return 0, err
	}
	limit := q.Limit
	q.Limit = 0
	out, err := rs.Query(q)
	if err != nil {
		return 0, err
	}
	for i, r := range out {
		if limit > 0 && i == limit {
			break
		}
		if err := f(r); err != nil {
			return 0, err
		}
	}
	return len(out), nil
}

// lazyExperiments returns the experiment of a record, read once when
// first asked: only a query for experiments asks.
func (t *Tracker) lazyExperiments(ctx context.Context, q Query) func(*run.Record) string {
	if len(q.Experiments) == 0 {
		return nil
	}
	var of func(*run.Record) string
	return func(r *run.Record) string {
		if of == nil {
			var err error
			if of, err = t.ExperimentResolver(ctx); err != nil || of == nil {
				t.warn(err)
				of = recordExperiment
			}
		}
		return of(r)
	}
}

// selects tells whether q selects r, e being q's Where parsed.
func (v *view) selects(e query.Expr, q Query, expOf func(*run.Record) string, r Run) (bool, error) {
	if q.Deleted != AlsoDeleted && r.Deleted() != (q.Deleted == OnlyDeleted) {
		return false, nil
	}
	if expOf != nil && !slices.Contains(q.Experiments, expOf(r.Record)) {
		return false, nil
	}
	if e == nil {
		return true, nil
	}
	return query.Match(e, r.Record, v.now)
}

// fullID is fullIDs through the index: a prefix of one run's id stands
// for it.
func (v *view) fullID(p string) string {
	if run.ValidID(p) || len(p) < 4 {
		return p
	}
	var ids []string
	for _, row := range v.x.Prefix(p, 2) {
		ids = append(ids, row.ID)
	}
	for _, l := range v.only {
		if strings.HasPrefix(l.ID, p) {
			ids = append(ids, l.ID)
		}
	}
	if len(ids) == 1 {
		return ids[0]
	}
	return p
}

// narrowest returns the condition of e the index can check that lets
// the fewest runs through.
func (v *view) narrowest(e query.Expr) (index.Cond, int, bool) {
	if e == nil {
		return index.Cond{}, 0, false
	}
	var cs []index.Cond
	for _, n := range query.Needs(e) {
		c := index.Cond{Name: n.Name, Eq: n.Eq, Value: n.Value, Lo: n.Lo, Hi: n.Hi}
		switch n.Kind {
		case "metric":
			c.Kind = index.Metric
		case "param":
			c.Kind = index.Param
		case "tag":
			c.Kind = index.Tag
		default:
			continue
		}
		cs = append(cs, c)
	}
	return v.x.Narrowest(cs)
}

// BestRun returns the run with the best last value of metric among those
// where selects (all when ""), as Best does, and how many have a value
// of it. Through an index with no where, only the runs from the best
// value down are read until one is shown.
func (t *Tracker) BestRun(ctx context.Context, where, metric string, minimize bool) (Run, int, error) {
	v, ok, err := t.indexed(ctx)
	if err != nil {
		return Run{}, 0, err
	}
	if !ok || where != "" {
		var runs []Run
		if _, err := t.Scan(ctx, Query{Where: where}, func(r Run) error {
			runs = append(runs, r)
			return nil
		}); err != nil {
			return Run{}, 0, err
		}
		return Best(runs, metric, minimize)
	}
	return v.best(metric, minimize)
}

// best walks the index's values of metric from the best.
func (v *view) best(metric string, minimize bool) (Run, int, error) {
	deleted := map[string]bool{}
	for _, row := range v.x.Having(run.DeletedTag) {
		deleted[row.ID] = true
	}
	// Live runs have newer values in their journals than in the index.
	var lives []Run
	for _, l := range v.alive {
		lives = append(lives, liveOnly(l))
	}
	best, n := Run{}, 0
	found := false
	v.x.Extreme(index.Metric, metric, minimize, func(id string, val float64) bool {
		if deleted[id] {
			return true
		}
		if _, ok := v.alive[id]; ok {
			return true
		}
		n++
		if !found {
			if r, ok := v.get(id); ok && !r.Deleted() {
				best, found = r, true
			}
		}
		return true
	})
	lb, ln, err := Best(lives, metric, minimize)
	if err == nil {
		n += ln
		if b := lb.Record.Metrics[metric].Last; !found || (minimize && b < best.Record.Metrics[metric].Last) || (!minimize && b > best.Record.Metrics[metric].Last) {
			best, found = lb, true
		}
	}
	if !found {
		return Run{}, 0, noMetric(metric, v.x.Keys(index.Metric))
	}
	return best, n, nil
}

// Find returns the run spec names, as Runs and Resolve would, with its
// marks: through the store's index, reading only the runs spec could
// name, so that looking at one run costs the same among a million.
func (t *Tracker) Find(ctx context.Context, spec string) (Run, error) {
	v, ok, err := t.indexed(ctx)
	if err != nil {
		return Run{}, err
	}
	if !ok {
		rs, err := t.Runs(ctx)
		if err != nil {
			return Run{}, err
		}
		return rs.Resolve(spec)
	}
	return v.resolve(spec)
}

// load is the store's Load, through its index when it keeps one: a
// store of a million runs reads one run's ref and record the slow way.
func (t *Tracker) load(ctx context.Context, id string) (run.Entry, error) {
	ix, ok := t.store.(Indexed)
	if !ok {
		return t.store.Load(ctx, id)
	}
	x, err := ix.RunIndex(ctx)
	if err != nil {
		return run.Entry{}, err
	}
	row, ok := x.Get(id)
	if !ok {
		return run.Entry{}, run.NotFound("no run %s", id)
	}
	return ix.IndexEntry(row), nil
}

// Namer names runs shown together: the short id of each, and the run it
// is part of. Runs is one; Tracker.Namer gives one that reads only the
// runs asked about.
type Namer interface {
	Abbrev(id string) string
	Parent(r Run) (Run, bool)
}

// Namer returns a Namer of the store's runs.
func (t *Tracker) Namer(ctx context.Context) (Namer, error) {
	v, ok, err := t.indexed(ctx)
	if err != nil {
		return nil, err
	}
	if ok {
		return v, nil
	}
	return t.Runs(ctx)
}

// Abbrev is Runs.Abbrev.
func (v *view) Abbrev(id string) string { return v.abbrev(id) }

// Parent is Runs.Parent.
func (v *view) Parent(r Run) (Run, bool) {
	id := r.Record.Tags[run.ParentTag]
	if id == "" {
		return Run{}, false
	}
	return v.get(id)
}

// Check is Runs.Check of the store's runs, through its index when it
// keeps one.
func (t *Tracker) Check(ctx context.Context, q Query) ([]error, error) {
	v, ok, err := t.indexed(ctx)
	if err != nil {
		return nil, err
	}
	if ok {
		return check(v, q), nil
	}
	rs, err := t.Runs(ctx)
	if err != nil {
		return nil, err
	}
	return rs.Check(q), nil
}

// named tells whether some run has a value of k.
func (v *view) named(k query.Key) bool {
	kind, names := k.Names()
	if kind == "" {
		return true
	}
	for _, n := range names {
		if v.x.Count(indexKind(kind), n) > 0 {
			return true
		}
	}
	for _, l := range v.only {
		if k.Named(l.Record) {
			return true
		}
	}
	return false
}

func indexKind(kind string) index.Kind {
	switch kind {
	case "metric":
		return index.Metric
	case "param":
		return index.Param
	}
	return index.Tag
}

// keyNames returns the query keys of every param, metric and tag runs
// have, sorted.
func (v *view) keyNames() []string {
	set := map[string]bool{}
	for _, kind := range []string{"param", "metric", "tag"} {
		for _, n := range v.x.Keys(indexKind(kind)) {
			set[query.NameKey(kind, n).String()] = true
		}
	}
	for _, l := range v.only {
		for k := range l.Record.Params {
			set[query.NameKey("param", k).String()] = true
		}
		for k := range l.Record.Metrics {
			set[query.NameKey("metric", k).String()] = true
		}
		for k := range l.Record.Tags {
			set[query.NameKey("tag", k).String()] = true
		}
	}
	return slices.Sorted(maps.Keys(set))
}

// idsWithPrefix counts the runs whose id starts with p, stopping at two.
func (v *view) idsWithPrefix(p string) int {
	n := len(v.x.Prefix(p, 2))
	for _, l := range v.only {
		if strings.HasPrefix(l.ID, p) {
			n++
		}
	}
	return min(n, 2)
}
