package live_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
	"github.com/gitruns/gitruns/run/outlog"
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

// BenchmarkLogMetricDuringCheckpoint measures how long LogMetric takes
// while a checkpoint of a big run is written: a run of 1,000,000 points
// and a full 10 MiB output log, committed into a git repository, with a
// training loop logging beside it. It prints the percentiles of the
// calls made during the commit; logging must never wait for one (the
// goal is under 1 ms at the 99.9th percentile).
func BenchmarkLogMetricDuringCheckpoint(b *testing.B) {
	for range b.N {
		_, repo := newRepo(b)
		r, err := recorderOf(repo).Start(ctx, live.Options{Output: true, OutputLimit: 10 << 20, Checkpoint: time.Hour})
		if err != nil {
			b.Fatal(err)
		}
		fillOutput(b, r.OutputPrefix(), 10<<20)
		for i := range 1000000 {
			if err := r.LogMetric(fmt.Sprintf("m%d", i%10), float64(i), live.NextStep); err != nil {
				b.Fatal(err)
			}
		}
		if err := r.Flush(); err != nil {
			b.Fatal(err)
		}
		var lat []time.Duration
		saved := make(chan time.Duration, 1)
		start := time.Now()
		go func() {
			if err := r.Checkpoint(); err != nil {
				b.Error(err)
			}
			saved <- time.Since(start)
		}()
		var took time.Duration
	loop:
		for i := 0; ; i++ {
			select {
			case took = <-saved:
				break loop
			default:
			}
			t0 := time.Now()
			if err := r.LogMetric("loss", 1/float64(i+1), live.NextStep); err != nil {
				b.Fatal(err)
			}
			lat = append(lat, time.Since(t0))
		}
		if err := r.End(run.Finished); err != nil {
			b.Fatal(err)
		}
		slices.Sort(lat)
		q := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
		fmt.Printf("checkpoint of 1M points + 10 MiB output: %v; %d LogMetric calls meanwhile: p50 %v, p99 %v, p99.9 %v, max %v\n",
			took.Round(time.Millisecond), len(lat), q(0.5), q(0.99), q(0.999), lat[len(lat)-1])
		b.ReportMetric(float64(q(0.999))/1e3, "p99.9-us")
		b.ReportMetric(float64(lat[len(lat)-1])/1e3, "max-us")
	}
}

// fillOutput writes n bytes of lines into the output log at prefix, as a
// chatty command would have printed them.
func fillOutput(b *testing.B, prefix string, n int) {
	log, err := outlog.Create(prefix, int64(n), nil)
	if err != nil {
		b.Fatal(err)
	}
	line := []byte("epoch 3 batch 1200/5000 loss=0.31415 acc=0.9265 lr=0.001 elapsed 12.3s\n")
	for w := 0; w < n+len(line); w += len(line) {
		log.Write(line)
	}
	if err := log.Close(); err != nil {
		b.Fatal(err)
	}
}
