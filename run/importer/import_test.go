package importer_test

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/importer"
	"github.com/gitruns/gitruns/run/memstore"
	"github.com/gitruns/gitruns/run/mlflowtags"
	"github.com/gitruns/gitruns/run/tracker"
)

var ctx = context.Background()

// source is a Source held in memory, as a REST or W&B source would hand
// runs over.
type source struct {
	runs map[string]*importer.Run
	refs []importer.Ref
	fail map[string]error
	tag  string // IDTag; mlflowtags.RunID when ""
}

func (s *source) IDTag() string {
	if s.tag == "" {
		return mlflowtags.RunID
	}
	return s.tag
}

func (s *source) Runs(context.Context) ([]importer.Ref, []importer.Problem, error) {
	return s.refs, nil, nil
}

func (s *source) Load(_ context.Context, ref importer.Ref) (*importer.Run, error) {
	if err := s.fail[ref.ID]; err != nil {
		return nil, err
	}
	r := *s.runs[ref.ID]
	return &r, nil
}

func (s *source) add(r *importer.Run) {
	if s.runs == nil {
		s.runs = map[string]*importer.Run{}
	}
	s.runs[r.ID] = r
	s.refs = append(s.refs, r.Ref)
}

func newRun(id, name string, start int64) *importer.Run {
	t := time.UnixMilli(start)
	return &importer.Run{
		Ref:    importer.Ref{ID: id, Name: name, Experiment: "exp", ExperimentID: "1", Status: run.Finished, Start: t, Where: "mem:" + id},
		End:    t.Add(time.Minute),
		Params: map[string]string{}, Tags: map[string]string{},
		Metrics: run.History{"loss": {{Step: 0, Time: start + 1, Value: 1}, {Step: 1, Time: start + 2, Value: math.NaN()}}},
	}
}

func byMLflowID(t *testing.T, tr *tracker.Tracker) map[string]tracker.Run {
	t.Helper()
	rs, err := tr.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]tracker.Run{}
	for _, r := range rs.All {
		out[r.Record.Tags[mlflowtags.RunID]] = r
	}
	return out
}

