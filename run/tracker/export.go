package tracker

import (
	"context"
	"maps"
	"slices"

	"github.com/gitruns/gitruns/run"
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
