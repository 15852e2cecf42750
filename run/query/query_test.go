package query

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
)

func TestParsePrint(t *testing.T) {
	tests := []struct{ in, out string }{
		{"metrics.acc > 0.9 and params.model = 'rf'", "metrics.acc > 0.9 and params.model = 'rf'"},
		{"metric.acc>0.9 AND param.model=\"rf\"", "metrics.acc > 0.9 and params.model = 'rf'"},
		{"tag.team = 'vision'", "tags.team = 'vision'"},
		{"attributes.status = 'finished'", "attributes.status = 'finished'"},
		{"attr.id IN ('a', \"b\")", "attributes.run_id in ('a', 'b')"},
		{"run_id not in ('a')", "attributes.run_id not in ('a')"},
		{"params.opt LIKE 'ad%'", "params.opt like 'ad%'"},
		{"params.opt ilike 'AD%'", "params.opt ilike 'AD%'"},
		{"params.opt NOT ILIKE 'AD%'", "params.opt not ilike 'AD%'"},
		{"metrics.`val/acc` >= 1e-3", "metrics.`val/acc` >= 1e-3"},
		{"metrics.`a``b` = -1", "metrics.`a``b` = -1"},
		{"metrics.train.loss.min < .5", "metrics.train.loss.min < .5"},
		{"metrics.`train.loss.min` < 1", "metrics.`train.loss.min` < 1"},
		{"metrics.`train.loss`.min < 1", "metrics.train.loss.min < 1"},
		{"metrics.`a/b`.max < 1", "metrics.`a/b`.max < 1"},
		{"metrics.min = 1", "metrics.min = 1"},
		{`tags."mlflow.note" = "x"`, "tags.mlflow.note = 'x'"},
		{`metrics."val acc" = 1`, "metrics.`val acc` = 1"},
		{`metrics."a""b".min = 1`, "metrics.`a\"b`.min = 1"},
		{"params.optimizer.lr == 0.01", "params.optimizer.lr = 0.01"},
		{"params.`optimizer.lr` <> 0.01", "params.optimizer.lr != 0.01"},
		{"start_time > -7d", "attributes.started > -7d"},
		{"ended <= '2026-11-27'", "attributes.ended <= '2026-11-27'"},
		{"duration > 1.5h", "attributes.duration > 1.5h"},
		{"dirty = TRUE", "attributes.dirty = true"},
		{"a.b = 1 or c = 2", ""}, // error, checked below
		{"not metrics.a > 1 and metrics.b < 2 or metrics.c = 3", "not metrics.a > 1 and metrics.b < 2 or metrics.c = 3"},
		{"not (metrics.a > 1 and metrics.b < 2)", "not (metrics.a > 1 and metrics.b < 2)"},
		{"metrics.a > 1 and (metrics.b < 2 or metrics.c = 3)", "metrics.a > 1 and (metrics.b < 2 or metrics.c = 3)"},
		{"(metrics.a > 1 and metrics.b < 2) or metrics.c = 3", "metrics.a > 1 and metrics.b < 2 or metrics.c = 3"},
		{"((metrics.a = 1))", "metrics.a = 1"},
		{"tags.note = 'it''s'", "tags.note = 'it''s'"},
		{`tags.note = "say ""hi"""`, `tags.note = 'say "hi"'`},
		{`tags.path = 'C:\temp'`, `tags.path = 'C:\temp'`},
		{"params.x.0.y = true", "params.x.0.y = true"},
		{"params.`a b` = 'c'", "params.`a b` = 'c'"},
		{"Metrics.Acc > 1", "metrics.Acc > 1"},
	}
	for _, tt := range tests {
		e, err := Parse(tt.in)
		if tt.out == "" {
			if err == nil {
				t.Errorf("Parse(%q) = %v, want an error", tt.in, e)
			}
			continue
		}
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := e.String(); got != tt.out {
			t.Errorf("Parse(%q).String() = %q, want %q", tt.in, got, tt.out)
		}
		e2, err := Parse(e.String())
		if err != nil || e2.String() != tt.out {
			t.Errorf("reparse of %q: %v, %v", tt.out, e2, err)
		}
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct{ in, want string }{
		{"metrics.acc <", `query: at column 14: expected a value after "<", found end of input`},
		{"metrics.acc < )", `query: at column 15: expected a value after "<", found ")"`},
		{"", `query: at column 1: expected a key such as metrics.acc, found end of input`},
		{"metrics.acc", `query: at column 12: expected an operator (= != < <= > >= in like ilike) after metrics.acc, found end of input`},
		{"metrics.acc = 'x'", `query: at column 15: metrics.acc is a number, cannot compare it with 'x'`},
		{"tags.t = 1", `query: at column 10: tags.t is a string, cannot compare it with 1`},
		{"foo = 1", `query: at column 1: unknown key "foo": expected metrics.NAME, params.NAME, tags.NAME or an attribute`},
		{"attributes.foo = 1", `query: at column 1: unknown attribute "foo" (known: run_id, run_name, experiment, status, started, ended, duration, commit, branch, dirty, parent)`},
		{"metrics. = 1", `query: at column 9: expected a name after ".", found " "`},
		{"metrics = 1", `query: at column 1: expected a name after "metrics."`},
		{"tags.t = 'x", `query: at column 10: unterminated string`},
		{"metrics.a = 1 metrics.b = 2", `query: at column 15: expected and, or or end of input, found "metrics.b"`},
		{"(metrics.a = 1", `query: at column 15: expected ")", found end of input`},
		{"metrics.a ! 1", `query: at column 11: expected "=" after "!", found " "`},
		{"metrics.a = 1x", `query: at column 13: malformed number "1x"`},
		{"started > 'yesterday'", `query: at column 11: expected a time such as '2026-11-27' or '2026-11-27T10:00:00Z' or a relative time such as -7d, found 'yesterday'`},
		{"params.a < true", `query: at column 12: cannot order booleans with <`},
		{"metrics.a like 'x'", `query: at column 16: metrics.a is a number, cannot match it with like`},
		{"params.a = -7d", `query: at column 12: relative time -7d only compares with started, ended and duration`},
		{"params.a in (1 2)", `query: at column 16: expected "," or ")" in list, found "2"`},
		{"params.a not = 1", `query: at column 14: expected in, like or ilike after "not", found "="`},
		{"tags.é = 'x' and ? ", `query: at column 18: unexpected '?'`},
		{"metrics.a = 1e999", `query: at column 13: number 1e999 out of range`},
	}
	for _, tt := range tests {
		_, err := Parse(tt.in)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Parse(%q) error:\n got %v\nwant %s", tt.in, err, tt.want)
		}
	}
}

