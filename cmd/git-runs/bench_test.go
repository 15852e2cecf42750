package main

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gitruns/gitruns/gitstore"
	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
	"github.com/gitruns/gitruns/run/live"
)

// These benchmarks time whole commands, as a user meets them, against a
// baseline measured in the same run on the same repository: plain git
// doing the least work that answers the same question. Each prints
// medians and their ratio; none asserts a time. Run them with
//
//	go test ./cmd/git-runs -run '^$' -bench . -benchtime 1x
//
// and see docs/BENCHMARKS.md for figures.

const benchReps = 7

// buildBinary builds git-runs once per benchmark binary.
func buildBinary(b *testing.B) string {
	b.Helper()
	bin := filepath.Join(b.TempDir(), "git-runs")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0") // as the README builds it
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

func benchGit(b *testing.B, dir string, args ...string) string {
	b.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = benchEnv()
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func benchEnv() []string {
	return append(os.Environ(), "GIT_AUTHOR_NAME=B", "GIT_AUTHOR_EMAIL=b@example.com",
		"GIT_COMMITTER_NAME=B", "GIT_COMMITTER_EMAIL=b@example.com", "GIT_CONFIG_NOSYSTEM=1", "NO_COLOR=1")
}

// timeCmd runs a shell command line in dir and returns how long it took.
func timeCmd(b *testing.B, dir, line string) time.Duration {
	b.Helper()
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = dir
	cmd.Env = benchEnv()
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", line, err, stderr.String())
	}
	return time.Since(start)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// compare times ours and base alternately, benchReps times each, and
// reports the medians and ours/base.
func compare(b *testing.B, dir, label, ours, base string) (time.Duration, time.Duration) {
	return compareAfter(b, dir, label, "", ours, base)
}

// compareAfter is compare with the shell command prep run, untimed, before
// each timed one.
func compareAfter(b *testing.B, dir, label, prep, ours, base string) (time.Duration, time.Duration) {
	var to, tb []time.Duration
	for i := 0; i < benchReps; i++ {
		for _, c := range []struct {
			line  string
			times *[]time.Duration
		}{{ours, &to}, {base, &tb}} {
			if prep != "" {
				timeCmd(b, dir, prep)
			}
			*c.times = append(*c.times, timeCmd(b, dir, c.line))
		}
	}
	mo, mb := median(to), median(tb)
	ratio := float64(mo) / float64(mb)
	fmt.Printf("%-34s git-runs %8.1f ms   baseline %8.1f ms   ratio %.3f\n", label, ms(mo), ms(mb), ratio)
	b.ReportMetric(ms(mo), "ms-ours")
	b.ReportMetric(ms(mb), "ms-baseline")
	b.ReportMetric(ratio, "ratio")
	return mo, mb
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// recordRuns records n runs through the Go API, as git runs exec would
// (loose objects, loose refs), each with 5 params and 3 metrics.
func recordRuns(b *testing.B, dir string, n int) {
	b.Helper()
	repo, err := gitstore.Open(dir)
	if err != nil {
		b.Fatal(err)
	}
	defer repo.Close()
	src, err := repo.CaptureSource(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < n; i++ {
		r, err := live.Recorder{Store: repo, Dir: repo.LiveDir()}.Start(context.Background(), live.Options{Source: &src, Params: map[string]any{
			"lr": 0.001 * float64(i%10+1), "epochs": i % 7, "model": []string{"rf", "svm", "mlp"}[i%3], "depth": i % 5, "bn": i%2 == 0,
		}})
		if err != nil {
			b.Fatal(err)
		}
		for s := 0; s < 10; s++ {
			r.LogMetric("loss", 1/float64(s+1+i%3), live.NextStep)
			r.LogMetric("acc", float64(s+i%5)/20, live.NextStep)
			r.LogMetric("val/acc", float64(s)/10, live.NextStep)
		}
		if err := r.End(run.Finished); err != nil {
			b.Fatal(err)
		}
	}
}

const floorCmd = `git for-each-ref --format='%(objectname)%0a%(objectname):run.toml' refs/runs | git cat-file --batch > /dev/null`

// BenchmarkList10k compares git runs ls --json over 10,000 recorded runs
// with the C-git floor (list the refs, read every run commit and its
// run.toml), first with loose objects and refs as recorded, then after
// git gc. Cold: the cache was just deleted; warm: it is in place.
func BenchmarkList10k(b *testing.B) {
	bin := buildBinary(b)
	dir := b.TempDir()
	benchGit(b, dir, "init", "-q", "-b", "main")
	benchGit(b, dir, "commit", "-q", "--allow-empty", "-m", "init")
	benchGit(b, dir, "config", "gc.auto", "0")
	start := time.Now()
	recordRuns(b, dir, 10000)
	fmt.Printf("recorded 10,000 runs in %.1f s\n", time.Since(start).Seconds())
	ls := bin + " ls --json > /dev/null"
	cache := filepath.Join(dir, ".git", "runs", "cache")
	b.ResetTimer()
	for _, state := range []string{"loose", "after gc"} {
		if state == "after gc" {
			benchGit(b, dir, "gc", "-q")
		}
		compare(b, dir, "ls --json 10k "+state+", cold", "rm -f "+cache+" && "+ls, "rm -f "+cache+" && "+floorCmd)
		compare(b, dir, "ls --json 10k "+state+", warm", ls, floorCmd)
	}
}

// BenchmarkList100k lists 100,000 packed runs. The runs are written with
// git fast-import (recording them one by one would take minutes) in the
// exact format git-runs writes, then packed with git gc.
func BenchmarkList100k(b *testing.B) {
	bin := buildBinary(b)
	dir := b.TempDir()
	benchGit(b, dir, "init", "-q", "-b", "main")
	benchGit(b, dir, "commit", "-q", "--allow-empty", "-m", "init")
	head := strings.TrimSpace(benchGit(b, dir, "rev-parse", "HEAD"))
	start := time.Now()
	var in bytes.Buffer
	t0 := time.Now().Add(-100000 * time.Second)
	for i := 0; i < 100000; i++ {
		rec := fakeRecord(i, head, t0.Add(time.Duration(i)*time.Second))
		text, err := codec.EncodeTOML(rec)
		if err != nil {
			b.Fatal(err)
		}
		hist := run.History{"loss": {{Step: 0, Time: rec.Started.UnixMilli(), Value: rec.Metrics["loss"].Last}}}
		tsv := codec.EncodeHistory(hist)
		fmt.Fprintf(&in, "commit refs/runs/%s\ncommitter B <b@example.com> %d +0000\ndata %d\nrun %s\n", rec.ID, rec.Started.Unix(), len("run "+rec.Name)+1, rec.Name)
		fmt.Fprintf(&in, "from %s\nM 100644 inline run.toml\ndata %d\n%s\nM 100644 inline metrics.tsv\ndata %d\n%s\n", head, len(text), text, len(tsv), tsv)
	}
	cmd := exec.Command("git", "fast-import", "--quiet")
	cmd.Dir = dir
	cmd.Stdin = &in
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("git fast-import: %v\n%s", err, out)
	}
	benchGit(b, dir, "gc", "-q")
	fmt.Printf("wrote and packed 100,000 runs in %.1f s\n", time.Since(start).Seconds())
	ls := bin + " ls --json > /dev/null"
	cache := filepath.Join(dir, ".git", "runs", "cache")
	b.ResetTimer()
	compare(b, dir, "ls --json 100k packed, cold", "rm -f "+cache+" && "+ls, floorCmd)
	compare(b, dir, "ls --json 100k packed, warm", ls, floorCmd)
	query := bin + ` ls --where 'metrics.acc > 0.5 and params.lr < 0.01' --sort metrics.acc --json > /dev/null`
	compare(b, dir, "ls --where --sort 100k, warm", query, floorCmd)
}

// BenchmarkDiff compares two runs with 1,000 params and 1,000 metrics each
// whose sources differ in 100 of 1,000 files, against git diff --stat of
// the same code difference.
func BenchmarkDiff(b *testing.B) {
	bin := buildBinary(b)
	dir := b.TempDir()
	script := `set -e
git init -q -b main
mkdir src
i=1; while [ $i -le 1000 ]; do echo "x = $i" > src/f$i.py; i=$((i+1)); done
git add . && git commit -q -m base
P=$(i=1; while [ $i -le 1000 ]; do printf "p%d=%d " $i $i; i=$((i+1)); done)
P2=$(i=1; while [ $i -le 1000 ]; do printf "p%d=%d " $i $((i+1)); i=$((i+1)); done)
M=$(i=1; while [ $i -le 1000 ]; do printf "m%d=0.%d " $i $i; i=$((i+1)); done)
export GITRUNS_RUN=$(BIN start --name A); BIN param $P; BIN metric $M; BIN end
i=1; while [ $i -le 100 ]; do echo "y = $i" >> src/f$i.py; i=$((i+1)); done
export GITRUNS_RUN=$(BIN start --name B); BIN param $P2; BIN metric $M; BIN end
BIN ls > /dev/null
`
	timeCmd(b, dir, strings.ReplaceAll(script, "BIN", bin))
	b.ResetTimer()
	// The baseline: plain git summarising the same 100-file difference
	// (the work tree still holds run B's changes on top of run A's commit).
	compare(b, dir, "diff, 1k params+metrics, 100 files", bin+" diff A B > /dev/null", "git diff --stat HEAD > /dev/null")
}

func fakeRecord(i int, head string, t time.Time) *run.Record {
	code := 0
	return &run.Record{
		Format: run.Format, ID: run.NewIDAt(t), Name: "bench-run-" + strconv.Itoa(i), Experiment: "default",
		Status: run.Finished, Started: t.UTC().Truncate(time.Millisecond), Ended: t.Add(time.Minute).UTC().Truncate(time.Millisecond),
		Command: []string{"python3", "train.py"}, ExitCode: &code,
		Source: run.Source{Commit: head, Branch: "main"},
		Host:   run.Host{Hostname: "bench", User: "b", OS: "linux", Arch: "amd64"},
		Params: map[string]any{"lr": 0.001 * float64(i%10+1), "epochs": int64(i % 7), "model": "rf", "depth": int64(i % 5), "bn": i%2 == 0},
		Tags:   map[string]string{"team": "vision"},
		Metrics: map[string]run.Summary{
			"loss": {Last: 1 / float64(i%9+1), Step: 0, Min: 1 / float64(i%9+1), Max: 1 / float64(i%9+1), Count: 1},
			"acc":  {Last: float64(i%100) / 100, Step: 0, Min: float64(i%100) / 100, Max: float64(i%100) / 100, Count: 1},
		},
	}
}

// BenchmarkExecOverhead times git runs exec -- true against true alone in
// a repository with 10,000 tracked files.
func BenchmarkExecOverhead(b *testing.B) {
	bin := buildBinary(b)
	dir := b.TempDir()
	benchGit(b, dir, "init", "-q", "-b", "main")
	for i := 0; i < 10000; i++ {
		p := filepath.Join(dir, fmt.Sprintf("src/d%02d/f%05d.py", i%100, i))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(fmt.Sprintf("x = %d\n", i)), 0o644); err != nil {
			b.Fatal(err)
		}
	}
	benchGit(b, dir, "add", "-A")
	benchGit(b, dir, "commit", "-q", "-m", "10k files")
	benchGit(b, dir, "status", "--porcelain") // refresh the index once, as any git use would
	b.ResetTimer()
	for _, state := range []string{"clean", "dirty"} {
		if state == "dirty" {
			os.WriteFile(filepath.Join(dir, "src", "d00", "f00000.py"), []byte("x = -1\n"), 0o644)
			os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("untracked\n"), 0o644)
		}
		mo, mb := compare(b, dir, "exec -- true, 10k files, "+state, bin+" exec -- true", "true")
		fmt.Printf("%-34s overhead %.1f ms\n", "", ms(mo-mb))
	}
}

// BenchmarkExecOutput runs a command printing 1,000,000 lines, 200,000 of
// them metric lines, through exec with its output sent to a file, against
// the same command with its output sent to a file directly, and checks
// that every metric point was recorded.
func BenchmarkExecOutput(b *testing.B) {
	bin := buildBinary(b)
	dir := b.TempDir()
	benchGit(b, dir, "init", "-q", "-b", "main")
	benchGit(b, dir, "commit", "-q", "--allow-empty", "-m", "init")
	// The first line differs from run to run, as a real run's output
	// does, so that every run stores a new output log.
	const gen = `awk -v seed="$$ $(date +%N)" 'BEGIN { print "seed", seed; for (i = 0; i < 1000000; i++) { if (i % 5 == 0) printf "step %d loss=%.6f\n", i / 5, 1 / (i + 1); else printf "Loaded batch %d of 50000 images from /data/train in 3.2s\n", i } }'`
	b.ResetTimer()
	// Each command writes 46 MB and exec a further 30 MB; sync first, so
	// that neither is timed while the kernel writes back what the other
	// left (measured: it adds 20-40 ms to either, at random).
	compareAfter(b, dir, "exec, 1M lines to a file", "sync", bin+" exec --name out -- "+gen+" > out.txt", gen+" > out.txt")
	// Into a pipe (as under | tee), exec copies every byte through its
	// own pipe: no target, for the record.
	compareAfter(b, dir, "exec, 1M lines to a pipe", "sync", bin+" exec --name out -- "+gen+" | cat > out.txt", gen+" | cat > out.txt")
	b.StopTimer()
	out := benchGit(b, dir, "cat-file", "-p", "refs/runs/"+newestRun(b, dir)+":run.toml")
	if !strings.Contains(out, "[metrics.loss]") || !strings.Contains(out, "count = 200000") {
		b.Fatalf("not every metric point was recorded:\n%s", out)
	}
	fmt.Printf("%-34s every one of 200,000 metric points recorded\n", "")
}

func newestRun(b *testing.B, dir string) string {
	ref := strings.TrimSpace(benchGit(b, dir, "for-each-ref", "--sort=-refname", "--count=1", "--format=%(refname:lstrip=2)", "refs/runs"))
	if ref == "" {
		b.Fatal("no run recorded")
	}
	return ref
}

// BenchmarkSync pushes 10,000 runs to an empty bare remote and fetches
// them into a fresh repository, each against plain git with the same
// refspec, then times pushing 10 new runs to the remote that holds them.
func BenchmarkSync(b *testing.B) {
	bin := buildBinary(b)
	dir := b.TempDir()
	src := filepath.Join(dir, "src")
	benchGit(b, dir, "init", "-q", "-b", "main", src)
	benchGit(b, src, "commit", "-q", "--allow-empty", "-m", "init")
	benchGit(b, src, "config", "gc.auto", "0")
	recordRuns(b, src, 10000)
	b.ResetTimer()
	fresh := func(name string) string {
		return "rm -rf ../" + name + " && git init -q --bare ../" + name + " && "
	}
	compare(b, src, "push 10k runs to an empty remote",
		fresh("r1.git")+bin+" push ../r1.git > /dev/null",
		fresh("r2.git")+"git push -q ../r2.git '+refs/runs/*:refs/runs/*'")
	clone := func(name string) string {
		return "rm -rf ../" + name + " && git init -q ../" + name + " && cd ../" + name + " && git remote add origin ../r1.git && "
	}
	compare(b, src, "fetch 10k runs into a fresh repo",
		clone("c1")+bin+" fetch > /dev/null",
		clone("c2")+"git fetch -q origin '+refs/runs/*:refs/runs/*'")
	var times []time.Duration
	for i := 0; i < benchReps; i++ {
		recordRuns(b, src, 10)
		times = append(times, timeCmd(b, src, bin+" push ../r1.git > /dev/null"))
	}
	m := median(times)
	fmt.Printf("%-34s git-runs %8.1f ms   (target 1 s)\n", "push 10 new runs, remote has 10k", ms(m))
	b.ReportMetric(ms(m), "ms-push-10")
	benchMerge(b, bin, src, filepath.Join(dir, "c1"))
}

// benchMerge times merging what a plain git fetch brought into dst, a
// clone holding the 10,000 runs of src: 1,000 of them retagged in src and
// pushed, each round anew.
func benchMerge(b *testing.B, bin, src, dst string) {
	repo, err := gitstore.Open(src)
	if err != nil {
		b.Fatal(err)
	}
	defer repo.Close()
	ids, err := repo.LocalRuns(context.Background())
	if err != nil {
		b.Fatal(err)
	}
	sorted := slices.Sorted(maps.Keys(ids))[:1000]
	clone, err := gitstore.Open(dst)
	if err != nil {
		b.Fatal(err)
	}
	defer clone.Close()
	var times []time.Duration
	for i := 0; i < benchReps; i++ {
		now := time.Now().UTC().Truncate(time.Millisecond)
		for _, id := range sorted {
			err := repo.Amend(id, func(rec *run.Record) error {
				rec.Tags["round"] = strconv.Itoa(i)
				rec.TagTimes = map[string]time.Time{"round": now}
				return nil
			})
			if err != nil {
				b.Fatal(err)
			}
		}
		timeCmd(b, src, bin+" push ../r1.git > /dev/null")
		timeCmd(b, dst, "git fetch -q origin '+refs/runs/*:refs/runs-remotes/origin/runs/*'")
		start := time.Now()
		res, err := clone.Merge(context.Background(), "origin")
		times = append(times, time.Since(start))
		if err != nil || len(res.Updated) != 1000 {
			b.Fatalf("merge: %v, %d updated, want 1000", err, len(res.Updated))
		}
	}
	m := median(times)
	fmt.Printf("%-34s git-runs %8.1f ms   (target 1 s)\n", "merge 10k fetched, 1k changed", ms(m))
	b.ReportMetric(ms(m), "ms-merge-1k")
}
