package gitstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
	"github.com/gitruns/gitruns/run/merge"
)

// What was merged from each remote is kept in $GIT_COMMON_DIR/runs/merged/:
// <name> holds the tracking refs as they were at the last merge, so that a
// merge looks only at what changed since; <name>.sig holds what the
// tracking refs' files looked like then, so that a command can tell that a
// plain git fetch brought something without reading any ref.

func (r *Repo) mergedDir() string { return filepath.Join(r.privateDir(), "merged") }

// Merge brings the runs, tombstones and experiments last fetched from
// remote into those here. Runs merge by the rules of package merge: a run
// new here is taken as it is; a tombstone deletes the run here; two copies
// of a run become one, which may be either copy or a new commit with the
// tags of both. Only the runs that changed since the last merge from
// remote are looked at. Experiments merge as mergeExperiments says.
func (r *Repo) Merge(ctx context.Context, remote string) (*run.FetchResult, error) {
	name := trackingName(remote)
	sig := r.trackingSig(name)
	in, err := r.incoming(name)
	if err != nil {
		return nil, err
	}
	res := &run.FetchResult{}
	if err := r.mergeExperiments(remote, res); err != nil {
		return nil, err
	}
	if len(in.runs) == 0 && len(in.deleted) == 0 {
		// Nothing came in: the runs here need not be listed.
		for id, h := range in.conflicts {
			in.all["c "+id] = h
		}
		return res, r.noteMerged(name, in.all, nil, sig)
	}
	local, err := r.runRefs()
	if err != nil {
		return nil, err
	}
	tombs, err := r.Tombstones()
	if err != nil {
		return nil, err
	}
	failed := map[string]bool{}
	for _, id := range slices.Sorted(maps.Keys(in.deleted)) {
		if err := r.takeTombstone(id, in.deleted[id], tombs, local, res); err != nil {
			r.warn(err)
			failed["d "+id] = true
		}
	}
	var pairs []mergePair
	var fresh []Ref
	for _, id := range slices.Sorted(maps.Keys(in.runs)) {
		theirs := in.runs[id]
		ours, here := local[id]
		_, deleted := tombs[id]
		switch {
		case deleted || in.allDeleted[id]:
		case !here:
			fresh = append(fresh, Ref{Name: RefName(id), Hash: theirs})
		case ours != theirs:
			pairs = append(pairs, mergePair{id: id, ours: ours, theirs: theirs})
		}
	}
	r.takeNew(remote, fresh, res, failed)
	if err := r.mergePairs(ctx, remote, pairs, res, failed); err != nil {
		return nil, err
	}
	for _, c := range res.Conflicts {
		in.conflicts[c.ID] = in.runs[c.ID]
	}
	for id, h := range in.conflicts {
		if cur, ok := local[id]; ok && cur != h {
			in.all["c "+id] = h
		}
	}
	if err := r.noteMerged(name, in.all, failed, sig); err != nil {
		r.warn(err)
	}
	return res, nil
}

// bulkNew is the number of runs new here from which a merge adds them to
// packed-refs in one write rather than as a loose ref each.
const bulkNew = 64

// takeNew creates the refs of runs new here.
func (r *Repo) takeNew(remote string, fresh []Ref, res *run.FetchResult, failed map[string]bool) {
	if len(fresh) >= bulkNew {
		created, err := r.createPacked(fresh)
		if err == nil {
			made := make(map[string]bool, len(created))
			for _, ref := range created {
				made[ref.Name] = true
				res.New = append(res.New, strings.TrimPrefix(ref.Name, RunsPrefix))
			}
			for _, ref := range fresh {
				if !made[ref.Name] {
					// Created here meanwhile: the next merge merges the two.
					failed["r "+strings.TrimPrefix(ref.Name, RunsPrefix)] = true
				}
			}
			return
		}
		r.warn(fmt.Errorf("take %d runs from %s at once: %w", len(fresh), remote, err))
	}
	for _, ref := range fresh {
		id := strings.TrimPrefix(ref.Name, RunsPrefix)
		if err := r.UpdateRef(ref.Name, ref.Hash, plumbing.ZeroHash); err != nil {
			r.warn(fmt.Errorf("take run %s from %s: %w", id, remote, err))
			failed["r "+id] = true
			continue
		}
		res.New = append(res.New, id)
	}
}

// mergePair is a run of which the copy here and the one fetched differ.
type mergePair struct {
	id           string
	ours, theirs plumbing.Hash
}

