package tracker_test

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/tracker"
)

// TestSystemMetricsNotPicked checks that the views that pick metrics for
// the reader (a listing's columns, the UI's differing keys, compare) leave
// system metrics out, which differ from run to run whatever the program
// did, while a query still reaches them by name.
func TestSystemMetricsNotPicked(t *testing.T) {
	rs := someRuns()
	for i := range rs.All {
		rs.All[i].Record.Metrics["system/rss_mb"] = run.Summary{Last: float64(100 + i), Count: 1}
		rs.All[i].Record.Metrics["system/gpu0/util_percent"] = run.Summary{Last: float64(i), Count: 1}
	}
	for _, c := range tracker.Columns(rs.All) {
		if strings.Contains(c.Key, "system/") {
			t.Errorf("Columns picked %s", c.Key)
		}
	}
	if _, metrics := tracker.Differing(rs.All, 0); slices.ContainsFunc(metrics, run.IsSystemMetric) {
		t.Errorf("Differing picked %q", metrics)
	}
	var keys []string
	for _, row := range tracker.Compare(rs.All, time.Now()) {
		keys = append(keys, row.Key)
	}
	if !slices.Contains(keys, "metrics.acc") || slices.ContainsFunc(keys, func(k string) bool { return strings.Contains(k, "system/") }) {
		t.Errorf("Compare rows %q", keys)
	}
	got, err := rs.Query(tracker.Query{Where: "metrics.`system/rss_mb` > 100"})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 {
		t.Errorf("a query by name found %d runs, want 2", len(got))
	}
}
