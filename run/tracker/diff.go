package tracker

import (
	"context"

	"github.com/gitruns/gitruns/diff"
	"github.com/gitruns/gitruns/run"
)

// DiffOptions choose what Diff adds to the comparison of two runs.
type DiffOptions struct {
	Code   bool // the unified diff of the files that differ
	Output bool // the diff of the two output logs
}

// Diff is what differs between two runs, or a run and the work tree.
type Diff struct {
	*diff.Result
	Code   string // unified diff of the code, when asked for
	Output string // diff of the output logs, when asked for
}

// Diff compares a with b, or with the work tree as it is now when b is
// nil: params, metrics, tags, attributes, and the files that differ
// between the exact sources they ran. A store that cannot read code
// compares records only.
func (t *Tracker) Diff(ctx context.Context, a Run, b *Run, o DiffOptions) (*Diff, error) {
	sa := diff.RunSide(a.Record)
	var sb diff.Side
	if b != nil {
		sb = diff.RunSide(b.Record)
	} else {
		src, err := t.store.CaptureSource(ctx)
		if err != nil {
			return nil, err
		}
		sb = diff.WorkTreeSide(src)
	}
	code, ok := t.code()
	if !ok {
		code = noCode{}
	}
	res, err := diff.Runs(code, sa, sb)
	if err != nil {
		return nil, err
	}
	d := &Diff{Result: res}
	if o.Code {
		if d.Code, err = diff.CodeDiff(code, sa, sb); err != nil {
			return nil, err
		}
	}
	if o.Output && b != nil {
		oa, err := t.Output(ctx, a)
		if err != nil {
			return nil, err
		}
		ob, err := t.Output(ctx, *b)
		if err != nil {
			return nil, err
		}
		d.Output = diff.Text(oa, ob)
	}
	return d, nil
}

// noCode is the code of a store that keeps none: every commit is an
// empty tree, so that runs compare by their records alone.
type noCode struct{}

func (noCode) CodeTree(c string) (string, error) { return "", nil }
func (noCode) CodeEntries(t string) ([]run.CodeEntry, error) {
	return nil, run.NotFound("no tree %s", t)
}
func (noCode) CodeBlob(id string) ([]byte, error) { return nil, run.NotFound("no blob %s", id) }
