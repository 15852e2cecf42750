package tracker

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/gitruns/gitruns/run"
)

// Experiments group runs as MLflow's do. Runs name theirs in their
// records; an experiment is stored only once someone creates or edits it
// (docs/FORMAT.md, "Experiments"). Until then the Default experiment and
// one implicit experiment per name that runs use exist all the same, so
// that every run is in exactly one experiment on every clone, with the
// same id everywhere.

// ExperimentStore keeps experiments. It is an optional ability of a Store,
// found by type assertion; without it the tracker still shows Default and
// the implicit experiments, and refuses to create or edit any.
type ExperimentStore interface {
	// Experiments returns every stored experiment with its commit, in no
	// set order; one that cannot be read has Err set (and its ID, when
	// the store knows it). An error means the listing itself failed.
	Experiments(ctx context.Context) ([]run.ExperimentEntry, error)
	// SaveExperiment writes e as experiment e.ID if it is now at commit
	// old ("" to create, failing with run.ErrExists if it exists),
	// returning the new commit; run.ErrConflict when another writer moved
	// it, run.ErrNotFound when old is set and it is not stored at all.
	SaveExperiment(ctx context.Context, e *run.Experiment, old string) (string, error)
}

// editAttempts bounds the rounds of read, edit and compare-and-swap that
// EditExperiment makes while other writers keep moving the experiment.
const editAttempts = 10

// minImplicitID and implicitIDs make the ids of experiments the tracker
// makes up, implicit and new ones alike: 18 digits, as MLflow's file store
// makes them, and never "0".
const (
	minImplicitID = 100_000_000_000_000_000
	implicitIDs   = 900_000_000_000_000_000
)

// implicitExperimentID is the id of the implicit experiment of the runs
// recorded under name: derived from the name alone, so that every clone
// gives the same one (docs/FORMAT.md gives the rule for other tools).
func implicitExperimentID(name string) string {
	sum := sha256.Sum256([]byte(name))
	n := binary.BigEndian.Uint64(sum[:8])
	return strconv.FormatUint(minImplicitID+n%implicitIDs, 10)
}

// experimentView is every experiment known at one moment.
type experimentView struct {
	list    []run.Experiment  // stored ones, Default, and implicit ones once runs were read
	commits map[string]string // the commit of each stored experiment, by id
	broken  map[string]error  // stored experiments that cannot be read, by id
	// withRuns tells that runs were read: the implicit experiments are in
	// list, and the times of Default when it is not stored.
	withRuns bool
}

// experimentStore returns the store as an ExperimentStore, if it is one.
func (t *Tracker) experimentStore() (ExperimentStore, bool) {
	es, ok := t.store.(ExperimentStore)
	return es, ok
}

// storedExperiments reads the stored experiments, and Default as it is
// when not stored, without reading any run. What a plain git fetch
// brought is merged first, as before runs are listed.
func (t *Tracker) storedExperiments(ctx context.Context) (*experimentView, error) {
	v := &experimentView{commits: map[string]string{}, broken: map[string]error{}}
	if es, ok := t.experimentStore(); ok {
		if s, ok := t.store.(Syncer); ok {
			if err := t.mergeUnmerged(ctx, s); err != nil {
				t.warn(err)
			}
		}
		entries, err := es.Experiments(ctx)
		if err != nil {
			return nil, err
		}
		for _, en := range entries {
			t.addStored(v, en)
		}
	}
	if _, ok := v.commits[run.DefaultExperimentID]; !ok {
		v.list = append(v.list, run.Experiment{
			ID: run.DefaultExperimentID, Name: run.DefaultExperimentName,
			Former: []string{run.DefaultRecordExperiment}, Tags: map[string]string{},
		})
	}
	return v, nil
}

