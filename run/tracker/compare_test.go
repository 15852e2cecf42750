package tracker_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/tracker"
)

// someRuns are three runs whose keys differ in known ways.
func someRuns() *tracker.Runs {
	mk := func(id, name, exp string, params map[string]any, metrics map[string]float64, tags map[string]string) tracker.Run {
		ms := map[string]run.Summary{}
		for k, v := range metrics {
			ms[k] = run.Summary{Last: v, Min: v, Max: v, Count: 1}
		}
		return tracker.Run{ID: id, Commit: "c" + id, Record: &run.Record{ID: id, Name: name, Experiment: exp, Status: run.Finished, Params: params, Metrics: ms, Tags: tags}}
	}
	return &tracker.Runs{All: []tracker.Run{
		mk("01jdm3x4aaaaaaaaaaaaaaaaac", "r3", "default", map[string]any{"lr": 0.3, "batch": int64(64), "const": "x"}, map[string]float64{"acc": 0.83, "loss": 0.3}, map[string]string{"team": "a", "mlflow.user": "ada", run.DeletedTag: "1"}),
		mk("01jdm3x4aaaaaaaaaaaaaaaaab", "r2", "other", map[string]any{"lr": 0.2, "batch": int64(32), "const": "x"}, map[string]float64{"acc": 0.82, "loss": 0.2}, map[string]string{"team": "b"}),
		mk("01jdm9zzaaaaaaaaaaaaaaaaaa", "r1", "default", map[string]any{"lr": 0.1, "batch": int64(32), "const": "x"}, map[string]float64{"acc": 0.82}, nil),
	}}
}

func TestColumns(t *testing.T) {
	var got []string
	for _, c := range tracker.Columns(someRuns().All) {
		got = append(got, c.Key)
	}
	// experiment, tags, then params and metrics in turn, most values first;
	// const never differs, mlflow.* and gitruns.* tags are not the user's
	want := []string{"attributes.experiment", "tags.team", "params.lr", "metrics.loss", "params.batch", "metrics.acc"}
	if !slices.Equal(got, want) {
		t.Errorf("Columns = %q\nwant %q", got, want)
	}
	one := tracker.Columns(someRuns().All[:1])
	if len(one) != 6 { // a single run: every key (3 params, 2 metrics, team)
		t.Errorf("one run: %d columns, want 6: %v", len(one), one)
	}
}

func TestCheck(t *testing.T) {
	rs := someRuns()
	errs := rs.Check(tracker.Query{Where: "metrics.los < 1 and tags.team = 'a' and run_id = '01jdm3x4' and run_id = '01jdm9zz'", Sort: "params.lrr"})
	var msgs []string
	for _, err := range errs {
		msgs = append(msgs, err.Error())
	}
	want := []string{
		"no run has params.lrr; did you mean params.lr?",
		"no run has metrics.los; did you mean metrics.loss?",
		`run id "01jdm3x4" is the start of several run ids; give more of it`,
	}
	if !slices.Equal(msgs, want) {
		t.Errorf("Check:\n got %q\nwant %q", msgs, want)
	}
	var uk *tracker.UnknownKeyError
	if !errors.As(errs[0], &uk) || !uk.Sort || uk.Key != "params.lrr" {
		t.Errorf("the sort key's error: %#v", errs[0])
	}
	if errs := rs.Check(tracker.Query{Where: "metrics.acc > 0 and status = 'finished'", Sort: "metrics.loss"}); len(errs) != 0 {
		t.Errorf("keys that exist: %v", errs)
	}
}

func TestQueryShortID(t *testing.T) {
	rs := someRuns()
	for where, want := range map[string][]string{
		"run_id = '01jdm9zz'":                      {"r1"},
		"run_id in ('01jdm3x4aaaaaaaaaaaaaaaaab')": {"r2"},
		"run_id = '01jdm3x4'":                      nil, // two runs start so
		"run_id != '01jdm9zz'":                     {"r3", "r2"},
		"run_id = '01jd'":                          nil,
		"run_id like '01jdm3x4%' and name != 'r3'": {"r2"},
	} {
		got, err := rs.Query(tracker.Query{Where: where, Deleted: tracker.AlsoDeleted})
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, r := range got {
			names = append(names, r.Record.Name)
		}
		if !slices.Equal(names, want) {
			t.Errorf("%s: %q, want %q", where, names, want)
		}
	}
}

func TestCompareAndTableHaveTags(t *testing.T) {
	rs := someRuns()
	rows := tracker.Compare(rs.All, time.Now())
	var keys []string
	for _, r := range rows {
		if strings.HasPrefix(r.Key, "tags.") {
			keys = append(keys, r.Key)
			if r.Key == "tags.team" && (r.Values[0] != "a" || r.Values[1] != "b" || r.Values[2] != nil || !r.Differ) {
				t.Errorf("tags.team row: %+v", r)
			}
		}
	}
	if !slices.Equal(keys, []string{"tags.mlflow.user", "tags.team"}) {
		t.Errorf("compare's tag rows: %q", keys)
	}
	head, table := tracker.Table(rs.All, time.Now())
	i := slices.Index(head, "tags.team")
	if i < 0 || table[0][i] != "a" || table[2][i] != "" || slices.Contains(head, "tags."+run.DeletedTag) {
		t.Errorf("table: %q %q", head, table)
	}
}

func TestBestSuggests(t *testing.T) {
	_, _, err := tracker.Best(someRuns().All, "acx", false)
	if err == nil || err.Error() != `no run has metric "acx"; did you mean acc?` {
		t.Errorf("Best: %v", err)
	}
}
