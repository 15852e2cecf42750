package wandb_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/importer"
	"github.com/gitruns/gitruns/run/importer/internal/importtest"
	"github.com/gitruns/gitruns/run/importer/wandb"
	"github.com/gitruns/gitruns/run/mlflowtags"
	"github.com/gitruns/gitruns/run/tracker"
)

var ctx = context.Background()

// expected is what gen.py wrote, the oracle of the tests.
type expected struct {
	Runs []struct {
		ID, Name, Project, Status, History string
		Start, End                         int64
		Params, Tags                       map[string]string
		Metrics                            map[string][][3]any
		Artifacts                          map[string]*int64
		Output                             string
		Problems                           int
	}
}

// git runs git in dir, with git as referee.
var git = importtest.Git

// repo makes a git repository with one commit, and its tracker.
func repo(t *testing.T) (string, *tracker.Tracker, string) {
	r := importtest.NewRepo(t)
	return r.Dir, r.Tracker, r.Head
}

func generate(t *testing.T, commit string) (string, expected) {
	t.Helper()
	out := t.TempDir()
	cmd := exec.Command("python3", filepath.Join("..", "..", "..", "testdata", "wandb", "gen.py"), out, commit)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("gen.py: %v\n%s", err, b)
	}
	data, err := os.ReadFile(filepath.Join(out, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var e expected
	if err := json.Unmarshal(data, &e); err != nil {
		t.Fatal(err)
	}
	return out, e
}

// TestImport imports gen.py's runs and checks every name, status, time,
// param, tag, point and artifact against what it wrote.
func TestImport(t *testing.T) {
	dir, tr, head := repo(t)
	src, want := generate(t, head)
	s, err := wandb.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	res, err := importer.Import(ctx, tr, s, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	problems := 0
	for _, r := range want.Runs {
		problems += r.Problems
	}
	if len(res.Problems) != problems || res.Count(importer.New) != len(want.Runs) {
		t.Fatalf("%s: %v; want %d new runs, %d problems", res.Summary(false), res.Problems, len(want.Runs), problems)
	}
	for _, p := range res.Problems {
		if !strings.Contains(p.Where, "ghi789jk") {
			t.Errorf("problem %v; want only the damaged run's", p)
		}
	}
	check(t, tr, want, head)
	git(t, dir, "fsck", "--full", "--strict")

	// Again: nothing new.
	s, _ = wandb.Open(filepath.Join(src, "wandb"))
	res, err = importer.Import(ctx, tr, s, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(importer.Unchanged) != len(want.Runs) {
		t.Errorf("second import: %s; want all unchanged", res.Summary(false))
	}
}

func check(t *testing.T, tr *tracker.Tracker, want expected, head string) {
	t.Helper()
	rs, err := tr.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]tracker.Run{}
	for _, r := range rs.All {
		got[r.Record.Tags[wandb.TagRunID]] = r
	}
	for _, w := range want.Runs {
		r, ok := got[w.ID]
		if !ok {
			t.Errorf("run %s not imported", w.ID)
			continue
		}
		rec := r.Record
		if rec.Name != w.Name || rec.Experiment != w.Project || string(rec.Status) != w.Status {
			t.Errorf("run %s: name, experiment, status %q %q %q; want %q %q %q", w.ID, rec.Name, rec.Experiment, rec.Status, w.Name, w.Project, w.Status)
		}
		if rec.Started.UnixMilli() != w.Start || rec.Ended.UnixMilli() != w.End {
			t.Errorf("run %s: times %d-%d; want %d-%d", w.ID, rec.Started.UnixMilli(), rec.Ended.UnixMilli(), w.Start, w.End)
		}
		params := map[string]any{}
		for k, v := range w.Params {
			params[k] = mlflowtags.ParamValue(v)
		}
		if !reflect.DeepEqual(rec.Params, params) {
			t.Errorf("run %s: params %#v; want %#v", w.ID, rec.Params, params)
		}
		tags := map[string]string{wandb.TagRunID: w.ID, wandb.TagHistory: w.History}
		for k, v := range w.Tags {
			tags[k] = v
		}
		if w.ID == "abc123de" || w.ID == "syn00001" {
			tags[mlflowtags.Commit] = head
			if rec.Source.Commit != head {
				t.Errorf("run %s: source commit %q; want %s", w.ID, rec.Source.Commit, head)
			}
		}
		if !reflect.DeepEqual(rec.Tags, tags) {
			t.Errorf("run %s: tags %#v; want %#v", w.ID, rec.Tags, tags)
		}
		h, err := tr.History(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if len(h) != len(w.Metrics) {
			t.Errorf("run %s: metrics %v; want %d", w.ID, len(h), len(w.Metrics))
		}
		for k, pts := range w.Metrics {
			if len(h[k]) != len(pts) {
				t.Errorf("run %s: metric %s has %d points; want %d", w.ID, k, len(h[k]), len(pts))
				continue
			}
			for i, p := range pts {
				step, ts := int64(p[0].(float64)), int64(p[1].(float64))
				v := value(t, p[2].(string))
				g := h[k][i]
				if g.Step != step || g.Time != ts || math.Float64bits(g.Value) != math.Float64bits(v) {
					t.Errorf("run %s: metric %s point %d is %+v; want %d %d %v", w.ID, k, i, g, step, ts, v)
					break
				}
			}
		}
		arts, err := tr.Artifacts(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		paths := map[string]bool{}
		for _, a := range arts {
			paths[a.Path] = true
			size, ok := w.Artifacts[a.Path]
			if !ok {
				t.Errorf("run %s: artifact %s not in the run", w.ID, a.Path)
			} else if size != nil && *size != a.Size {
				t.Errorf("run %s: artifact %s of %d bytes; want %d", w.ID, a.Path, a.Size, *size)
			}
		}
		for p := range w.Artifacts {
			if !paths[p] {
				t.Errorf("run %s: artifact %s missing", w.ID, p)
			}
		}
		out, err := tr.Output(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		if string(out) != w.Output {
			t.Errorf("run %s: output %q; want %q", w.ID, out, w.Output)
		}
	}
}

func value(t *testing.T, s string) float64 {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

// TestCommitted holds the committed fixtures to what gen.py writes, so
// that they stay what the tests check.
func TestCommitted(t *testing.T) {
	src, _ := generate(t, "0123456789abcdef0123456789abcdef01234567")
	committed := filepath.Join("..", "..", "..", "testdata", "wandb")
	err := filepath.Walk(src, func(p string, fi os.FileInfo, err error) error {
		if err != nil || fi.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		a, _ := os.ReadFile(p)
		b, err := os.ReadFile(filepath.Join(committed, rel))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("testdata/wandb/%s differs from what gen.py writes (python3 gen.py . there)", rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestLive leaves a run whose record log has no exit record and was
// written a moment ago for a later import: it may still be running.
func TestLive(t *testing.T) {
	_, tr, head := repo(t)
	src, _ := generate(t, head)
	log := filepath.Join(src, "wandb", "offline-run-20260530_210000-ghi789jk", "run-ghi789jk.wandb")
	now := time.Now()
	if err := os.Chtimes(log, now, now); err != nil {
		t.Fatal(err)
	}
	s, err := wandb.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	res, err := importer.Import(ctx, tr, s, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(importer.Running) != 1 || res.Count(importer.New) != 3 {
		t.Errorf("%s; want 3 new, 1 running", res.Summary(false))
	}
}

// TestBadDirs names what is wrong in one line.
func TestBadDirs(t *testing.T) {
	empty := t.TempDir()
	for _, c := range []struct{ dir, want string }{
		{filepath.Join(empty, "nothere"), "open W&B runs: stat "},
		{empty, "holds no W&B run directory"},
	} {
		_, err := wandb.Open(c.dir)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Open(%s): %v; want %q", c.dir, err, c.want)
		}
	}
	// A damaged history file keeps its lines before the damage.
	_, tr, head := repo(t)
	src, _ := generate(t, head)
	hist := filepath.Join(src, "wandb", "offline-run-20260528_203320-abc123de", "files", "wandb-history.jsonl")
	f, _ := os.OpenFile(hist, os.O_APPEND|os.O_WRONLY, 0)
	io.WriteString(f, "{not json\n")
	f.Close()
	s, _ := wandb.Open(src)
	res, err := importer.Import(ctx, tr, s, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, p := range res.Problems {
		if strings.HasSuffix(p.Where, "wandb-history.jsonl") && strings.Contains(p.Err.Error(), "line 51: not JSON") {
			found = true
		}
	}
	if !found {
		t.Errorf("problems %v; want line 51 of the history file", res.Problems)
	}
	rs, _ := tr.Runs(ctx)
	for _, r := range rs.All {
		if r.Record.Tags[wandb.TagRunID] == "abc123de" && r.Record.Metrics["loss"].Count != 50 {
			t.Errorf("loss has %d points; want the 50 before the bad line", r.Record.Metrics["loss"].Count)
		}
	}
	_ = run.Finished
}

// TestSymlinks follows no symbolic link out of a run's directory: a
// config.yaml that is one is named and its content not read (the record
// log's config stands in), and a link among the files is no artifact.
func TestSymlinks(t *testing.T) {
	_, tr, head := repo(t)
	src, _ := generate(t, head)
	outside := filepath.Join(t.TempDir(), "secret.yaml")
	os.WriteFile(outside, []byte("secret:\n  value: 42\n"), 0o644)
	files := filepath.Join(src, "wandb", "offline-run-20260528_203320-abc123de", "files")
	os.Remove(filepath.Join(files, "config.yaml"))
	if err := os.Symlink(outside, filepath.Join(files, "config.yaml")); err != nil {
		t.Fatal(err)
	}
	os.Symlink(outside, filepath.Join(files, "link.txt"))
	os.Symlink(filepath.Dir(outside), filepath.Join(files, "linkdir"))
	s, err := wandb.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	res, err := importer.Import(ctx, tr, s, importer.Options{})
	if err != nil {
		t.Fatal(err)
	}
	named := false
	for _, p := range res.Problems {
		if strings.HasSuffix(p.Where, "abc123de/files/config.yaml") {
			named = true
		}
	}
	if !named {
		t.Errorf("problems %v; want the linked config.yaml named", res.Problems)
	}
	rs, _ := tr.Runs(ctx)
	for _, r := range rs.All {
		if r.Record.Tags[wandb.TagRunID] != "abc123de" {
			continue
		}
		if !reflect.DeepEqual(r.Record.Params, map[string]any{"lr": 0.001}) {
			t.Errorf("params %v; want the record log's", r.Record.Params)
		}
		arts, _ := tr.Artifacts(ctx, r)
		for _, a := range arts {
			if strings.HasPrefix(a.Path, "link") || a.Path == "config.yaml" {
				t.Errorf("artifact %s stored through a link", a.Path)
			}
		}
		return
	}
	t.Fatal("abc123de not imported")
}

// TestCutShort reads a record log cut in the middle of a chunk, as a
// killed run leaves it, up to there: the points before, no problem, and
// no exit record, so the run was killed.
func TestCutShort(t *testing.T) {
	_, tr, head := repo(t)
	src, _ := generate(t, head)
	log := filepath.Join(src, "wandb", "offline-run-20260529_171320-def456gh", "run-def456gh.wandb")
	fi, err := os.Stat(log)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(log, fi.Size()/2+3); err != nil {
		t.Fatal(err)
	}
	old := time.Unix(1_780_000_000, 0)
	os.Chtimes(log, old, old)
	s, err := wandb.Open(filepath.Join(src, "wandb", "offline-run-20260529_171320-def456gh"))
	if err != nil {
		t.Fatal(err)
	}
	res, err := importer.Import(ctx, tr, s, importer.Options{})
	if err != nil || len(res.Problems) > 0 || res.Count(importer.New) != 1 {
		t.Fatalf("%v %v %v", res.Summary(false), res.Problems, err)
	}
	rs, _ := tr.Runs(ctx)
	rec := rs.All[0].Record
	if n := rec.Metrics["acc"].Count; n <= 101 || n >= 1000 || rec.Status != run.Crashed {
		t.Errorf("%d points, %s; want those past the record across blocks (step 100), not all 1000, crashed", n, rec.Status)
	}
}