// TestImportRules: what cannot be held is named and left out, the rest
// imported; a parent left out is named by its source id until an import
// brings it; a run that cannot be read fails alone.
func TestImportRules(t *testing.T) {
	tr := tracker.New(memstore.New(t.TempDir()), tracker.Options{})
	src := &source{fail: map[string]error{"broken": errors.New("unreadable")}}
	a := newRun("a", "", 1700000000000)
	a.Params = map[string]string{"model": "mlp", "model.lr": "0.1", "bad..key": "1", "n": "3"}
	a.Tags = map[string]string{"gitruns.deleted": "hidden?", mlflowtags.RunName: "from-tag", "ok": "yes", "bad\tkey": "x"}
	src.add(a)
	parent := newRun("p", "parent", 1700000100000)
	parent.Deleted = true
	src.add(parent)
	child := newRun("c", "child", 1700000200000)
	child.Parent = "p"
	src.add(child)
	src.add(newRun("broken", "broken", 1700000300000))
	running := newRun("r", "running", 1700000400000)
	running.Status = run.Running
	src.add(running)

	res, err := importer.Import(ctx, tr, src, importer.Options{Jobs: 3})
	if err != nil {
		t.Fatal(err)
	}
	var msgs []string
	for _, p := range res.Problems {
		msgs = append(msgs, p.Error())
	}
	all := strings.Join(msgs, "\n")
	for _, want := range []string{
		`mem:a: param left out: param "model.lr" conflicts with param "model"`,
		`mem:a: param left out: invalid param key "bad..key"`,
		`mem:a: tag left out: invalid tag key "bad\tkey"`,
		"mem:broken: unreadable",
	} {
		if !strings.Contains(all, want) {
			t.Errorf("no problem %q among:\n%s", want, all)
		}
	}
	if len(res.Problems) != 4 {
		t.Errorf("%d problems, want 4:\n%s", len(res.Problems), all)
	}
	got := byMLflowID(t, tr)
	if len(got) != 2 {
		t.Fatalf("%d runs imported, want 2 (a, c)", len(got))
	}
	ra := got["a"].Record
	if ra.Name != "from-tag" || ra.Params["n"] != int64(3) || ra.Tags["ok"] != "yes" {
		t.Errorf("run a: name %q, params %v, tags %v", ra.Name, ra.Params, ra.Tags)
	}
	if _, ok := ra.Tags[run.DeletedTag]; ok {
		t.Error("a source's gitruns.deleted tag was taken")
	}
	if s := ra.Metrics["loss"]; s.Count != 2 || s.Last == s.Last || s.Min != 1 {
		t.Errorf("summary of loss: %+v", s)
	}
	rc := got["c"].Record
	if rc.Tags[importer.TagParentElsewhere] != "p" || rc.Tags[mlflowtags.Parent] != "" {
		t.Errorf("child of a parent left out: tags %v", rc.Tags)
	}
	if res.Deleted != 1 || res.Count(importer.Running) != 1 || res.Count(importer.Failed) != 1 {
		t.Errorf("result: %s", res.Summary(false))
	}

	// The deleted parent brought: put aside, and the child points at it.
	res, err = importer.Import(ctx, tr, src, importer.Options{IncludeDeleted: true})
	if err != nil {
		t.Fatal(err)
	}
	got = byMLflowID(t, tr)
	p, c := got["p"], got["c"].Record
	if _, ok := p.Record.Tags[run.DeletedTag]; !ok {
		t.Error("the deleted parent is not put aside")
	}
	if c.Tags[mlflowtags.Parent] != p.ID {
		t.Errorf("child's parent %q, want %s", c.Tags[mlflowtags.Parent], p.ID)
	}
	if _, ok := c.Tags[importer.TagParentElsewhere]; ok {
		t.Errorf("child keeps %s", importer.TagParentElsewhere)
	}
	if n := res.Count(importer.Updated); n != 1 {
		t.Errorf("%d updated, want the child alone: %s", n, res.Summary(false))
	}

	// Points logged later, one of them repeating an earlier point: both
	// come in, the repeat counted.
	a.Metrics = run.History{"loss": append(a.Metrics["loss"], run.Point{Step: 0, Time: 1700000000001, Value: 1}, run.Point{Step: 2, Time: 1700000000003, Value: 0.5})}
	res, err = importer.Import(ctx, tr, src, importer.Options{IncludeDeleted: true})
	if err != nil {
		t.Fatal(err)
	}
	h, err := tr.History(ctx, byMLflowID(t, tr)["a"])
	if err != nil {
		t.Fatal(err)
	}
	if n := len(h["loss"]); n != 4 {
		t.Errorf("loss has %d points after the addition, want 4: %v", n, h["loss"])
	}
	for _, it := range res.Items {
		if it.Source == "a" && (it.Action != importer.Updated || it.Points != 2) {
			t.Errorf("run a: %+v", it)
		}
	}
}