// mergePairs merges two copies of each run of pairs.
func (r *Repo) mergePairs(ctx context.Context, remote string, pairs []mergePair, res *run.FetchResult, failed map[string]bool) error {
	entries := make([]listed, 0, 2*len(pairs))
	for _, p := range pairs {
		entries = append(entries, listed{id: p.id, commit: p.ours}, listed{id: p.id, commit: p.theirs})
	}
	recs, errs, err := r.records(ctx, entries)
	if err != nil {
		return err
	}
	for i, p := range pairs {
		ours, theirs := recs[2*i], recs[2*i+1]
		switch {
		case errs[2*i+1] != nil: // records refuses a record claiming another id
			res.Bad = append(res.Bad, p.id+": "+errs[2*i+1].Error())
			continue
		case errs[2*i] != nil:
			// Ours is unreadable: theirs, which reads, replaces it.
			ours = &run.Record{ID: p.id, Status: run.Running}
		}
		m := merge.Records(ours, theirs)
		if m.Conflict != "" {
			if later, ok := r.extension(ctx, p, ours, theirs); ok {
				m = merge.Extended(ours, theirs, later)
			}
		}
		if m.Conflict != "" {
			res.Conflicts = append(res.Conflicts, run.MergeConflict{ID: p.id, Why: m.Conflict})
			continue
		}
		if m.Same && m.Base == merge.Ours {
			continue
		}
		next := p.theirs
		if !m.Same {
			base := p.ours
			if m.Base == merge.Theirs {
				base = p.theirs
			}
			if next, _, err = r.amendedCommit(run.Entry{ID: p.id, Commit: base.String(), Record: m.Record}); err != nil {
				return fmt.Errorf("merge run %s: %w", p.id, err)
			}
		}
		if err := r.UpdateRef(RefName(p.id), next, p.ours); err != nil {
			// Changed here meanwhile: the next merge looks again.
			r.warn(fmt.Errorf("merge run %s from %s: %w", p.id, remote, err))
			failed["r "+p.id] = true
			continue
		}
		res.Updated = append(res.Updated, p.id)
	}
	return nil
}

// maxChain bounds how many earlier commits of a run (Extend's) a merge
// looks through: a fetched run could bring any number.
const maxChain = 1000

// extension tells which copy of a pair, if either, was added to after the
// run ended on top of a state equal to the other copy but for tags: the
// chain of its earlier commits holds such a state. That copy then wins
// the merge, as a later edit of the same run.
func (r *Repo) extension(ctx context.Context, p mergePair, ours, theirs *run.Record) (merge.Side, bool) {
	if r.chainHolds(ctx, p.id, p.theirs, ours) {
		return merge.Theirs, true
	}
	if r.chainHolds(ctx, p.id, p.ours, theirs) {
		return merge.Ours, true
	}
	return merge.Ours, false
}

// chainHolds tells whether a commit that run commit c extends, however
// far back, holds a record of run id equal to rec but for tags.
func (r *Repo) chainHolds(ctx context.Context, id string, c plumbing.Hash, rec *run.Record) bool {
	at := c.String()
	for range maxChain {
		e, err := r.Earlier(ctx, at)
		if err != nil || e == "" {
			return false
		}
		got, err := r.recordAt(e)
		if err != nil || got.ID != id {
			return false
		}
		if merge.SameButTags(got, rec) {
			return true
		}
		at = e
	}
	return false
}

// takeTombstone applies a tombstone fetched for run id: it becomes this
// clone's too, and deletes the run here.
func (r *Repo) takeTombstone(id string, tomb plumbing.Hash, tombs, local map[string]plumbing.Hash, res *run.FetchResult) error {
	if _, ok := tombs[id]; !ok {
		if err := r.UpdateRef(DeletedPrefix+id, tomb, plumbing.ZeroHash); err != nil && !errors.Is(err, ErrRefChanged) {
			return fmt.Errorf("take tombstone of run %s: %w", id, err)
		}
		tombs[id] = tomb
	}
	h, ok := local[id]
	if !ok {
		return nil
	}
	if err := r.DeleteRef(RefName(id), h); err != nil && !errors.Is(err, errNotFound) {
		return fmt.Errorf("delete run %s, deleted on the remote: %w", id, err)
	}
	delete(local, id)
	res.Deleted = append(res.Deleted, id)
	return nil
}