var now = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func records() []*run.Record {
	return []*run.Record{
		{
			ID: "a1", Name: "brave-otter", Experiment: "default", Status: run.Finished,
			Started: now.Add(-48 * time.Hour), Ended: now.Add(-47 * time.Hour),
			Source:  run.Source{Commit: "abc", Branch: "main", Dirty: true},
			Params:  map[string]any{"lr": 0.01, "epochs": int64(10), "model": "rf", "optimizer.lr": 0.001, "flag": true, "layers": []any{int64(1), int64(2)}, "num": "10"},
			Tags:    map[string]string{"team": "vision"},
			Metrics: map[string]run.Summary{"acc": {Last: 0.95, Min: 0.5, Max: 0.96, Count: 10, Step: 9}, "train.loss": {Last: 0.1, Min: 0.05, Max: 2, Count: 3, Step: 2}, "val/acc": {Last: 0.9}},
		},
		{
			ID: "b2", Name: "calm-fox", Experiment: "default", Status: run.Running,
			Started: now.Add(-time.Hour),
			Params:  map[string]any{"lr": int64(1), "model": "Adam", "epochs": 10.0},
			Metrics: map[string]run.Summary{"acc": {Last: math.NaN(), Min: math.NaN(), Max: math.NaN(), Count: 1}, "loss.min": {Last: 7}, "loss": {Min: 3}},
		},
		{
			ID: "c3", Name: "odd-owl", Experiment: "other", Status: run.Failed,
			Started: now.Add(-10 * 24 * time.Hour), Ended: now.Add(-10*24*time.Hour + 30*time.Second),
			Tags: map[string]string{"team": "nlp"},
		},
	}
}

