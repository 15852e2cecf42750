package query_test

import (
	"fmt"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/query"
)

func Example() {
	now := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	recs := []*run.Record{
		{ID: "a", Started: now.Add(-time.Hour), Params: map[string]any{"lr": 0.01}, Metrics: map[string]run.Summary{"acc": {Last: 0.93}}},
		{ID: "b", Started: now.Add(-time.Hour), Params: map[string]any{"lr": 0.1}, Metrics: map[string]run.Summary{"acc": {Last: 0.97}}},
		{ID: "c", Started: now.Add(-30 * 24 * time.Hour), Params: map[string]any{"lr": 0.01}},
	}
	e, err := query.Parse("METRIC.acc > 0.9 AND (param.lr = '0.01' OR started > -1d)")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(e)
	key, _ := query.ParseKey("metrics.acc")
	query.Sort(recs, key, true)
	for _, r := range recs {
		ok, _ := query.Match(e, r, now)
		fmt.Println(r.ID, ok)
	}
	_, err = query.Parse("metrics.acc <")
	fmt.Println(err)
	// Output:
	// metrics.acc > 0.9 and (params.lr = '0.01' or attributes.started > -1d)
	// b true
	// a true
	// c false
	// query: at column 14: expected a value after "<", found end of input
}
