package query

import (
	"fmt"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
)

// benchRecords builds n varied records.
func benchRecords(n int) []*run.Record {
	base := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	models := []string{"rf", "adam", "sgd", "xgb"}
	recs := make([]*run.Record, n)
	for i := range recs {
		recs[i] = &run.Record{
			ID:      fmt.Sprintf("run%06d", i),
			Name:    fmt.Sprintf("name-%d", i),
			Status:  run.Finished,
			Started: base.Add(time.Duration(i) * time.Minute),
			Ended:   base.Add(time.Duration(i)*time.Minute + time.Duration(i%100)*time.Second),
			Params: map[string]any{
				"lr":     float64(i%100) / 1000,
				"epochs": int64(i % 50),
				"model":  models[i%len(models)],
			},
			Tags: map[string]string{"team": models[i%3]},
			Metrics: map[string]run.Summary{
				"acc":        {Last: float64(i%1000) / 1000, Min: 0.1, Max: 0.99, Count: 100, Step: 99},
				"train.loss": {Last: 0.5, Min: float64(i%7) / 10, Max: 2, Count: 100, Step: 99},
			},
		}
	}
	return recs
}

// BenchmarkMatch matches 100,000 records per iteration.
func BenchmarkMatch(b *testing.B) {
	recs := benchRecords(100000)
	now := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	for _, bc := range []struct{ name, expr string }{
		{"simple", "metrics.acc > 0.9"},
		{"complex", "metrics.acc > 0.9 and params.model = 'rf' or params.lr < 0.01 and not tags.team in ('sgd', 'x') or metrics.train.loss.min <= 0.2 and started > -30d and params.model like 'a%'"},
	} {
		e, err := Parse(bc.expr)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				n := 0
				for _, r := range recs {
					m, err := Match(e, r, now)
					if err != nil {
						b.Fatal(err)
					}
					if m {
						n++
					}
				}
				if n == 0 {
					b.Fatal("nothing matched")
				}
			}
		})
	}
}

func TestMatchAllocs(t *testing.T) {
	recs := benchRecords(100)
	e, err := Parse("metrics.acc > 0.9 and params.model = 'rf' or params.lr < 0.01 and not tags.team in ('sgd', 'x') or metrics.train.loss.min <= 0.2 and started > -30d and params.model ilike 'A%'")
	if err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(10, func() {
		for _, r := range recs {
			Match(e, r, now)
		}
	})
	if allocs != 0 {
		t.Errorf("Match allocates %v times per 100 records", allocs)
	}
}
