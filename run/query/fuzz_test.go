package query

import (
	"testing"
	"unicode/utf8"
)

// seeds are valid and invalid expressions to start fuzzing from.
var seeds = []string{
	"metrics.acc > 0.9 and params.model = 'rf'",
	"metric.acc>0.9 AND param.model=\"rf\"",
	"tags.team = 'vision' or not attributes.status = 'finished'",
	"params.opt LIKE 'ad%'", "params.opt ilike '_D%'", "params.opt not like 'x'",
	"attributes.run_id IN ('a', 'b')", "id not in (1, 2.5, 'x', true)",
	"metrics.`val/acc` >= 1e-3", "metrics.`a``b`.min < -.5",
	"metrics.train.loss.min < 1", "metrics.`train.loss.min` < 1",
	"params.optimizer.lr == 0.01", "params.lr <> '0.01'",
	"started > -7d", "ended <= '2026-11-27'", "started = '2026-11-27T10:00:00Z'",
	"duration > 1.5h", "dirty = TRUE", "not (metrics.a > 1 and metrics.b < 2) or metrics.c = 3",
	"((metrics.a = 1))", "tags.note = 'it''s'", `tags.note = "say ""hi"""`,
	"params.x.0.y = false", "params.`a b` = 'c'", "Metrics.Acc > 1",
	"metrics.acc <", "metrics.acc < )", "", "metrics.acc", "metrics.acc = 'x'",
	"foo = 1", "attributes.foo = 1", "metrics. = 1", "tags.t = 'x", "(metrics.a = 1",
	"metrics.a ! 1", "metrics.a = 1x", "started > 'yesterday'", "params.a < true",
	"metrics.a like 'x'", "params.a = -7d", "params.a in (1 2)", "params.a not = 1",
	"metrics.a = 1e999", "`", "metrics.``", "a.`b", "not not not metrics.a = 1",
	`tags."mlflow.note" = "x"`, `metrics."a""b".min = 1`, `params."" = 1`, `tags."x`,
	"attributes.status = 'FINISHED'", "start_time > 1795348800000", "started = 1.5",
	"metrics.a = 1 and metrics.b = 2 and (metrics.c = 3 or metrics.d = 4 or metrics.e = 5)",
}

func FuzzParse(f *testing.F) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		e, err := Parse(s)
		if err != nil {
			if e != nil {
				t.Fatalf("Parse(%q) returned both %v and %v", s, e, err)
			}
			return
		}
		printed := e.String()
		if !utf8.ValidString(printed) {
			t.Fatalf("Parse(%q).String() = %q is not UTF-8", s, printed)
		}
		e2, err := Parse(printed)
		if err != nil {
			t.Fatalf("Parse(%q) printed %q, which does not parse: %v", s, printed, err)
		}
		if p2 := e2.String(); p2 != printed {
			t.Fatalf("Parse(%q) printed %q, which prints as %q", s, printed, p2)
		}
		for _, r := range records() {
			Match(e, r, now) // must not panic
		}
	})
}

func FuzzParseKey(f *testing.F) {
	for _, s := range []string{"metrics.acc", "params.lr", "attributes.started", "started", "metrics.loss.min", "tags.team", "metrics.`val/acc`", "metrics.`a.min`", "x", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseKey(s)
		if err != nil {
			return
		}
		k2, err := ParseKey(k.String())
		if err != nil || k2 != k {
			t.Fatalf("ParseKey(%q) = %q, which parses as %#v, %v", s, k, k2, err)
		}
		for _, r := range records() {
			k.Value(r)
		}
	})
}
