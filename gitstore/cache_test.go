package gitstore

import (
	"context"
	"os"
	"reflect"
	"testing"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
)

// TestListRunsBatchRead checks that records read through one git cat-file
// process are exactly those read object by object, and that a run whose
// record cannot be read is still reported as such.
func TestListRunsBatchRead(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	for i := 0; i < 30; i++ {
		lr, err := live.Recorder{Store: r, Dir: r.LiveDir()}.Start(context.Background(), live.Options{Params: map[string]any{"i": i, "lr": 0.1}, Tags: map[string]string{"k": "v"}})
		if err != nil {
			t.Fatal(err)
		}
		lr.LogMetric("loss", float64(i), live.NextStep)
		if err := lr.End(run.Finished); err != nil {
			t.Fatal(err)
		}
	}
	// A ref under refs/runs whose commit holds no run.toml.
	bad := writeRun(t, r, "not a record")
	if err := r.UpdateRef(RefName(run.NewID()), bad, zero); err != nil {
		t.Fatal(err)
	}

	list := func(min int) []run.Entry {
		defer func(old int) { batchReadMin = old }(batchReadMin)
		batchReadMin = min
		os.RemoveAll(r.indexDir())
		entries, err := r.List(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		return entries
	}
	before := batchRecords.Load()
	batched := list(1)
	if got := batchRecords.Load() - before; got != 30 {
		t.Errorf("git cat-file read %d records, want 30", got)
	}
	single := list(1 << 30)
	if len(batched) != 31 || len(single) != 31 {
		t.Fatalf("listed %d and %d runs, want 31", len(batched), len(single))
	}
	for i := range batched {
		b, s := batched[i], single[i]
		if (b.Err == nil) != (s.Err == nil) {
			t.Errorf("run %s: batch error %v, single error %v", b.ID, b.Err, s.Err)
			continue
		}
		if !reflect.DeepEqual(b.Record, s.Record) {
			t.Errorf("run %s: batch read\n%+v\nsingle read\n%+v", b.ID, b.Record, s.Record)
		}
	}
	if batched[0].Err == nil {
		t.Errorf("the newest ref has no record, yet no error")
	}
}