// records reads the records of entries (run ids and commits), from the
// cache where it has them: recs[i] or errs[i] for entries[i].
func (r *Repo) records(ctx context.Context, entries []listed) ([]*run.Record, []error, error) {
	var missed []int
	cache := r.loadCache()
	for i, e := range entries {
		if b, ok := cache[e.commit]; ok {
			if rec, err := codec.DecodeBinary(b); err == nil && rec.ID == e.id {
				entries[i].rec = rec
				continue
			}
		}
		missed = append(missed, i)
	}
	if err := r.readMissed(ctx, entries, missed); err != nil {
		return nil, nil, err
	}
	recs := make([]*run.Record, len(entries))
	errs := make([]error, len(entries))
	for i, e := range entries {
		recs[i], errs[i] = e.rec, e.err
		if e.rec == nil && e.err == nil {
			errs[i] = errors.New("unreadable record")
		}
	}
	return recs, errs, nil
}

// incomingRefs is what changed under a remote's tracking refs since the
// last merge from it.
type incomingRefs struct {
	runs, deleted map[string]plumbing.Hash // changed since, by id
	allDeleted    map[string]bool          // every tombstone fetched
	conflicts     map[string]plumbing.Hash // runs whose copy there is in conflict with ours: its commit
	all           map[string]plumbing.Hash // every tracking ref, by "r <id>" or "d <id>", and conflicts by "c <id>"
}

func (r *Repo) incoming(name string) (*incomingRefs, error) {
	runs, err := r.idRefs(TrackingPrefix + name + "/runs/")
	if err != nil {
		return nil, err
	}
	deleted, err := r.idRefs(TrackingPrefix + name + "/deleted/")
	if err != nil {
		return nil, err
	}
	before := r.mergedState(name)
	in := &incomingRefs{runs: map[string]plumbing.Hash{}, deleted: map[string]plumbing.Hash{},
		allDeleted: map[string]bool{}, conflicts: map[string]plumbing.Hash{},
		all: make(map[string]plumbing.Hash, len(runs)+len(deleted))}
	for id, h := range runs {
		in.all["r "+id] = h
		if before["r "+id] != h {
			in.runs[id] = h
		} else if before["c "+id] == h {
			in.conflicts[id] = h // still theirs, still unmerged
		}
	}
	for id, h := range deleted {
		in.all["d "+id] = h
		in.allDeleted[id] = true
		if before["d "+id] != h {
			in.deleted[id] = h
		}
	}
	return in, nil
}

// conflicted returns the runs in conflict with remote name's copy, with
// the commit of that copy.
func (r *Repo) conflicted(name string) map[string]plumbing.Hash {
	m := map[string]plumbing.Hash{}
	for k, h := range r.mergedState(name) {
		if id, ok := strings.CutPrefix(k, "c "); ok {
			m[id] = h
		}
	}
	return m
}

// mergedState reads what the tracking refs of remote name were at the
// last merge, and the runs left in conflict; empty when unknown, which makes the next merge look at
// every run (and change nothing that was merged before).
func (r *Repo) mergedState(name string) map[string]plumbing.Hash {
	data, err := os.ReadFile(filepath.Join(r.mergedDir(), name))
	m := map[string]plumbing.Hash{}
	if err != nil {
		return m
	}
	for len(data) > 0 {
		line, rest, _ := bytes.Cut(data, []byte("\n"))
		data = rest
		// "r <id> <hash>" or "d <id> <hash>"
		if len(line) != 2+26+1+40 {
			continue
		}
		var h plumbing.Hash
		if decodeHex(h[:], line[29:]) {
			m[string(line[:28])] = h
		}
	}
	return m
}

// noteMerged records the tracking refs as merged, but for those whose
// merge failed, to be looked at again; and the signature sig, when it
// was taken long enough after the files last changed to tell a later
// change apart.
func (r *Repo) noteMerged(name string, all map[string]plumbing.Hash, failed map[string]bool, sig string) error {
	if err := os.MkdirAll(r.mergedDir(), 0o755); err != nil {
		return err
	}
	var b bytes.Buffer
	for _, k := range slices.Sorted(maps.Keys(all)) {
		if !failed[k] {
			b.WriteString(k + " " + all[k].String() + "\n")
		}
	}
	if err := writeFileAtomic(filepath.Join(r.mergedDir(), name), b.Bytes()); err != nil {
		return err
	}
	if len(failed) > 0 {
		sig = ""
	}
	return writeFileAtomic(filepath.Join(r.mergedDir(), name+".sig"), []byte(sig))
}

