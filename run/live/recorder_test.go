package live_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
)

// git runs git in dir and returns its trimmed output, failing the test on
// error.
func git(t testing.TB, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=T", "GIT_AUTHOR_EMAIL=t@example.com", "GIT_COMMITTER_NAME=T", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

func newRepo(t testing.TB) (string, *gitstore.Repo) {
	t.Helper()
	dir := t.TempDir()
	git(t, dir, "init", "-q", "-b", "main")
	git(t, dir, "commit", "-q", "--allow-empty", "-m", "init")
	repo, err := gitstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { repo.Close() })
	return dir, repo
}

func fsck(t testing.TB, dir string) {
	t.Helper()
	cmd := exec.Command("git", "fsck", "--full", "--strict", "--no-progress")
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	for _, l := range strings.Split(string(out), "\n") {
		if l != "" && !strings.HasPrefix(l, "dangling ") {
			t.Errorf("git fsck: %s", l)
		}
	}
	if err != nil {
		t.Errorf("git fsck: %v", err)
	}
}

func TestRecordEverything(t *testing.T) {
	dir, repo := newRepo(t)
	art := filepath.Join(t.TempDir(), "model.bin")
	if err := os.WriteFile(art, []byte("weights"), 0o755); err != nil {
		t.Fatal(err)
	}
	r, err := recorderOf(repo).Start(ctx, live.Options{
		Name: "full", Experiment: "exp1",
		Params: map[string]any{"lr": 0.01, "opt": map[string]any{"name": "adam", "betas": []float64{0.9, 0.99}}},
		Tags:   map[string]string{"team": "vision"},
	})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		if err := r.LogMetric("loss", 1/float64(i+1), live.NextStep); err != nil {
			t.Fatal(err)
		}
	}
	must(t, r.LogMetric("loss", math.NaN(), 10))
	must(t, r.LogMetric("val/acc", math.Inf(1), live.NextStep))
	must(t, r.LogParam("epochs", 3))
	must(t, r.LogParam("epochs", 3)) // the same value again: nothing happens
	if err := r.LogParam("epochs", 4); err == nil || !strings.Contains(err.Error(), "write-once") {
		t.Errorf("changing a param: got %v, want a write-once error", err)
	}
	if err := r.LogParam("epochs", 3.0); err == nil {
		t.Errorf("changing a param's type from int to float: no error")
	}
	if err := r.LogParam("opt.name.x", 1); err == nil {
		t.Errorf("a param under a param's key: no error")
	}
	must(t, r.SetTag("team", "nlp"))
	must(t, r.LogArtifact(art, "models/model.bin"))
	code := 0
	must(t, r.EndWithCode(run.Finished, &code))
	if err := r.LogMetric("loss", 1, live.NextStep); err == nil {
		t.Errorf("logging into an ended run: no error")
	}

	en, err := repo.Load(ctx, r.ID())
	if err != nil {
		t.Fatal(err)
	}

	c := en.Commit

	rec := en.Record
	if rec.Status != run.Finished || rec.Name != "full" || rec.Experiment != "exp1" || *rec.ExitCode != 0 {
		t.Errorf("record: %+v", rec)
	}
	if rec.Params["opt.name"] != "adam" || rec.Params["epochs"] != int64(3) || rec.Params["lr"] != 0.01 {
		t.Errorf("params: %v", rec.Params)
	}
	if rec.Tags["team"] != "nlp" {
		t.Errorf("tags: %v", rec.Tags)
	}
	loss := rec.Metrics["loss"]
	if !math.IsNaN(loss.Last) || loss.Step != 10 || loss.Count != 6 || loss.Min != 0.2 || loss.Max != 1 {
		t.Errorf("loss summary: %+v", loss)
	}
	hist, err := repo.History(ctx, c)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist["loss"]) != 6 || hist["loss"][4].Step != 4 || !math.IsInf(hist["val/acc"][0].Value, 1) {
		t.Errorf("history: %v", hist)
	}
	if got := git(t, dir, "cat-file", "-p", "refs/runs/"+r.ID()+":artifacts/models/model.bin"); got != "weights" {
		t.Errorf("artifact content %q", got)
	}
	if mode := git(t, dir, "ls-tree", "-r", "refs/runs/"+r.ID(), "artifacts/models/model.bin"); !strings.HasPrefix(mode, "100755") {
		t.Errorf("artifact mode: %s", mode)
	}
	if _, err := os.Stat(filepath.Join(repo.LiveDir(), r.ID()+".journal")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("journal left behind: %v", err)
	}
	fsck(t, dir)
}

