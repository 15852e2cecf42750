package tracker

import (
	"context"
	"io"
	"slices"

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

// Push sends runs to remote, with the code they ran: those given, or every
// run when runs is nil. Runs whose recording process died are committed
// as crashed first, and runs being recorded here are committed as their
// journals have them, so that what travels is up to date.
func (t *Tracker) Push(ctx context.Context, remote string, runs []Run, progress io.Writer) ([]run.PushResult, error) {
	s, err := t.syncer()
	if err != nil {
		return nil, err
	}
	lives, err := t.recorder.List()
	if err != nil {
		return nil, err
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
	return s.Push(ctx, remote, ids, progress)
}

// Fetch brings remote's runs and the code they ran, and marks the new and
// moved ones as fetched until someone looks at them here.
func (t *Tracker) Fetch(ctx context.Context, remote string, progress io.Writer) (*run.FetchResult, error) {
	s, err := t.syncer()
	if err != nil {
		return nil, err
	}
	res, err := s.Fetch(ctx, remote, progress)
	if err != nil {
		return nil, err
	}
	if err := t.store.MarkFetched(remote, append(res.New, res.Updated...)); err != nil {
		t.warn(err)
	}
	return res, nil
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