// TestImportManyJobs: 200 runs on 16 goroutines, each imported once,
// progress told once per run in order.
func TestImportManyJobs(t *testing.T) {
	tr := tracker.New(memstore.New(t.TempDir()), tracker.Options{})
	src := &source{}
	for i := range 200 {
		src.add(newRun(fmt.Sprintf("run%03d", i), fmt.Sprintf("r-%d", i), 1700000000000+int64(i)*1000))
	}
	done := 0
	res, err := importer.Import(ctx, tr, src, importer.Options{Jobs: 16, Progress: func(d, total int) {
		if d != done+1 || total != 200 {
			t.Errorf("progress %d/%d after %d", d, total, done)
		}
		done = d
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Count(importer.New) != 200 || done != 200 {
		t.Fatalf("%s; progress reached %d", res.Summary(false), done)
	}
	if got := byMLflowID(t, tr); len(got) != 200 {
		t.Errorf("%d runs, want 200", len(got))
	}
}

// importOnce imports src into tr and returns the action of each source
// run.
func importOnce(t *testing.T, tr *tracker.Tracker, src importer.Source, o importer.Options) (*importer.Result, map[string]importer.Item) {
	t.Helper()
	res, err := importer.Import(ctx, tr, src, o)
	if err != nil {
		t.Fatal(err)
	}
	items := map[string]importer.Item{}
	for _, it := range res.Items {
		items[it.Source] = it
	}
	return res, items
}

// TestImportRemovedHere: a run removed here for good after its import
// is left out of the next imports, dry or not, and said to be; asked
// for, it comes back under a new id, and is then known as any imported
// run.
func TestImportRemovedHere(t *testing.T) {
	tr := tracker.New(memstore.New(t.TempDir()), tracker.Options{})
	src := &source{}
	src.add(newRun("a", "alpha", 1700000000000))
	src.add(newRun("b", "beta", 1700000100000))
	importOnce(t, tr, src, importer.Options{})
	victim := byMLflowID(t, tr)["a"]
	if _, err := tr.Delete(ctx, []tracker.Run{victim}, false); err != nil {
		t.Fatal(err)
	}
	for _, dry := range []bool{true, false} {
		res, items := importOnce(t, tr, src, importer.Options{DryRun: dry})
		if it := items["a"]; it.Action != importer.Removed || it.ID != "" || it.Name != "alpha" {
			t.Errorf("dry %v: the removed run: %+v", dry, it)
		}
		if it := items["b"]; it.Action != importer.Unchanged {
			t.Errorf("dry %v: the other run: %+v", dry, it)
		}
		if sum := res.Summary(dry); !strings.Contains(sum, "1 skipped: deleted here") {
			t.Errorf("dry %v: summary %q", dry, sum)
		}
		if _, back := byMLflowID(t, tr)["a"]; back {
			t.Fatalf("dry %v: the removed run came back", dry)
		}
	}
	_, items := importOnce(t, tr, src, importer.Options{IncludeRemoved: true})
	back, ok := byMLflowID(t, tr)["a"]
	if it := items["a"]; !ok || it.Action != importer.New || it.ID != back.ID || back.ID == victim.ID {
		t.Fatalf("--include-removed: %+v, run %+v (removed id %s)", it, back.ID, victim.ID)
	}
	if _, items = importOnce(t, tr, src, importer.Options{}); items["a"].Action != importer.Unchanged {
		t.Errorf("the run brought back, imported again: %+v", items["a"])
	}
}

// TestImportSameRunSameID: a run gets the same id in every store it is
// imported into, so that two clones importing one store hold one run,
// and a removal in one tells the other's import.
func TestImportSameRunSameID(t *testing.T) {
	src := &source{}
	src.add(newRun("a", "alpha", 1700000000000))
	one := tracker.New(memstore.New(t.TempDir()), tracker.Options{})
	two := tracker.New(memstore.New(t.TempDir()), tracker.Options{})
	importOnce(t, one, src, importer.Options{})
	importOnce(t, two, src, importer.Options{})
	a, b := byMLflowID(t, one)["a"], byMLflowID(t, two)["a"]
	if a.ID != b.ID || run.IDTime(a.ID) != time.UnixMilli(1700000000000).UTC() {
		t.Errorf("ids %s and %s, want one, of the run's start", a.ID, b.ID)
	}
}

// TestImportIDTags: runs of sources that keep their ids in two tags
// (MLflow's and W&B's) never match each other, even with the same ids,
// and each imports again as unchanged.
func TestImportIDTags(t *testing.T) {
	tr := tracker.New(memstore.New(t.TempDir()), tracker.Options{})
	ml := &source{}
	ml.add(newRun("x1", "from-mlflow", 1700000000000))
	wb := &source{tag: "wandb.runId"}
	wb.add(newRun("x1", "from-wandb", 1700000000000))
	for _, src := range []*source{ml, wb, ml, wb} {
		importOnce(t, tr, src, importer.Options{})
	}
	rs, err := tr.Runs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]string{}
	for _, r := range rs.All {
		names[r.Record.Name] = r.Record.Tags[mlflowtags.RunID] + "|" + r.Record.Tags["wandb.runId"]
	}
	if len(rs.All) != 2 || names["from-mlflow"] != "x1|" || names["from-wandb"] != "|x1" {
		t.Errorf("runs by name, with their MLflow|W&B ids: %v", names)
	}
}

// TestImportOutput: a run's printed output is its output, as exec keeps
// it (a redrawn line in its last state), and not an artifact.
func TestImportOutput(t *testing.T) {
	tr := tracker.New(memstore.New(t.TempDir()), tracker.Options{})
	out := filepath.Join(t.TempDir(), "output.log")
	if err := os.WriteFile(out, []byte("epoch 1\n10%\r50%\r100%\ndone\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := newRun("a", "alpha", 1700000000000)
	r.Output = out
	src := &source{}
	src.add(r)
	importOnce(t, tr, src, importer.Options{})
	got, err := tr.Output(ctx, byMLflowID(t, tr)["a"])
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "epoch 1\n100%\ndone\n" {
		t.Errorf("output %q", got)
	}
}