func (t *Tracker) addStored(v *experimentView, en run.ExperimentEntry) {
	if en.Err != nil || en.Experiment == nil {
		err := cmp.Or(en.Err, errors.New("no experiment"))
		t.warn(fmt.Errorf("skipping experiment %s: %w", cmp.Or(en.ID, en.Commit), err))
		if en.ID != "" {
			v.broken[en.ID] = err
		}
		return
	}
	if _, dup := v.commits[en.Experiment.ID]; dup {
		return // a store lists each id once; be safe against one that does not
	}
	v.commits[en.Experiment.ID] = en.Commit
	v.list = append(v.list, en.Experiment.Clone())
}

// addRunExperiments reads the runs, once, to add the implicit experiments
// of the names they use that no experiment claims, and to give Default,
// when not stored, the start of its first run as its creation time. An
// implicit experiment was created, as far as anyone can tell, when its
// first run started.
func (t *Tracker) addRunExperiments(ctx context.Context, v *experimentView) error {
	if v.withRuns {
		return nil
	}
	rs, err := t.Runs(ctx)
	if err != nil {
		return err
	}
	first := map[string]time.Time{}
	for _, r := range rs.All {
		name := recordExperiment(r.Record)
		if f, ok := first[name]; !ok || r.Record.Started.Before(f) {
			first[name] = r.Record.Started
		}
	}
	for i := range v.list {
		e := &v.list[i]
		if _, stored := v.commits[e.ID]; stored {
			continue
		}
		for _, n := range append([]string{e.Name}, e.Former...) {
			if f, ok := first[n]; ok && (e.Created.IsZero() || f.Before(e.Created)) {
				e.Created, e.Updated = f, f
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(first)) {
		if name == run.DefaultRecordExperiment || v.claimant(name, "") != nil {
			continue
		}
		id := implicitExperimentID(name)
		if v.has(id) {
			continue // taken by a stored one: its runs show in that one
		}
		f := first[name]
		v.list = append(v.list, run.Experiment{ID: id, Name: name, Tags: map[string]string{}, Created: f, Updated: f})
	}
	v.withRuns = true
	return nil
}

// recordExperiment is the experiment name rec was recorded under, ""
// meaning the default.
func recordExperiment(rec *run.Record) string {
	return cmp.Or(rec.Experiment, run.DefaultRecordExperiment)
}

// has tells whether an experiment of v, readable or not, has id.
func (v *experimentView) has(id string) bool {
	_, broken := v.broken[id]
	return broken || v.find(id) != nil
}

func (v *experimentView) find(id string) *run.Experiment {
	for i := range v.list {
		if v.list[i].ID == id {
			return &v.list[i]
		}
	}
	return nil
}

// older orders experiments that claim one name: the one created first
// wins, then the smaller id, so that every clone picks the same.
func older(a, b *run.Experiment) int {
	if c := a.Created.Compare(b.Created); c != 0 {
		return c
	}
	return run.CompareExperimentIDs(a.ID, b.ID)
}

// named returns the experiment whose current name is name, the oldest
// when clones created several; nil for none.
func (v *experimentView) named(name string) *run.Experiment {
	var best *run.Experiment
	for i := range v.list {
		if e := &v.list[i]; e.Name == name && (best == nil || older(e, best) < 0) {
			best = e
		}
	}
	return best
}

// claimant returns an experiment other than the one of id except that
// claims name: by its current name first, else by a former one; nil
// for none.
func (v *experimentView) claimant(name, except string) *run.Experiment {
	var byName, byFormer *run.Experiment
	for i := range v.list {
		e := &v.list[i]
		switch {
		case e.ID == except:
		case e.Name == name:
			if byName == nil || older(e, byName) < 0 {
				byName = e
			}
		case e.Claims(name):
			if byFormer == nil || older(e, byFormer) < 0 {
				byFormer = e
			}
		}
	}
	return cmp.Or(byName, byFormer)
}

// resolver returns the function that tells the experiment id of a record.
// It maps each name once, so that it costs a map look-up per run.
func (v *experimentView) resolver() func(*run.Record) string {
	ids := map[string]string{}
	for _, e := range v.list {
		for _, n := range append([]string{e.Name}, e.Former...) {
			if _, done := ids[n]; !done {
				ids[n] = v.claimant(n, "").ID
			}
		}
	}
	return func(rec *run.Record) string {
		name := recordExperiment(rec)
		if id, ok := ids[name]; ok {
			return id
		}
		if name == run.DefaultRecordExperiment {
			return run.DefaultExperimentID
		}
		return implicitExperimentID(name)
	}
}

// Experiments returns every experiment: the stored ones (deleted ones
// too, with Deleted set), Default ("0", named "Default", with "default"
// among its former names) always, and an implicit one for each name
// that runs use and no experiment claims, whose id is derived from the
// name so that it is the same on every clone. They come in MLflow's
// order for a search without order_by: created last first, then by id.
//
// It lists every run once, to find the names runs use. Default and the
// implicit experiments, when not stored, were created when their first
// run started (zero when none did), and updated then.
func (t *Tracker) Experiments(ctx context.Context) ([]run.Experiment, error) {
	v, err := t.storedExperiments(ctx)
	if err != nil {
		return nil, err
	}
	if err := t.addRunExperiments(ctx, v); err != nil {
		return nil, err
	}
	out := v.list
	slices.SortFunc(out, func(a, b run.Experiment) int {
		if c := b.Created.Compare(a.Created); c != 0 {
			return c
		}
		return run.CompareExperimentIDs(a.ID, b.ID)
	})
	return out, nil
}

// Experiment returns experiment id, or an error wrapping run.ErrNotFound
// that names it. It lists runs only for an id that is not stored.
func (t *Tracker) Experiment(ctx context.Context, id string) (run.Experiment, error) {
	if !run.ValidExperimentID(id) {
		return run.Experiment{}, run.NotFound("no experiment %q", id)
	}
	v, err := t.storedExperiments(ctx)
	if err != nil {
		return run.Experiment{}, err
	}
	if err := v.broken[id]; err != nil {
		return run.Experiment{}, fmt.Errorf("read experiment %s: %w", id, err)
	}
	if _, stored := v.commits[id]; !stored {
		if err := t.addRunExperiments(ctx, v); err != nil {
			return run.Experiment{}, err
		}
	}
	if e := v.find(id); e != nil {
		return *e, nil
	}
	return run.Experiment{}, run.NotFound("no experiment %s", id)
}

// ExperimentByName returns the experiment whose current name is name,
// deleted or not, as MLflow's get-by-name does; a former name finds
// nothing. When clones each created an experiment of the name, the one
// created first wins (then the smaller id): every clone answers the same,
// and runs of the name belong to it. The error wraps run.ErrNotFound. It
// lists runs only for a name no stored experiment has.
func (t *Tracker) ExperimentByName(ctx context.Context, name string) (run.Experiment, error) {
	v, err := t.storedExperiments(ctx)
	if err != nil {
		return run.Experiment{}, err
	}
	if e := v.named(name); e == nil || v.commits[e.ID] == "" {
		if err := t.addRunExperiments(ctx, v); err != nil {
			return run.Experiment{}, err
		}
	}
	if e := v.named(name); e != nil {
		return *e, nil
	}
	return run.Experiment{}, run.NotFound("no experiment named %q", name)
}

// ExperimentOf returns the id of the experiment that a run with record
// rec belongs to: the experiment whose name, else one of whose former
// names, is the record's experiment ("" and "default" being Default's
// unless another claims them), else the implicit experiment of that name.
// It reads the stored experiments, not the runs; ExperimentResolver does
// the same for many records at the cost of one.
func (t *Tracker) ExperimentOf(ctx context.Context, rec *run.Record) (string, error) {
	of, err := t.ExperimentResolver(ctx)
	if err != nil {
		return "", err
	}
	return of(rec), nil
}

// ExperimentResolver returns a function that tells the id of the
// experiment a run with a record belongs to, as ExperimentOf does, from
// the experiments stored now: one listing of them, then a map look-up
// per record. It lists no runs, so that Runs may call it.
func (t *Tracker) ExperimentResolver(ctx context.Context) (func(*run.Record) string, error) {
	v, err := t.storedExperiments(ctx)
	if err != nil {
		return nil, err
	}
	return v.resolver(), nil
}

// CreateExperiment stores a new experiment named name, with tags, under
// a new random id of 18 digits, as MLflow's file store makes them. It
// fails with run.ErrExists when an experiment, active or deleted,
// claims the name (as its name or a former one), implicit ones included.
// It lists the runs once, for the names they use.
func (t *Tracker) CreateExperiment(ctx context.Context, name string, tags map[string]string) (run.Experiment, error) {
	es, ok := t.experimentStore()
	if !ok {
		return run.Experiment{}, errNoAbility("experiments")
	}
	if err := run.ValidateExperimentName(name); err != nil {
		return run.Experiment{}, err
	}
	if err := checkExperimentTags(tags, nil); err != nil {
		return run.Experiment{}, err
	}
	for try := 1; ; try++ {
		v, err := t.storedExperiments(ctx)
		if err != nil {
			return run.Experiment{}, err
		}
		if err := t.addRunExperiments(ctx, v); err != nil {
			return run.Experiment{}, err
		}
		if err := nameTaken(v, name, ""); err != nil {
			return run.Experiment{}, err
		}
		now := stamp(time.Time{})
		e := run.Experiment{ID: newExperimentID(v), Name: name, Tags: maps.Clone(tags), Created: now, Updated: now}
		if e.Tags == nil {
			e.Tags = map[string]string{}
		}
		_, err = es.SaveExperiment(ctx, &e, "")
		if errors.Is(err, run.ErrExists) && try < editAttempts {
			continue // another writer took the id meanwhile
		}
		if err != nil {
			return run.Experiment{}, fmt.Errorf("create experiment %q: %w", name, err)
		}
		return e, nil
	}
}

// nameTaken refuses name when an experiment other than the one of id
// except claims it.
func nameTaken(v *experimentView, name, except string) error {
	e := v.claimant(name, except)
	switch {
	case e == nil:
		return nil
	case e.Name == name:
		return run.Exists("experiment %q already exists (id %s)", name, e.ID)
	}
	return run.Exists("experiment name %q was experiment %s's before it was renamed %q: its runs still belong there", name, e.ID, e.Name)
}

// newExperimentID draws an id that no experiment of v has.
func newExperimentID(v *experimentView) string {
	for {
		id := strconv.FormatUint(minImplicitID+rand.Uint64N(implicitIDs), 10)
		if !v.has(id) {
			return id
		}
	}
}

// stamp returns now in UTC to the millisecond, later than prev: an edit
// is newer than what it edits even when clocks disagree, which merges
// between clones go by.
func stamp(prev time.Time) time.Time {
	now := time.Now().UTC().Truncate(time.Millisecond)
	if !now.After(prev) {
		now = prev.Add(time.Millisecond)
	}
	return now
}

// EditExperiment changes experiment id with edit, which may rename it, set
// Deleted (MLflow's delete and restore) and change its tags; the id and
// the creation time stay, and the former names are the tracker's to keep:
// a rename adds the old name to them (and takes the new one out), so that
// the runs recorded under it stay. A name another experiment claims is
// refused with run.ErrExists. It stamps Updated. Default and an implicit
// experiment are stored at their first edit. When another writer moves
// the experiment between the read and the write, it reads again and calls
// edit again. Errors: run.ErrNotFound, run.ErrExists, or edit's own.
func (t *Tracker) EditExperiment(ctx context.Context, id string, edit func(*run.Experiment) error) (run.Experiment, error) {
	es, ok := t.experimentStore()
	if !ok {
		return run.Experiment{}, errNoAbility("experiments")
	}
	if !run.ValidExperimentID(id) {
		return run.Experiment{}, run.NotFound("no experiment %q", id)
	}
	for try := 1; ; try++ {
		next, old, err := t.editedExperiment(ctx, id, edit)
		if err != nil {
			return run.Experiment{}, err
		}
		_, err = es.SaveExperiment(ctx, &next, old)
		lost := errors.Is(err, run.ErrConflict) || errors.Is(err, run.ErrExists) && old == "" || errors.Is(err, run.ErrNotFound) && old != ""
		if lost && try < editAttempts {
			continue
		}
		if err != nil {
			return run.Experiment{}, fmt.Errorf("edit experiment %s: %w", id, err)
		}
		return next, nil
	}
}

// editedExperiment reads experiment id, applies edit and the rules of
// EditExperiment, and returns the result with the commit it replaces
// ("" when it is not stored yet).
func (t *Tracker) editedExperiment(ctx context.Context, id string, edit func(*run.Experiment) error) (run.Experiment, string, error) {
	v, err := t.storedExperiments(ctx)
	if err != nil {
		return run.Experiment{}, "", err
	}
	if err := v.broken[id]; err != nil {
		return run.Experiment{}, "", fmt.Errorf("edit experiment %s: %w", id, err)
	}
	old, stored := v.commits[id]
	if !stored {
		if err := t.addRunExperiments(ctx, v); err != nil {
			return run.Experiment{}, "", err
		}
	}
	cur := v.find(id)
	if cur == nil {
		return run.Experiment{}, "", run.NotFound("no experiment %s", id)
	}
	next := cur.Clone()
	if err := edit(&next); err != nil {
		return run.Experiment{}, "", err
	}
	if next.ID != id {
		return run.Experiment{}, "", fmt.Errorf("edit experiment %s: its id cannot change", id)
	}
	if err := run.ValidateExperimentName(next.Name); err != nil {
		return run.Experiment{}, "", err
	}
	if err := checkExperimentTags(next.Tags, cur.Tags); err != nil {
		return run.Experiment{}, "", err
	}
	if next.Name != cur.Name {
		if err := t.addRunExperiments(ctx, v); err != nil {
			return run.Experiment{}, "", err
		}
		if err := nameTaken(v, next.Name, id); err != nil {
			return run.Experiment{}, "", err
		}
	}
	next.Former = formerNames(cur, next.Name)
	next.Created = cur.Created
	if next.Created.IsZero() {
		next.Created = stamp(time.Time{})
	}
	next.Updated = stamp(cur.Updated)
	if next.Updated.Before(next.Created) {
		next.Updated = next.Created
	}
	if next.Tags == nil {
		next.Tags = map[string]string{}
	}
	return next, old, nil
}

// formerNames are the former names of cur once it is named name: its own,
// with its current name added when it changes, and name taken out (a
// name given back is current again).
func formerNames(cur *run.Experiment, name string) []string {
	out := make([]string, 0, len(cur.Former)+1)
	for _, n := range append(slices.Clone(cur.Former), cur.Name) {
		if n != name && !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// checkExperimentTags holds the tags that tags sets anew or changes from
// before to the rules of run tags: MLflow's rules for tag keys, and the
// same bounds on values. Tags kept as they were are not checked again,
// so that an experiment fetched with a tag these rules refuse can still
// be edited.
func checkExperimentTags(tags, before map[string]string) error {
	for k, val := range tags {
		if was, ok := before[k]; ok && was == val {
			continue
		}
		if err := run.ValidateKey("tag", k); err != nil {
			return err
		}
		if err := run.ValidateTagValue(k, val); err != nil {
			return err
		}
	}
	return nil
}

// ExperimentToRecordIn returns experiment id as a run started in it needs
// it (its name, and whether it is deleted), reading no run unless id is
// an implicit experiment's: a server creating thousands of runs in
// Default should not list every run for each. The times of an
// unstored Default are zero here.
func (t *Tracker) ExperimentToRecordIn(ctx context.Context, id string) (run.Experiment, error) {
	if !run.ValidExperimentID(id) {
		return run.Experiment{}, run.NotFound("no experiment %q", id)
	}
	v, err := t.storedExperiments(ctx)
	if err != nil {
		return run.Experiment{}, err
	}
	if err := v.broken[id]; err != nil {
		return run.Experiment{}, fmt.Errorf("read experiment %s: %w", id, err)
	}
	if e := v.find(id); e != nil {
		return *e, nil
	}
	return t.Experiment(ctx, id)
}