func TestCheckpointShowsProgress(t *testing.T) {
	_, repo := newRepo(t)
	r, err := recorderOf(repo).Start(ctx, live.Options{Checkpoint: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	must(t, r.LogMetric("loss", 0.5, live.NextStep))
	deadline := time.Now().Add(10 * time.Second)
	for {
		en, err := repo.Load(ctx, r.ID())
		if err != nil && !errors.Is(err, run.ErrNotFound) { // not committed before the first checkpoint
			t.Fatal(err)
		}
		if rec := en.Record; rec != nil && rec.Metrics["loss"].Count == 1 {
			if rec.Status != run.Running {
				t.Errorf("status %s while live", rec.Status)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint committed the metric within 10 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
	must(t, r.End(run.Finished))
}

// ownerAndOther starts a run in a new repository and attaches a second
// writer to it, as another process would.
func ownerAndOther(t *testing.T) (*gitstore.Repo, *live.Run, *live.Run) {
	t.Helper()
	_, repo := newRepo(t)
	owner, err := recorderOf(repo).Start(ctx, live.Options{})
	if err != nil {
		t.Fatal(err)
	}
	other, err := recorderOf(repo).Attach(owner.ID())
	if err != nil {
		t.Fatal(err)
	}
	return repo, owner, other
}

func TestAttachedWritersMerge(t *testing.T) {
	repo, owner, other := ownerAndOther(t)
	must(t, other.LogMetric("from_other", 1, 0))
	must(t, other.LogParam("lr", 0.1))
	must(t, other.Close())
	// The owner sees what the other process logged: the param is taken.
	if err := owner.LogParam("lr", 0.2); err == nil {
		t.Errorf("owner overwrote a param set by another writer")
	}
	must(t, owner.LogMetric("from_owner", 2, 0))
	must(t, owner.End(run.Finished))
	en, err := repo.Load(ctx, owner.ID())
	if err != nil {
		t.Fatal(err)
	}
	rec := en.Record
	if rec.Metrics["from_other"].Count != 1 || rec.Metrics["from_owner"].Count != 1 || rec.Params["lr"] != 0.1 {
		t.Errorf("merged record: %+v", rec)
	}
}

// A writer applies its own points without reading them back from the
// journal when no other writer appended in between. However the writes of
// two writers interleave, every point must be in the run exactly once.
func TestInterleavedWritersEveryPointOnce(t *testing.T) {
	repo, owner, other := ownerAndOther(t)
	const n = 300
	for i := range n {
		w := owner
		if i%3 == 0 {
			w = other
		}
		must(t, w.LogMetric("m", float64(i), int64(i)))
		if i%2 == 0 {
			must(t, w.Flush())
		}
		switch i % 11 {
		case 0:
			must(t, w.SetTag("t", strconv.Itoa(i))) // a non-metric entry
		case 5:
			if _, err := owner.Record(); err != nil { // the owner catches up
				t.Fatal(err)
			}
		}
	}
	must(t, other.Close())
	must(t, owner.End(run.Finished))
	rec, hist := loadRun(t, repo, owner.ID())
	seen := make([]int, n)
	for _, p := range hist["m"] {
		seen[p.Step]++
		if p.Value != float64(p.Step) {
			t.Errorf("step %d has value %v", p.Step, p.Value)
		}
	}
	for step, k := range seen {
		if k != 1 {
			t.Errorf("step %d recorded %d times", step, k)
		}
	}
	if rec.Metrics["m"].Count != n || rec.Tags["t"] != "297" {
		t.Errorf("record: %+v", rec)
	}
}

// Points read from output give way to points the program logs itself,
// whichever process logs them, and whenever.
func TestLoggedMetricsWinOverOutput(t *testing.T) {
	repo, owner, other := ownerAndOther(t)
	now := time.Now()
	must(t, owner.LogOutputMetricAt("printed", 1, 0, now)) // only printed
	must(t, owner.LogOutputMetricAt("both", 0.5, 0, now))  // printed...
	must(t, owner.Flush())                                 //
	must(t, other.LogMetric("both", 0.4, 0))               // ...and logged by another process
	must(t, other.Close())                                 //
	must(t, owner.LogOutputMetricAt("both", 0.3, 1, now))  // printed again later
	must(t, owner.LogMetric("logged", 7, live.NextStep))   // only logged
	must(t, owner.LogOutputMetricAt("printed", 2, live.NextStep, now))
	must(t, owner.End(run.Finished))
	rec, hist := loadRun(t, repo, owner.ID())
	if got := fmt.Sprint(hist["both"]); len(hist["both"]) != 1 || hist["both"][0].Value != 0.4 {
		t.Errorf("both printed and logged: %s, want the logged 0.4 alone", got)
	}
	if p := hist["printed"]; len(p) != 2 || p[1].Step != 1 || p[1].Value != 2 {
		t.Errorf("printed only: %v", p)
	}
	if rec.Metrics["both"].Count != 1 || rec.Metrics["printed"].Count != 2 || rec.Metrics["logged"].Count != 1 {
		t.Errorf("summaries: %+v", rec.Metrics)
	}
}

func TestCrashedRunRecovered(t *testing.T) {
	dir, repo := newRepo(t)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	r, err := recorderOf(repo).Start(ctx, live.Options{OwnerPID: dead.Process.Pid})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ {
		must(t, r.LogMetric("loss", float64(i), live.NextStep))
	}
	must(t, r.LogParam("lr", 0.3))
	must(t, r.Flush())
	// The process is "killed" here: nothing more happens to r.

	done, err := recorderOf(repo).RecoverCrashed()
	if err != nil {
		t.Fatal(err)
	}
	if len(done) != 1 || done[0] != r.ID() {
		t.Fatalf("recovered %v, want [%s]", done, r.ID())
	}
	en, err := repo.Load(ctx, r.ID())
	if err != nil {
		t.Fatal(err)
	}
	rec := en.Record
	if rec.Status != run.Crashed || rec.Ended.IsZero() || rec.Metrics["loss"].Count != 100 || rec.Params["lr"] != 0.3 {
		t.Errorf("recovered record: %+v", rec)
	}
	// A second pass finds nothing to do.
	if done, err := recorderOf(repo).RecoverCrashed(); err != nil || len(done) != 0 {
		t.Errorf("second recovery: %v, %v", done, err)
	}
	fsck(t, dir)
}

func TestLiveOwnerNotRecovered(t *testing.T) {
	_, repo := newRepo(t)
	r, err := recorderOf(repo).Start(ctx, live.Options{})
	if err != nil {
		t.Fatal(err)
	}
	done, err := recorderOf(repo).RecoverCrashed()
	if err != nil || len(done) != 0 {
		t.Fatalf("recovered a live run: %v, %v", done, err)
	}
	must(t, r.End(run.Killed))
	en, _ := repo.Load(ctx, r.ID())
	rec := en.Record
	if rec.Status != run.Killed {
		t.Errorf("status %s", rec.Status)
	}
}

// TestConcurrentRecording has 8 processes record runs into one repository
// while git pack-refs and git gc --auto run beside them in a loop: no run
// may be lost and the repository must stay sound.
func TestConcurrentRecording(t *testing.T) {
	dir, repo := newRepo(t)
	git(t, dir, "config", "gc.auto", "64")
	git(t, dir, "config", "gc.autoDetach", "false")
	const procs, perProc = 8, 25

	stop := make(chan struct{})
	var maint sync.WaitGroup
	var maintRuns int
	maint.Add(1)
	go func() {
		defer maint.Done()
		for {
			select {
			case <-stop:
				return
			default:
			}
			for _, args := range [][]string{{"pack-refs", "--all", "--prune"}, {"gc", "--auto", "--quiet"}} {
				cmd := exec.Command("git", args...)
				cmd.Dir = dir
				out, err := cmd.CombinedOutput()
				// The recorders start git gc themselves when loose
				// objects pile up; a second gc or pack-refs then finds
				// its lock taken and gives up, which is git working.
				if err != nil && !bytes.Contains(out, []byte(".lock': File exists")) {
					t.Errorf("git %s: %v\n%s", args[0], err, out)
				}
			}
			maintRuns++
		}
	}()

	var wg sync.WaitGroup
	errs := make(chan error, procs)
	for p := 0; p < procs; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestRecorderProcess$")
			cmd.Env = append(os.Environ(), "GITRUNS_TEST_RECORD="+dir, "GITRUNS_TEST_PROC="+strconv.Itoa(p), "GITRUNS_TEST_COUNT="+strconv.Itoa(perProc))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("recorder %d: %v\n%s", p, err, out)
			}
		}(p)
	}
	wg.Wait()
	close(stop)
	maint.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	t.Logf("maintenance loops run beside the recorders: %d", maintRuns)
	// The recorders may have started git gc in the background; let it end
	// before judging, as fsck racing a gc that prunes the loose objects it
	// has just packed reports them missing.
	waitForGC(t, dir)

	refs := strings.Fields(git(t, dir, "for-each-ref", "--format=%(refname)", "refs/runs"))
	if len(refs) != procs*perProc {
		t.Fatalf("git sees %d runs, want %d", len(refs), procs*perProc)
	}
	entries, err := repo.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, e := range entries {
		if e.Err != nil {
			t.Errorf("run %s: %v", e.ID, e.Err)
			continue
		}
		if e.Record.Status != run.Finished || e.Record.Metrics["loss"].Count != 20 {
			t.Errorf("run %s: status %s, %d loss points", e.ID, e.Record.Status, e.Record.Metrics["loss"].Count)
		}
		seen[e.Record.Name] = true
	}
	if len(seen) != procs*perProc {
		t.Errorf("%d distinct runs listed, want %d", len(seen), procs*perProc)
	}
	fsck(t, dir)
}

// TestRecorderProcess is the body of one recording process of
// TestConcurrentRecording; it does nothing when run directly.
func TestRecorderProcess(t *testing.T) {
	dir := os.Getenv("GITRUNS_TEST_RECORD")
	if dir == "" {
		return
	}
	p := os.Getenv("GITRUNS_TEST_PROC")
	n, _ := strconv.Atoi(os.Getenv("GITRUNS_TEST_COUNT"))
	repo, err := gitstore.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer repo.Close()
	for i := 0; i < n; i++ {
		r, err := recorderOf(repo).Start(ctx, live.Options{Name: fmt.Sprintf("p%s-r%d", p, i), Params: map[string]any{"proc": p, "i": i}})
		if err != nil {
			t.Fatal(err)
		}
		for s := 0; s < 20; s++ {
			must(t, r.LogMetric("loss", float64(s), live.NextStep))
		}
		must(t, r.End(run.Finished))
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// waitForGC waits until no git gc holds the repository's gc.pid, twice in
// a row a moment apart: a gc started in the background just now may not
// have written it yet.
func waitForGC(t testing.TB, dir string) {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for quiet := 0; quiet < 2; {
		if _, err := os.Stat(filepath.Join(dir, ".git", "gc.pid")); errors.Is(err, os.ErrNotExist) {
			quiet++
		} else {
			quiet = 0
		}
		if time.Now().After(deadline) {
			t.Fatal("a background git gc is still running after 2 minutes")
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// Run names are shown on terminals and travel between repositories: no
// control characters, and no reserved names.
func TestStartRefusesBadNames(t *testing.T) {
	_, repo := newRepo(t)
	for _, name := range []string{" padded", "a\nb", "tab\there", "esc\x1b]0;title\x07", "c1\u009bx", "del\x7f", "@", "@~2", "bad\xffutf8"} {
		if _, err := recorderOf(repo).Start(ctx, live.Options{Name: name}); err == nil {
			t.Errorf("Start with name %q succeeded", name)
		}
	}
	lives, err := recorderOf(repo).List()
	if err != nil || len(lives) != 0 {
		t.Errorf("refused starts left live runs: %v %v", lives, err)
	}
	r, err := recorderOf(repo).Start(ctx, live.Options{Name: "fine-name 日本 ✓"})
	if err != nil {
		t.Fatal(err)
	}
	must(t, r.End(run.Finished))
}
