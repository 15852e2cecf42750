package query

import (
	"slices"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
)

func TestSuggest(t *testing.T) {
	keys := []string{"metrics.loss", "metrics.acc", "metrics.f1", "metrics.val_loss", "params.lr", "tags.team"}
	tests := []struct {
		word string
		want []string
	}{
		{"metrics.los", []string{"metrics.loss"}},
		{"metrics.acx", []string{"metrics.acc"}},
		{"metrics.cac", []string{"metrics.acc"}}, // a swap is one edit
		{"params.lrr", []string{"params.lr"}},
		{"tags.tem", []string{"tags.team"}},
		{"metrics.zzzzzz", nil},
		{"METRICS.LOSS", []string{"metrics.loss"}},
		{"metrics.val", []string{"metrics.val_loss"}}, // a prefix of it
		{"loss", nil}, // no key is that close
	}
	for _, tc := range tests {
		if got := Suggest(tc.word, keys, 3); !slices.Equal(got, tc.want) {
			t.Errorf("Suggest(%q) = %q, want %q", tc.word, got, tc.want)
		}
	}
	if got := Suggest("los", []string{"loss", "lose", "lost", "cost"}, 2); !slices.Equal(got, []string{"lose", "loss"}) {
		t.Errorf("at most n, closest then by name: %q", got)
	}
}

func TestKeys(t *testing.T) {
	e, err := Parse("metrics.acc > 0.9 and (params.lr = 1 or not tags.team like 'v%') and metrics.acc < 1 and run_id in ('a')")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, k := range Keys(e) {
		got = append(got, k.String())
	}
	want := []string{"metrics.acc", "params.lr", "tags.team", "attributes.run_id"}
	if !slices.Equal(got, want) {
		t.Errorf("Keys = %q, want %q", got, want)
	}
}

func TestResolveIDs(t *testing.T) {
	e, err := Parse("run_id = 'ab12' or run_id in ('cd34', 'x') or run_id like 'ab%' or run_id > 'ab12'")
	if err != nil {
		t.Fatal(err)
	}
	if got := RunIDs(e); !slices.Equal(got, []string{"ab12", "cd34", "x"}) {
		t.Errorf("RunIDs = %q", got)
	}
	full := map[string]string{"ab12": "ab12full", "cd34": "cd34full"}
	r := ResolveIDs(e, func(v string) string {
		if f, ok := full[v]; ok {
			return f
		}
		return v
	})
	want := "attributes.run_id = 'ab12full' or attributes.run_id in ('cd34full', 'x') or attributes.run_id like 'ab%' or attributes.run_id > 'ab12'"
	if r.String() != want {
		t.Errorf("resolved:\n got %s\nwant %s", r, want)
	}
	if e.String() == r.String() {
		t.Error("the expression resolved was changed in place")
	}
	m, err := Match(r, &run.Record{ID: "cd34full"}, time.Now())
	if err != nil || !m {
		t.Errorf("resolved expression does not match the full id: %v %v", m, err)
	}
}

func TestNamed(t *testing.T) {
	r := &run.Record{Metrics: map[string]run.Summary{"loss": {Last: 1}}, Params: map[string]any{"lr": 0.1}}
	for key, want := range map[string]bool{"metrics.loss": true, "metrics.loss.min": true, "metrics.los": false, "params.lr": true, "tags.x": false, "status": true} {
		k, err := ParseKey(key)
		if err != nil {
			t.Fatal(err)
		}
		if got := k.Named(r); got != want {
			t.Errorf("%s.Named = %v, want %v", key, got, want)
		}
	}
}