func TestMatch(t *testing.T) {
	recs := records()
	tests := []struct {
		expr string
		want string // ids that match, in order
	}{
		{"metrics.acc > 0.9", "a1"},
		{"metrics.acc <= 0.9", ""},
		{"metrics.acc != 0.9", "a1"}, // NaN compares false with everything; c3 lacks acc
		{"not metrics.acc > 0.9", "b2 c3"},
		{"metrics.acc > 0.9 and params.model = 'rf'", "a1"},
		{"metrics.train.loss < 0.2", "a1"},
		{"metrics.train.loss.min = 0.05", "a1"},
		{"metrics.train.loss.count = 3", "a1"},
		{"metrics.train.loss.step = 2", "a1"},
		{"metrics.acc.max >= 0.96", "a1"},
		{"metrics.loss.min = 7", "b2"}, // whole name wins
		{"metrics.`loss`.min = 7", "b2"},
		{"metrics.loss.min = 3", ""},
		{"metrics.`val/acc` = 0.9", "a1"},
		{"params.lr < 0.1", "a1"},
		{"params.lr >= 1", "b2"},
		{"params.lr = '0.01'", "a1"},
		{"params.lr = 1.0", "b2"},
		{"params.epochs = 10", "a1 b2"},
		{"params.epochs = '10'", "a1 b2"},
		{"params.num = 10", "a1"},
		{"params.num = 10.0", "a1"},
		{"params.num = '10'", "a1"},
		{"params.optimizer.lr = 0.001", "a1"},
		{"params.flag = true", "a1"},
		{"params.flag = 'true'", "a1"},
		{"params.layers = '[1, 2]'", "a1"},
		{"params.model != 'rf'", "b2"},
		{"params.model like 'r%'", "a1"},
		{"params.model like 'ad%'", ""},
		{"params.model ilike 'ad%'", "b2"},
		{"params.model ilike 'A_AM'", "b2"},
		{"params.model not like 'r%'", "b2"},
		{"params.lr like '0.0%'", "a1"},
		{"params.model in ('rf', 'x')", "a1"},
		{"params.model not in ('rf', 'x')", "b2"},
		{"params.model > 'B'", "a1"},
		{"tags.team = 'vision'", "a1"},
		{"tags.team != 'vision'", "c3"},
		{"tags.team in ('vision', 'nlp')", "a1 c3"},
		{"attributes.status = 'finished'", "a1"},
		{"status != 'finished'", "b2 c3"},
		{"attributes.status = 'FINISHED'", "a1"},
		{"status in ('RUNNING', 'Failed')", "b2 c3"},
		{"attributes.start_time >= 1795348800000", "a1 b2"},
		{"attributes.start_time < 1795348800000", "c3"},
		{"id in ('a1', 'c3')", "a1 c3"},
		{"run_name like '%o%'", "a1 b2 c3"},
		{"run_name like '%o_'", "b2"},
		{"experiment = 'default' and not status = 'running'", "a1"},
		{"branch = 'main'", "a1"},
		{"commit != 'x'", "a1"},
		{"dirty = true", "a1"},
		{"dirty != true", "b2 c3"},
		{"started > -7d", "a1 b2"},
		{"started < -7d", "c3"},
		{"started >= -1h", "b2"},
		{"ended > -3d", "a1"},
		{"not ended > -3d", "b2 c3"},
		{"started = '2026-11-25'", "a1"},
		{"started > '2026-11-25'", "b2"},
		{"started >= '2026-11-25'", "a1 b2"},
		{"started < '2026-11-25'", "c3"},
		{"started <= '2026-11-25'", "a1 c3"},
		{"started != '2026-11-25'", "b2 c3"},
		{"started = '2026-11-27T11:00:00Z'", "b2"},
		{"started > '2026-11-27T11:00:00+01:00'", "b2"},
		{"duration < 60", "c3"},
		{"duration = 1h", "a1 b2"},
		{"duration > 59m and duration < 1.1h", "a1 b2"},
		{"metrics.acc > 0.9 or tags.team = 'nlp'", "a1 c3"},
		{"(metrics.acc > 0.9 or tags.team = 'nlp') and status = 'failed'", "c3"},
		{"not not tags.team = 'nlp'", "c3"},
	}
	for _, tt := range tests {
		e, err := Parse(tt.expr)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.expr, err)
			continue
		}
		var got []string
		for _, r := range recs {
			m, err := Match(e, r, now)
			if err != nil {
				t.Errorf("Match(%q, %s): %v", tt.expr, r.ID, err)
			}
			if m {
				got = append(got, r.ID)
			}
		}
		if g := strings.Join(got, " "); g != tt.want {
			t.Errorf("%q matches %q, want %q", tt.expr, g, tt.want)
		}
	}
}