// noteSent records remote-tracking refs that a push set (to what is
// here) or deleted as merged already, so that the next merge need not
// look at the runs here for them.
func (r *Repo) noteSent(name string, set []Ref, gone []string) error {
	if len(set) == 0 && len(gone) == 0 {
		return nil
	}
	state := r.mergedState(name)
	if len(state) == 0 {
		return nil // never merged: the first merge looks at everything anyway
	}
	prefixes := map[string]string{TrackingPrefix + name + "/runs/": "r ", TrackingPrefix + name + "/deleted/": "d "}
	key := func(ref string) string {
		for p, k := range prefixes {
			if id, ok := strings.CutPrefix(ref, p); ok {
				return k + id
			}
		}
		return ""
	}
	for _, ref := range set {
		if k := key(ref.Name); k != "" {
			state[k] = ref.Hash
		}
	}
	for _, ref := range gone {
		delete(state, key(ref))
	}
	var b bytes.Buffer
	for _, k := range slices.Sorted(maps.Keys(state)) {
		b.WriteString(k + " " + state[k].String() + "\n")
	}
	return writeFileAtomic(filepath.Join(r.mergedDir(), name), b.Bytes())
}

// racyWindow is how long after a file changed its time stamp may not yet
// tell it from a later change (coarse file system clocks): a signature
// that recent is not trusted.
var racyWindow = 2 * time.Second

// trackingSig describes the files that hold remote name's tracking refs:
// the times their directories last changed and those of packed-refs.
// git writes a ref by renaming a lock file into its directory, which
// changes the directory's time, so a fetch that moved any ref changes the
// signature. It is "" when too recent to trust.
func (r *Repo) trackingSig(name string) string {
	var b strings.Builder
	now := time.Now()
	for _, p := range []string{
		r.refPath(TrackingPrefix + name + "/runs"),
		r.refPath(TrackingPrefix + name + "/deleted"),
		r.refPath(TrackingPrefix + name + "/experiments"),
		filepath.Join(r.CommonDir, "packed-refs"),
	} {
		fi, err := os.Stat(p)
		if err != nil {
			b.WriteString("-;")
			continue
		}
		if now.Sub(fi.ModTime()) < racyWindow {
			return ""
		}
		b.WriteString(strconv.FormatInt(fi.ModTime().UnixNano(), 10) + "," + strconv.FormatInt(fi.Size(), 10) + ";")
	}
	return b.String()
}

// Unmerged lists the remotes whose tracking refs changed since they were
// last merged, as a plain git fetch changes them after remote setup. It
// reads no ref when nothing changed.
func (r *Repo) Unmerged() []string {
	names := map[string]bool{}
	if ents, err := os.ReadDir(r.refPath(TrackingPrefix)); err == nil {
		for _, e := range ents {
			if e.IsDir() {
				names[e.Name()] = true
			}
		}
	}
	if ents, err := os.ReadDir(r.mergedDir()); err == nil {
		for _, e := range ents {
			if n, ok := strings.CutSuffix(e.Name(), ".sig"); ok {
				names[n] = true
			}
		}
	} else if !errors.Is(err, fs.ErrNotExist) {
		r.warn(err)
	}
	var out []string
	for _, n := range slices.Sorted(maps.Keys(names)) {
		old, err := os.ReadFile(filepath.Join(r.mergedDir(), n+".sig"))
		if sig := r.trackingSig(n); err != nil || sig == "" || string(old) != sig {
			out = append(out, n)
		}
	}
	return out
}

// mergeExperiments brings the experiments last fetched from remote into
// those here, each by how the two commits relate: one new here is taken;
// one here that the remote's descends from moves to it (a fast-forward);
// one the remote's is an ancestor of stays; two that diverged become a
// merge commit of both (mergeDiverged). Experiments are few, so every one
// is looked at each time; the commits compared are equal for all but the
// ones edited since the last exchange. What cannot be merged is told and
// left for the next merge; an error means the refs could not be listed.
func (r *Repo) mergeExperiments(remote string, res *run.FetchResult) error {
	theirs, err := r.experimentRefs(trackingExperiments(remote))
	if err != nil || len(theirs) == 0 {
		return err
	}
	ours, err := r.experimentRefs(ExperimentsPrefix)
	if err != nil {
		return err
	}
	for _, id := range slices.Sorted(maps.Keys(theirs)) {
		t := theirs[id]
		o, here := ours[id]
		next := t
		if here {
			if o == t {
				continue
			}
			if next, err = r.mergedExperiment(id, o, t); err != nil {
				r.warn(fmt.Errorf("merge experiment %s from %s: %w", id, remote, err))
				continue
			}
			if next == o {
				continue
			}
		}
		if err := r.UpdateRef(ExperimentRef(id), next, o); err != nil {
			// Saved here meanwhile: the next merge looks again.
			r.warn(fmt.Errorf("merge experiment %s from %s: %w", id, remote, err))
			continue
		}
		res.Experiments = append(res.Experiments, id)
	}
	return nil
}

