package tracker

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/gitruns/gitruns/run"
)

// DefaultRemote is the remote to use when none is named: the current
// branch's, else origin.
func (t *Tracker) DefaultRemote() (string, error) {
	s, err := t.syncer()
	if err != nil {
		return "", err
	}
	return s.DefaultRemote(), nil
}

// pushAttempts bounds the rounds of push, fetch and merge that a push
// makes while other clones keep pushing edits of the same runs.
const pushAttempts = 10

// PushOptions tune a push.
type PushOptions struct {
	Progress io.Writer // where git's progress goes; nil for nowhere
	// AllowSecrets sends runs in which ScanSecrets finds secrets; without
	// it the push refuses with a *SecretsError and sends nothing.
	AllowSecrets bool
}

// SecretsError refuses a push of runs that hold secrets.
type SecretsError struct {
	Findings []SecretFinding
}

func (e *SecretsError) Error() string {
	return fmt.Sprintf("push: %d secret(s) in what would be sent, the first: %s", len(e.Findings), FormatSecretFinding(e.Findings[0]))
}

// Push sends runs to remote, with the code they ran: those given, or every
// run when runs is nil, the tombstones of runs deleted here, and the
// experiments stored here (an experiment the remote holds an edit of not
// merged here is fetched and merged like a run). Runs
// whose recording process died are committed as crashed first, and runs
// being recorded here are committed as their journals have them, so that
// what travels is up to date. What would be sent is scanned for secrets
// first (ScanSecrets), unless o.AllowSecrets. A run the remote holds an
// unmerged edit of is not overwritten: the push fetches, merges and tries
// again, and the report says what the merges did.
func (t *Tracker) Push(ctx context.Context, remote string, runs []Run, o PushOptions) (*run.PushReport, error) {
	s, err := t.syncer()
	if err != nil {
		return nil, err
	}
	if err := t.mergeUnmerged(ctx, s); err != nil {
		return nil, err
	}
	ids := t.checkpointForPush(runs)
	if !o.AllowSecrets {
		if err := t.refuseSecrets(ctx, s, ids); err != nil {
			return nil, err
		}
	}
	if o.AllowSecrets {
		defer t.markAccepted(ctx, s, ids)
	}
	progress := o.Progress
	var merged *run.FetchResult
	for try := 1; ; try++ {
		rep, err := s.Push(ctx, remote, ids, progress)
		if err != nil || try == pushAttempts || !anyStale(s, rep.Results) && !anyStale(s, rep.Experiments) {
			if rep != nil {
				rep.Merged = merged
			}
			return rep, err
		}
		if try > 2 {
			// Clones pushing edits of the same runs in lockstep would keep
			// racing: a random pause lets one of them through at a time.
			select {
			case <-time.After(time.Duration(rand.Int64N(int64(try) * int64(100*time.Millisecond)))):
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
		res, err := t.Fetch(ctx, remote, nil)
		if err != nil {
			return nil, fmt.Errorf("fetch what %s has before pushing again: %w", remote, err)
		}
		merged = addFetch(merged, res)
	}
}

// refuseSecrets scans the runs of ids (all for nil) not scanned before
// (ScanMarks), and refuses them with a *SecretsError.
func (t *Tracker) refuseSecrets(ctx context.Context, s Syncer, ids []string) error {
	marks, _ := t.store.(ScanMarks)
	scanned := func(string) bool { return false }
	if marks != nil {
		scanned = marks.Scanned()
	}
	todo, err := t.unscanned(ctx, s, ids, scanned)
	if err != nil {
		return err
	}
	found, err := t.ScanSecrets(ctx, todo)
	if err != nil {
		return err
	}
	if marks != nil {
		dirty := map[string]bool{}
		for _, f := range found {
			dirty[f.Run] = true
		}
		var clean []string
		for _, r := range todo {
			if !dirty[r.ID] {
				clean = append(clean, r.Commit)
			}
		}
		if err := marks.MarkScanned(clean); err != nil {
			t.warn(err)
		}
	}
	if len(found) > 0 {
		return &SecretsError{Findings: found}
	}
	return nil
}

// markAccepted marks the commits of the runs of ids (all for nil) as
// scanned: pushed with AllowSecrets, they were accepted as they are, and
// later pushes need not refuse them again.
func (t *Tracker) markAccepted(ctx context.Context, s Syncer, ids []string) {
	marks, ok := t.store.(ScanMarks)
	if !ok {
		return
	}
	heads, err := s.LocalRuns(ctx)
	if err != nil {
		t.warn(err)
		return
	}
	var commits []string
	for id, c := range heads {
		if ids == nil || slices.Contains(ids, id) {
			commits = append(commits, c)
		}
	}
	if err := marks.MarkScanned(commits); err != nil {
		t.warn(err)
	}
}

// fewUnscanned is the number of runs to scan up to which they are read
// one by one rather than listed with every other run.
const fewUnscanned = 64

// unscanned returns the committed runs of ids (all for nil) whose commits
// are not in scanned.
func (t *Tracker) unscanned(ctx context.Context, s Syncer, ids []string, scanned func(string) bool) ([]Run, error) {
	heads, err := s.LocalRuns(ctx)
	if err != nil {
		return nil, err
	}
	var todo []string
	for id, c := range heads {
		if (ids == nil || slices.Contains(ids, id)) && !scanned(c) {
			todo = append(todo, id)
		}
	}
	if len(todo) > fewUnscanned {
		rs, err := t.Runs(ctx)
		if err != nil {
			return nil, err
		}
		var runs []Run
		for _, r := range rs.All {
			if r.Commit != "" && !scanned(r.Commit) && (ids == nil || slices.Contains(ids, r.ID)) {
				runs = append(runs, r)
			}
		}
		return runs, nil
	}
	slices.Sort(todo)
	runs := make([]Run, 0, len(todo))
	for _, id := range todo {
		en, err := t.store.Load(ctx, id)
		if err != nil {
			// As a listing does: an unreadable run is told, not fatal.
			t.warn(fmt.Errorf("skipping run %s: %w", id, err))
			continue
		}
		runs = append(runs, Run{ID: en.ID, Commit: en.Commit, Record: en.Record})
	}
	return runs, nil
}

// checkpointForPush commits crashed runs and the live runs among runs (all
// when nil) as they are now, and returns the ids of runs (nil for all).
func (t *Tracker) checkpointForPush(runs []Run) []string {
	lives, err := t.recorder.List()
	if err != nil {
		t.warn(err)
	}
	if _, err := t.recorder.Recover(lives); err != nil {
		t.warn(err)
	}
	var ids []string
	if runs != nil {
		ids = make([]string, len(runs))
		for i, r := range runs {
			ids[i] = r.ID
		}
	}
	for _, l := range lives {
		if l.Alive && (ids == nil || slices.Contains(ids, l.ID)) {
			if err := t.recorder.Checkpoint(l.ID); err != nil {
				t.warn(err)
			}
		}
	}
	return ids
}

func anyStale(s Syncer, res []run.PushResult) bool {
	for _, r := range res {
		if r.Status == "rejected" && s.Stale(r.Reason) {
			return true
		}
	}
	return false
}

// addFetch adds what one more fetch did to what earlier ones did.
func addFetch(sum, res *run.FetchResult) *run.FetchResult {
	if sum == nil {
		return res
	}
	sum.New = append(sum.New, res.New...)
	sum.Updated = append(sum.Updated, res.Updated...)
	sum.Deleted = append(sum.Deleted, res.Deleted...)
	sum.Conflicts = append(sum.Conflicts, res.Conflicts...)
	sum.Bad = append(sum.Bad, res.Bad...)
	sum.Experiments = append(sum.Experiments, res.Experiments...)
	return sum
}

// Fetch brings remote's runs and tombstones, with the code the runs ran,
// merges them into the runs here (docs/FORMAT.md, "Merging") and marks
// the new and changed ones as fetched until someone looks at them here.
func (t *Tracker) Fetch(ctx context.Context, remote string, progress io.Writer) (*run.FetchResult, error) {
	s, err := t.syncer()
	if err != nil {
		return nil, err
	}
	res, err := s.Fetch(ctx, remote, progress)
	if err != nil {
		return nil, err
	}
	t.noteFetched(remote, res)
	return res, nil
}

func (t *Tracker) noteFetched(remote string, res *run.FetchResult) {
	if err := t.store.MarkFetched(remote, append(slices.Clip(res.New), res.Updated...)); err != nil {
		t.warn(err)
	}
	for _, c := range res.Conflicts {
		t.warn(fmt.Errorf("run %s: not merged with %s's copy: %s; kept the one here", short(c.ID), remote, c.Why))
	}
	for _, b := range res.Bad {
		t.warn(fmt.Errorf("run from %s not merged: %s", remote, b))
	}
}

// mergeUnmerged merges what git fetched from remotes since the last merge
// (a plain git fetch after remote setup), before runs are listed or sent.
func (t *Tracker) mergeUnmerged(ctx context.Context, s Syncer) error {
	for _, remote := range s.Unmerged() {
		res, err := s.Merge(ctx, remote)
		if err != nil {
			return fmt.Errorf("merge runs fetched from %s: %w", remote, err)
		}
		t.noteFetched(remote, res)
	}
	return nil
}

// RemoteStatus counts the runs only here, only on the remote, on both at
// different commits, and the same on both.
type RemoteStatus struct {
	OnlyHere, OnlyThere, Differ, Same int
}

// CompareRemote tells how the runs here and on remote differ.
func (t *Tracker) CompareRemote(ctx context.Context, remote string) (RemoteStatus, error) {
	s, err := t.syncer()
	if err != nil {
		return RemoteStatus{}, err
	}
	theirs, err := s.RemoteRuns(ctx, remote)
	if err != nil {
		return RemoteStatus{}, err
	}
	ours, err := s.LocalRuns(ctx)
	if err != nil {
		return RemoteStatus{}, err
	}
	var st RemoteStatus
	for id, h := range ours {
		switch t, ok := theirs[id]; {
		case !ok:
			st.OnlyHere++
		case t != h:
			st.Differ++
		default:
			st.Same++
		}
	}
	for id := range theirs {
		if _, ok := ours[id]; !ok {
			st.OnlyThere++
		}
	}
	return st, nil
}

// SetupRemote makes the store's own fetches from remote bring runs.
func (t *Tracker) SetupRemote(ctx context.Context, remote string) (bool, error) {
	s, err := t.syncer()
	if err != nil {
		return false, err
	}
	return s.SetupRemote(ctx, remote)
}