func TestMatchErrors(t *testing.T) {
	r := records()[0]
	tests := []struct{ expr, want string }{
		{"params.model < 0.5", "query: params.model is a string, cannot compare it with 0.5 using <"},
		{"params.lr > 'a'", "query: params.lr is a number, cannot compare it with 'a' using >"},
		{"params.flag <= 1", "query: params.flag is a boolean, cannot compare it with 1 using <="},
		{"params.layers >= 1", "query: params.layers is a list, cannot compare it with 1 using >="},
	}
	for _, tt := range tests {
		e, err := Parse(tt.expr)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Match(e, r, now)
		if err == nil || err.Error() != tt.want {
			t.Errorf("Match(%q) error = %v, want %s", tt.expr, err, tt.want)
		}
	}
	// A run lacking the param has nothing to mistype.
	e, _ := Parse("params.model < 0.5")
	if m, err := Match(e, records()[2], now); m || err != nil {
		t.Errorf("Match on a run without the param = %v, %v", m, err)
	}
}

func TestLike(t *testing.T) {
	tests := []struct {
		s, p string
		fold bool
		want bool
	}{
		{"", "", false, true},
		{"", "%", false, true},
		{"a", "", false, false},
		{"abc", "a%c", false, true},
		{"abc", "a_c", false, true},
		{"abc", "a_", false, false},
		{"abcbc", "%bc", false, true},
		{"abcbd", "%b_d", false, false},
		{"abbcd", "%b_d", false, true},
		{"aXb", "a%%b", false, true},
		{"Ünï", "ü%", true, true},
		{"Ünï", "ü%", false, false},
		{"é", "_", false, true},
		{"adam", "AD%", true, true},
	}
	for _, tt := range tests {
		if got := like(tt.s, tt.p, tt.fold); got != tt.want {
			t.Errorf("like(%q, %q, %v) = %v", tt.s, tt.p, tt.fold, got)
		}
	}
}

func TestParseKey(t *testing.T) {
	tests := []struct{ in, out string }{
		{"metrics.acc", "metrics.acc"},
		{"params.lr", "params.lr"},
		{"attributes.started", "attributes.started"},
		{"started", "attributes.started"},
		{"metrics.loss.min", "metrics.loss.min"},
		{"tags.team", "tags.team"},
		{"metrics.`val/acc`", "metrics.`val/acc`"},
		{"name", "attributes.run_name"},
	}
	for _, tt := range tests {
		k, err := ParseKey(tt.in)
		if err != nil {
			t.Errorf("ParseKey(%q): %v", tt.in, err)
			continue
		}
		if k.String() != tt.out {
			t.Errorf("ParseKey(%q) = %q, want %q", tt.in, k, tt.out)
		}
	}
	for _, bad := range []string{"", "metrics.acc x", "foo", "metrics", "1"} {
		if _, err := ParseKey(bad); err == nil {
			t.Errorf("ParseKey(%q) succeeded", bad)
		}
	}
	if _, err := ParseKey("metrics.acc x"); err == nil || err.Error() != `query: at column 13: expected end of input after key, found "x"` {
		t.Errorf("ParseKey error = %v", err)
	}
}

