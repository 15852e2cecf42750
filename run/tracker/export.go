package tracker

import (
	"context"
	"errors"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/outlog"
)

// Points calls f with every point of every metric of runs, run by run in
// the given order, keys in byte order, each key's points as logged: the
// long form that export writes and data frames read.
func (t *Tracker) Points(ctx context.Context, runs []Run, f func(r Run, key string, p run.Point) error) error {
	for _, r := range runs {
		h, err := t.History(ctx, r)
		if err != nil {
			return err
		}
		for _, k := range slices.Sorted(maps.Keys(h)) {
			for _, p := range h[k] {
				if err := f(r, k, p); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// OutputSoFar returns the output log of r: while r is recorded on this
// machine, what its command has printed up to now; else its output as
// committed. It is nil when the run kept no output.
func (t *Tracker) OutputSoFar(ctx context.Context, r Run) ([]byte, error) {
	if r.Live {
		w := t.recorder.Watch(r.ID)
		if _, live, err := w.Poll(); err == nil && live && w.OutputPrefix() != "" {
			data, _, err := outlog.Read(w.OutputPrefix(), 0)
			return data, err
		}
		// It ended since it was listed: its commit has it all.
		if en, err := t.store.Load(ctx, r.ID); err == nil {
			r.Commit = en.Commit
		}
	}
	return t.Output(ctx, r)
}

// OpenArtifact opens the file stored with r at path (below artifacts/,
// as Artifacts lists it), to write it back out. A file that is not
// there is an error wrapping run.ErrNotFound that names the files that
// are, when there are few.
func (t *Tracker) OpenArtifact(ctx context.Context, r Run, path string) (io.ReadCloser, error) {
	if r.Commit == "" {
		return nil, run.NotFound("run %s has no artifacts yet (it has not been committed)", r.ID)
	}
	f, err := t.store.OpenArtifact(ctx, r.Commit, path)
	if err == nil || !errors.Is(err, run.ErrNotFound) {
		return f, err
	}
	arts, lerr := t.store.Artifacts(ctx, r.Commit)
	if lerr != nil || len(arts) == 0 {
		return nil, run.NotFound("run %s has no artifact %s (it has none)", r.ID, path)
	}
	names := make([]string, 0, 5)
	for _, a := range arts[:min(len(arts), 5)] {
		names = append(names, a.Path)
	}
	if len(arts) > 5 {
		names = append(names, "…")
	}
	return nil, run.NotFound("run %s has no artifact %s (it has %s)", r.ID, path, strings.Join(names, ", "))
}
