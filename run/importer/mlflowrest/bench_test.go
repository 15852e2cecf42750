package mlflowrest_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run/importer"
	"github.com/gitruns/gitruns/run/importer/mlflowrest"
)

// BenchmarkImportFromServe imports 100 runs of 3 metrics of 1,000 points
// each from git runs serve, and prints the time against a baseline
// measured in the same run: reading the same runs' histories straight
// from the source repository.
func BenchmarkImportFromServe(b *testing.B) {
	const runs, points = 100, 1000
	_, a := repo(b)
	base := serve(b, a)
	c := mlflowClient{b, base}
	exp := c.post("experiments/create", map[string]any{"name": "bench"})["experiment_id"].(string)
	for i := range runs {
		res := c.post("runs/create", map[string]any{"experiment_id": exp, "run_name": fmt.Sprint("r", i), "start_time": 1_780_000_000_000})
		id := res["run"].(map[string]any)["info"].(map[string]any)["run_id"].(string)
		for _, k := range []string{"loss", "acc", "lr"} {
			var ms []map[string]any
			for s := range points {
				ms = append(ms, metricJSON(k, float64(s)/7, 1_780_000_000_000+int64(s), int64(s)))
			}
			c.post("runs/log-batch", map[string]any{"run_id": id, "metrics": ms})
		}
		c.post("runs/update", map[string]any{"run_id": id, "status": "FINISHED", "end_time": 1_780_000_100_000})
	}
	start := time.Now()
	rs, err := a.Runs(ctx)
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for _, r := range rs.All {
		h, err := a.History(ctx, r)
		if err != nil {
			b.Fatal(err)
		}
		n += len(h["loss"]) + len(h["acc"]) + len(h["lr"])
	}
	baseline := time.Since(start)
	if n != runs*3*points {
		b.Fatalf("%d points; want %d", n, runs*3*points)
	}
	b.ResetTimer()
	var total time.Duration
	for range b.N {
		b.StopTimer()
		_, dst := repo(b)
		src, err := mlflowrest.Open(base, mlflowrest.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		t0 := time.Now()
		res, err := importer.Import(ctx, dst, src, importer.Options{})
		total += time.Since(t0)
		b.StopTimer()
		src.Close()
		if err != nil || res.Count(importer.New) != runs {
			b.Fatalf("%v %v", res, err)
		}
		b.StartTimer()
	}
	per := total / time.Duration(b.N)
	b.ReportMetric(float64(per.Milliseconds()), "ms/import")
	b.ReportMetric(float64(per)/float64(baseline), "x-baseline")
	b.Logf("%d runs, %d points: import %v, reading the source repository's histories %v (%.1fx)", runs, n, per, baseline, float64(per)/float64(baseline))
}
