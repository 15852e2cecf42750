package live_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
)

// mlflowFileStore2000 is MLflow's file store creating the same 2,000 runs
// on this kind of machine (ANCHORS.md), the figure to beat.
const mlflowFileStore2000 = 30.7

// BenchmarkRecord2000 creates and finishes 2,000 runs, each with 5 params
// and 3 metrics of 100 points, through the Go API, in a fresh repository
// per iteration. "shared-source" captures the code once for the sweep, as
// a sweep script does; "per-run-source" snapshots the work tree for every
// run (one git status each).
func BenchmarkRecord2000(b *testing.B) {
	for _, shared := range []bool{true, false} {
		name := "per-run-source"
		if shared {
			name = "shared-source"
		}
		b.Run(name, func(b *testing.B) {
			var total time.Duration
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				dir, repo := newRepo(b)
				var src *run.Source
				if shared {
					s, err := repo.CaptureSource(context.Background())
					if err != nil {
						b.Fatal(err)
					}
					src = &s
				}
				b.StartTimer()
				start := time.Now()
				for n := 0; n < 2000; n++ {
					r, err := recorderOf(repo).Start(ctx, live.Options{Source: src, Params: map[string]any{
						"lr": 0.01, "epochs": n, "model": "rf", "depth": 3, "bn": true,
					}})
					if err != nil {
						b.Fatal(err)
					}
					for s := 0; s < 100; s++ {
						r.LogMetric("loss", 1/float64(s+1), live.NextStep)
						r.LogMetric("acc", float64(s)/100, live.NextStep)
						r.LogMetric("lr", 0.01, live.NextStep)
					}
					if err := r.End(run.Finished); err != nil {
						b.Fatal(err)
					}
				}
				total += time.Since(start)
				b.StopTimer()
				waitForGC(b, dir) // the runs may have started one; the directory goes next
				b.StartTimer()
			}
			sec := total.Seconds() / float64(b.N)
			b.ReportMetric(sec, "s/2000runs")
			b.ReportMetric(mlflowFileStore2000/sec, "x-faster-than-mlflow")
			fmt.Printf("record 2000 runs (%s): %.2f s; MLflow file store: %.1f s; ratio %.1fx\n", name, sec, mlflowFileStore2000, mlflowFileStore2000/sec)
		})
	}
}

// BenchmarkLogMetric logs points of three metrics in turn into a live run:
// the cost exec pays for every metric line of a command's output.
func BenchmarkLogMetric(b *testing.B) {
	_, repo := newRepo(b)
	r, err := recorderOf(repo).Start(ctx, live.Options{})
	if err != nil {
		b.Fatal(err)
	}
	keys := []string{"loss", "acc", "val/loss"}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r.LogMetric(keys[i%3], 1/float64(i+1), live.NextStep)
	}
	b.StopTimer()
	if err := r.End(run.Finished); err != nil {
		b.Fatal(err)
	}
}