func TestNameKeyReadsBack(t *testing.T) {
	for _, c := range []struct{ kind, name, want string }{
		{"param", "lr", "params.lr"}, {"metric", "val/acc", "metrics.`val/acc`"},
		{"metric", "loss.min", "metrics.`loss.min`"}, {"tag", "team", "tags.team"}, {"metric", "Val Loss", "metrics.`Val Loss`"},
	} {
		k := NameKey(c.kind, c.name)
		back, err := ParseKey(k.String())
		if k.String() != c.want || err != nil || back.String() != k.String() {
			t.Errorf("NameKey(%s, %q) = %q (read back: %q, %v), want %q", c.kind, c.name, k, back, err, c.want)
		}
		rec := &run.Record{Params: map[string]any{c.name: 1.5}, Metrics: map[string]run.Summary{c.name: {Last: 2.5}}, Tags: map[string]string{c.name: "x"}}
		if v, ok := back.Value(rec); !ok || v == nil {
			t.Errorf("%s reads nothing of a record with %q", k, c.name)
		}
	}
}

func TestKeyValue(t *testing.T) {
	r := records()[0]
	tests := []struct {
		key  string
		want any
		ok   bool
	}{
		{"metrics.acc", 0.95, true},
		{"metrics.acc.count", int64(10), true},
		{"metrics.acc.min", 0.5, true},
		{"metrics.train.loss.step", int64(2), true},
		{"metrics.nope", nil, false},
		{"params.epochs", int64(10), true},
		{"tags.team", "vision", true},
		{"tags.nope", nil, false},
		{"status", "finished", true},
		{"started", now.Add(-48 * time.Hour), true},
		{"duration", 3600.0, true},
		{"dirty", true, true},
	}
	for _, tt := range tests {
		k, err := ParseKey(tt.key)
		if err != nil {
			t.Fatal(err)
		}
		v, ok := k.Value(r)
		if ok != tt.ok || v != tt.want {
			t.Errorf("%s.Value = %v, %v; want %v, %v", tt.key, v, ok, tt.want, tt.ok)
		}
	}
	k, _ := ParseKey("ended")
	if _, ok := k.Value(records()[1]); ok {
		t.Error("a running run has an end time")
	}
}

func TestSort(t *testing.T) {
	mk := func(id string, acc any) *run.Record {
		r := &run.Record{ID: id, Metrics: map[string]run.Summary{}, Params: map[string]any{}}
		switch v := acc.(type) {
		case float64:
			r.Metrics["acc"] = run.Summary{Last: v}
			r.Params["x"] = v
		case int64:
			r.Params["x"] = v
		case string:
			r.Params["x"] = v
		}
		return r
	}
	ids := func(recs []*run.Record) string {
		var s []string
		for _, r := range recs {
			s = append(s, r.ID)
		}
		return strings.Join(s, " ")
	}
	recs := []*run.Record{mk("a", 0.5), mk("b", nil), mk("c", 0.9), mk("d", math.NaN()), mk("e", 0.1), mk("f", 0.5)}
	acc, _ := ParseKey("metrics.acc")
	Sort(recs, acc, false)
	if got := ids(recs); got != "e a f c d b" {
		t.Errorf("ascending: %s", got)
	}
	Sort(recs, acc, true)
	if got := ids(recs); got != "c a f e d b" {
		t.Errorf("descending: %s", got)
	}
	recs = []*run.Record{mk("s", "z"), mk("i", int64(2)), mk("n", nil), mk("f", 1.5), mk("t", "a"), mk("j", int64(1))}
	x, _ := ParseKey("params.x")
	Sort(recs, x, false)
	if got := ids(recs); got != "j f i t s n" {
		t.Errorf("mixed params: %s", got)
	}
	started, _ := ParseKey("started")
	recs = []*run.Record{{ID: "late", Started: now}, {ID: "none"}, {ID: "early", Started: now.Add(-time.Hour)}}
	Sort(recs, started, true)
	if got := ids(recs); got != "late early none" {
		t.Errorf("times: %s", got)
	}
}