// mergedExperiment returns the commit experiment id should be at, given
// the commit here, ours, and the remote's, theirs.
func (r *Repo) mergedExperiment(id string, ours, theirs plumbing.Hash) (plumbing.Hash, error) {
	switch r.descent(ours, theirs) {
	case theirsDescends:
		return theirs, nil
	case oursDescends:
		return ours, nil
	}
	return r.mergeDiverged(id, ours, theirs)
}

// maxAncestorWalk bounds the commits descent reads. Beyond it two commits
// are taken for diverged, which is safe: their merge descends from both,
// whatever they are.
const maxAncestorWalk = 100_000

// How two commits of an experiment relate.
const (
	diverged = iota
	theirsDescends
	oursDescends
)

// descent tells which of two different commits descends from the other,
// if either does. It walks back from both at once, a commit from each in
// turn, so that it reads about twice the commits between them rather
// than the whole history of the one that is not the descendant: after an
// edit here, ours is a commit or two ahead of theirs.
func (r *Repo) descent(ours, theirs plumbing.Hash) int {
	type walk struct {
		todo   []plumbing.Hash
		seen   map[plumbing.Hash]bool
		target plumbing.Hash // the other start: reaching it ends the walk
		found  int
	}
	walks := [2]*walk{
		{todo: []plumbing.Hash{ours}, seen: map[plumbing.Hash]bool{ours: true}, target: theirs, found: oursDescends},
		{todo: []plumbing.Hash{theirs}, seen: map[plumbing.Hash]bool{theirs: true}, target: ours, found: theirsDescends},
	}
	for read := 0; read < maxAncestorWalk && (len(walks[0].todo) > 0 || len(walks[1].todo) > 0); {
		for _, w := range walks {
			if len(w.todo) == 0 {
				continue
			}
			h := w.todo[0]
			w.todo = w.todo[1:]
			read++
			c, err := r.ReadCommit(h)
			if err != nil {
				continue // missing history (a shallow clone): no path through it
			}
			for _, p := range c.ParentHashes {
				if p == w.target {
					return w.found
				}
				if !w.seen[p] {
					w.seen[p] = true
					w.todo = append(w.todo, p)
				}
			}
		}
	}
	return diverged
}

// mergeDiverged writes the merge of two copies of experiment id of which
// neither descends from the other: a commit with both as parents, holding
// the copy updated last (on equal times, the one whose commit id is
// smaller), with that copy's author and committer. The loser's name and
// former names join the winner's former names, so that runs recorded
// under either name on either clone stay in the experiment. The commit
// depends on the two copies alone, so that every clone that merges the
// same two writes the same commit, and clones that exchange their merges
// converge on it. A copy that cannot be read loses to one that can.
func (r *Repo) mergeDiverged(id string, ours, theirs plumbing.Hash) (plumbing.Hash, error) {
	a, b := ours, theirs
	if b.String() < a.String() {
		a, b = b, a
	}
	ea, errA := r.experimentAt(id, a)
	eb, errB := r.experimentAt(id, b)
	win, w, l := a, ea, eb
	switch {
	case errA != nil && errB != nil:
		return plumbing.ZeroHash, errA
	case errA != nil, errB == nil && eb.Updated.After(ea.Updated):
		win, w, l = b, eb, ea
	}
	c, err := r.ReadCommit(win)
	if err != nil {
		return plumbing.ZeroHash, err
	}
	merged := w.Clone()
	if l != nil {
		merged.Former = unionNames(w.Former, append(slices.Clone(l.Former), l.Name), w.Name)
	}
	tree := c.TreeHash
	if !slices.Equal(merged.Former, w.Former) {
		text, err := codec.EncodeExperiment(&merged)
		if err != nil {
			return plumbing.ZeroHash, err
		}
		if tree, err = r.experimentTree(text); err != nil {
			return plumbing.ZeroHash, err
		}
	}
	return r.WriteCommit(CommitSpec{
		Tree: tree, Parents: []plumbing.Hash{a, b},
		Author: c.Author, Committer: c.Committer,
		Message: experimentMessage(&merged, "merged"),
	})
}

// unionNames returns names and then the names of more it lacks, without
// name, at most run.MaxFormerNames of them.
func unionNames(names, more []string, name string) []string {
	out := slices.Clone(names)
	for _, n := range more {
		if n != name && !slices.Contains(out, n) && len(out) < run.MaxFormerNames {
			out = append(out, n)
		}
	}
	return out
}
