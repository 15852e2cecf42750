package diff

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
)

// BenchmarkRuns compares two runs with 1,000 params, 1,000 metrics and
// code that differs in 100 of 1,000 files spread over 20 directories, with
// the objects loose as a run leaves them, then packed as after git gc.
func BenchmarkRuns(b *testing.B) {
	dir, repo := newRepo(b)
	files := map[string][]byte{}
	for i := range 1000 {
		files[fmt.Sprintf("pkg%02d/sub/file%03d.py", i%20, i)] = []byte(numbered(fmt.Sprintf("x%d = ", i), 200))
	}
	write(b, dir, files)
	codeA := commit(b, dir, "A")
	changed := map[string][]byte{}
	for i := 0; i < 1000; i += 10 {
		text := numbered(fmt.Sprintf("x%d = ", i), 200)
		text = strings.Replace(text, " 50\n", " 50 changed\n", 1)
		text = strings.Replace(text, " 150\n", " 150 changed\n", 1) + "extra\n"
		changed[fmt.Sprintf("pkg%02d/sub/file%03d.py", i%20, i)] = []byte(text)
	}
	write(b, dir, changed)
	codeB := commit(b, dir, "B")

	rec := func(id, code string, shift float64) *run.Record {
		r := &run.Record{
			ID: id, Name: id, Experiment: "default", Status: run.Finished,
			Started: time.Unix(1e9, 0), Ended: time.Unix(1e9+60, 0),
			Source:  run.Source{Commit: code},
			Params:  map[string]any{},
			Metrics: map[string]run.Summary{},
		}
		for i := range 1000 {
			switch i % 4 {
			case 0:
				r.Params[fmt.Sprintf("p%04d", i)] = int64(i)
			case 1:
				r.Params[fmt.Sprintf("p%04d", i)] = float64(i) + shift
			case 2:
				r.Params[fmt.Sprintf("p%04d", i)] = fmt.Sprint("v", i)
			case 3:
				r.Params[fmt.Sprintf("p%04d", i)] = []any{int64(i), shift}
			}
			r.Metrics[fmt.Sprintf("m%04d", i)] = run.Summary{Last: float64(i) + shift, Count: 10}
		}
		return r
	}
	a := Side{Record: rec("a", codeA, 0), Source: codeA}
	c := Side{Record: rec("b", codeB, 0.5), Source: codeB}

	res, err := Runs(repo, a, c)
	if err != nil {
		b.Fatal(err)
	}
	if len(res.Files) != 100 || len(res.Params) != 500 || len(res.Metrics) != 1000 {
		b.Fatalf("%d files, %d params, %d metrics differ; want 100, 500, 1000", len(res.Files), len(res.Params), len(res.Metrics))
	}
	if f := res.Files[0]; f.Added != 3 || f.Removed != 2 {
		b.Fatalf("%s: +%d -%d, want +3 -2", f.Path, f.Added, f.Removed)
	}
	bench := func(b *testing.B) {
		for b.Loop() {
			if _, err := Runs(repo, a, c); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("loose", bench)
	git(b, dir, "gc", "-q")
	b.Run("packed", bench)
}
