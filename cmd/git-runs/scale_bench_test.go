package main

import (
	"bufio"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gitruns/gitruns/internal/benchrepo"
)

// The scale benchmarks (issue 15) time commands over repositories of
// 100,000 and 1,000,000 packed runs, each against the C-git floor measured
// in the same run, and print a table at the end:
//
//	GITRUNS_SCALE_RUNS=100000,1000000 GITRUNS_SCALE_CACHE=/work/scale \
//	  go test ./cmd/git-runs -run '^$' -bench 'Scale' -benchtime 1x -timeout 0
//
// GITRUNS_SCALE_RUNS lists the sizes (default 100000).
// GITRUNS_SCALE_CACHE keeps the generated repositories between runs
// (runs-N, remote-N.git, fetched-N); without it they are generated anew.
// GITRUNS_SCALE_ONLY=show,ls,... runs only the named measurements: show,
// ls, limit, where, best, cold, fetch, record (BenchmarkScale) and clone,
// fetchnone, fetch10, lsremote, push (BenchmarkScaleRemote).
// GITRUNS_SCALE_BIN times that git-runs binary instead of building one,
// so that two versions can be timed on the same repositories.
//
// Every measurement runs once untimed first (which also warms caches and
// indexes); then 7 times, or 3 when that first run took over 5 s, or once
// when it took over a minute.

// scaleRow is one line of the summary table.
type scaleRow struct {
	label          string
	ours, base     time.Duration
	rssOurs, rssBa int64 // peak resident set in KiB, 0: not measured
	reps           int
	note           string
}

type scaleTable []scaleRow

func (t *scaleTable) print(title string) {
	fmt.Printf("\n%s\n%-46s %12s %12s %7s %10s %10s %4s\n", title, "measurement", "git-runs ms", "floor ms", "ratio", "RSS MiB", "floor MiB", "reps")
	for _, r := range *t {
		ratio, base := "", ""
		if r.base > 0 {
			ratio, base = fmt.Sprintf("%.2f", float64(r.ours)/float64(r.base)), fmt.Sprintf("%.1f", ms(r.base))
		}
		fmt.Printf("%-46s %12.1f %12s %7s %10s %10s %4d %s\n", r.label, ms(r.ours), base, ratio, mib(r.rssOurs), mib(r.rssBa), r.reps, r.note)
	}
}

func mib(kib int64) string {
	if kib == 0 {
		return ""
	}
	return fmt.Sprintf("%.0f", float64(kib)/1024)
}

func scaleSizes(b *testing.B) []int {
	env := os.Getenv("GITRUNS_SCALE_RUNS")
	if env == "" {
		return []int{100000}
	}
	var ns []int
	for _, f := range strings.Split(env, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			b.Fatalf("GITRUNS_SCALE_RUNS: bad size %q", f)
		}
		ns = append(ns, n)
	}
	return ns
}

// scaleOn reports whether measurement name is to run.
func scaleOn(name string) bool {
	only := os.Getenv("GITRUNS_SCALE_ONLY")
	return only == "" || slices.Contains(strings.Split(only, ","), name)
}

func scaleBinary(b *testing.B) string {
	if bin := os.Getenv("GITRUNS_SCALE_BIN"); bin != "" {
		abs, err := filepath.Abs(bin)
		if err != nil {
			b.Fatal(err)
		}
		return abs
	}
	return buildBinary(b)
}

// scaleCache is the directory the generated repositories are kept in.
func scaleCache(b *testing.B) string {
	if dir := os.Getenv("GITRUNS_SCALE_CACHE"); dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			b.Fatal(err)
		}
		return dir
	}
	return b.TempDir()
}

// cached returns cache/name, made by make into a temporary directory
// renamed into place when it is complete, so that an interrupted run
// leaves nothing a later one would take for finished.
func cached(b *testing.B, cache, name string, make func(dir string) error) string {
	b.Helper()
	dir := filepath.Join(cache, name)
	if _, err := os.Stat(dir); err == nil {
		return dir
	}
	tmp := fmt.Sprintf("%s.tmp-%d", dir, os.Getpid())
	os.RemoveAll(tmp)
	start := time.Now()
	if err := make(tmp); err != nil {
		os.RemoveAll(tmp)
		b.Fatalf("make %s: %v", name, err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		b.Fatal(err)
	}
	fmt.Printf("made %s in %.1f s\n", dir, time.Since(start).Seconds())
	return dir
}

// scaleRepo is a packed repository of n runs.
func scaleRepo(b *testing.B, cache string, n int) string {
	return cached(b, cache, fmt.Sprintf("runs-%d", n), func(dir string) error {
		return benchrepo.Generate(dir, n, benchrepo.Options{Log: os.Stdout})
	})
}

// scaleRemote is a bare repository holding the runs of scaleRepo, its
// pack shared by hard links.
func scaleRemote(b *testing.B, cache string, n int) string {
	repo := scaleRepo(b, cache, n)
	return cached(b, cache, fmt.Sprintf("remote-%d.git", n), func(dir string) error {
		out, err := exec.Command("git", "clone", "-q", "--mirror", "--local", repo, dir).CombinedOutput()
		if err != nil {
			return fmt.Errorf("git clone --mirror: %v: %s", err, out)
		}
		return nil
	})
}

// scaleFetched is scaleRepo set up to share runs with scaleRemote as
// git runs remote setup configures it, after a first git fetch and the
// first git runs ls that merges what it brought, with its refs packed: a
// clone in use. Its origin is scaleRemote; a benchmark copies both and
// points the copy at the copy.
func scaleFetched(b *testing.B, cache, bin string, n int) string {
	repo, remote := scaleRepo(b, cache, n), scaleRemote(b, cache, n)
	return cached(b, cache, fmt.Sprintf("fetched-%d", n), func(dir string) error {
		if err := benchrepo.Copy(repo, dir); err != nil {
			return err
		}
		for _, step := range []struct {
			label, line string
		}{
			{"remote add", "git remote add origin " + remote},
			{"remote setup", bin + " remote setup origin > /dev/null"},
			{"first git fetch", "git fetch -q origin"},
			{"first ls after it", bin + " ls --json --limit 10 > /dev/null"},
			{"pack-refs", "git pack-refs --all"},
		} {
			fmt.Printf("fetched-%d: %s: %.1f s\n", n, step.label, ms(timeCmd(b, dir, step.line))/1000)
		}
		return nil
	})
}

// scratch copies the repository src for a benchmark that changes it.
func scratch(b *testing.B, src string) string {
	dst := filepath.Join(b.TempDir(), filepath.Base(src))
	if err := benchrepo.Copy(src, dst); err != nil {
		b.Fatal(err)
	}
	return dst
}

// scaleReps is how many timed runs follow a first run that took d.
func scaleReps(d time.Duration) int {
	switch {
	case d > time.Minute:
		return 1
	case d > 5*time.Second:
		return 3
	}
	return benchReps
}

// runRSS runs a shell command line in dir and returns how long it took
// and the peak resident set of the largest process it ran, in KiB (the
// shell's rusage takes the maximum over the children it waited for).
func runRSS(b *testing.B, dir, line string) (time.Duration, int64) {
	b.Helper()
	cmd := exec.Command("sh", "-c", line)
	cmd.Dir = dir
	cmd.Env = benchEnv()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	start := time.Now()
	if err := cmd.Run(); err != nil {
		b.Fatalf("%s: %v\n%s", line, err, stderr.String())
	}
	d := time.Since(start)
	return d, cmd.ProcessState.SysUsage().(*syscall.Rusage).Maxrss
}

// compare times ours and base alternately, after an untimed first run
// of each, with before (a Go function, untimed) ahead of every run of
// ours, and adds the medians and the peak memory to t.
func (t *scaleTable) compare(b *testing.B, dir, label string, before func(), ours, base string) {
	b.Helper()
	lines := []string{ours, base}
	var times [2][]time.Duration
	var rss [2]int64
	var first time.Duration
	for k, line := range lines {
		if line == "" {
			continue
		}
		if before != nil && k == 0 {
			before()
		}
		d, _ := runRSS(b, dir, line)
		first = max(first, d)
	}
	reps := scaleReps(first)
	for i := 0; i < reps; i++ {
		for k, line := range lines {
			if line == "" {
				continue
			}
			if before != nil && k == 0 {
				before()
			}
			d, r := runRSS(b, dir, line)
			times[k] = append(times[k], d)
			rss[k] = max(rss[k], r)
		}
	}
	row := scaleRow{label: label, ours: median(times[0]), rssOurs: rss[0], rssBa: rss[1], reps: reps}
	if base != "" {
		row.base = median(times[1])
	}
	*t = append(*t, row)
	floor := ""
	if base != "" {
		floor = fmt.Sprintf("   floor %9.1f ms (%s MiB)", ms(row.base), mib(row.rssBa))
	}
	fmt.Printf("%-46s git-runs %9.1f ms (%s MiB)%s   reps %d\n", label, ms(row.ours), mib(row.rssOurs), floor, reps)
	b.ReportMetric(ms(row.ours), strings.ReplaceAll(label, " ", "_")+"-ms")
}

const scaleWhere = `'metrics.acc > 0.5 and params.lr < 0.01'`

// BenchmarkScale times the commands of issue 15 over N packed runs.
func BenchmarkScale(b *testing.B) {
	bin := scaleBinary(b)
	cache := scaleCache(b)
	var table scaleTable
	defer func() { table.print("BenchmarkScale " + time.Now().UTC().Format(time.RFC3339)) }()
	for _, n := range scaleSizes(b) {
		dir := scaleRepo(b, cache, n)
		k := fmt.Sprintf("%dk", n/1000)
		id := benchrepo.ID(n / 2)
		commit := strings.TrimSpace(benchGit(b, dir, "rev-parse", "refs/runs/"+id))
		newest10 := `git for-each-ref --sort=-refname --count=10 --format='%(objectname)%0a%(objectname):run.toml' refs/runs | git cat-file --batch > /dev/null`
		if scaleOn("show") {
			table.compare(b, dir, "show RUN, "+k, nil, bin+" show "+id+" > /dev/null", "git cat-file -p "+commit+":run.toml > /dev/null")
		}
		if scaleOn("ls") {
			table.compare(b, dir, "ls --json, "+k+", warm", nil, bin+" ls --json > /dev/null", floorCmd)
		}
		if scaleOn("limit") {
			table.compare(b, dir, "ls --json --limit 10, "+k, nil, bin+" ls --json --limit 10 > /dev/null", newest10)
		}
		if scaleOn("where") {
			table.compare(b, dir, "ls --where acc>0.5,lr<0.01 --json, "+k, nil, bin+" ls --where "+scaleWhere+" --json > /dev/null", floorCmd)
		}
		if scaleOn("best") {
			table.compare(b, dir, "best acc, "+k, nil, bin+" best acc > /dev/null", floorCmd)
		}
		if scaleOn("cold") {
			rm := "rm -rf .git/runs/cache .git/runs/index* && "
			table.compare(b, dir, "ls --json, "+k+", cold", nil, rm+bin+" ls --json > /dev/null", rm+floorCmd)
		}
		if scaleOn("fetch") {
			scaleFetch(b, &table, bin, cache, n, newest10)
		}
		if scaleOn("record") {
			scaleRecord(b, &table, dir, n)
		}
	}
}

// scaleFetch times the first ls --limit 10 after a git fetch brought
// 1,000 new runs into a clone of n runs, each round anew.
func scaleFetch(b *testing.B, table *scaleTable, bin, cache string, n int, floor string) {
	local := scratch(b, scaleFetched(b, cache, bin, n))
	remote := scratch(b, scaleRemote(b, cache, n))
	benchGit(b, local, "remote", "set-url", "origin", remote)
	before := func() {
		if err := benchrepo.AddRuns(remote, 1000); err != nil {
			b.Fatal(err)
		}
		timeCmd(b, local, "git fetch -q origin")
	}
	table.compare(b, local, fmt.Sprintf("ls --limit 10 after fetch of 1k, %dk", n/1000), before,
		bin+" ls --json --limit 10 > /dev/null", floor)
}

// scaleRecord records 2,000 runs through the Go API into a copy of the
// repository of n runs, against the same into an empty repository.
func scaleRecord(b *testing.B, table *scaleTable, dir string, n int) {
	local := scratch(b, dir)
	empty := filepath.Join(b.TempDir(), "empty")
	benchGit(b, b.TempDir(), "init", "-q", "-b", "main", empty)
	benchGit(b, empty, "commit", "-q", "--allow-empty", "-m", "init")
	benchGit(b, empty, "config", "gc.auto", "0")
	var times [2]time.Duration
	for k, d := range []string{local, empty} {
		start := time.Now()
		recordRuns(b, d, 2000)
		times[k] = time.Since(start)
	}
	*table = append(*table, scaleRow{label: fmt.Sprintf("record 2,000 runs (Go API), %dk there", n/1000), ours: times[0], base: times[1], reps: 1, note: "floor: into an empty repo"})
	fmt.Printf("%-46s git-runs %9.1f ms   into an empty repo %9.1f ms\n", "record 2,000 runs", ms(times[0]), ms(times[1]))
}

// BenchmarkScaleRemote times cloning, fetching, listing and pushing
// against a bare remote of N runs, over file:// and over git daemon on
// 127.0.0.1, each with git ls-remote beside it and the size of what the
// remote advertised (from GIT_TRACE_PACKET), to see how much of each is
// the advertisement of every ref.
func BenchmarkScaleRemote(b *testing.B) {
	bin := scaleBinary(b)
	cache := scaleCache(b)
	var table scaleTable
	defer func() { table.print("BenchmarkScaleRemote " + time.Now().UTC().Format(time.RFC3339)) }()
	for _, n := range scaleSizes(b) {
		k := fmt.Sprintf("%dk", n/1000)
		root := b.TempDir()
		remote := filepath.Join(root, "remote.git")
		if err := benchrepo.Copy(scaleRemote(b, cache, n), remote); err != nil {
			b.Fatal(err)
		}
		fetched := ""
		if scaleOn("fetchnone") || scaleOn("fetch10") || scaleOn("push") {
			fetched = scaleFetched(b, cache, bin, n)
		}
		for _, tr := range []struct{ name, url string }{
			{"file", "file://" + remote},
			{"daemon", gitDaemon(b, root) + "/remote.git"},
		} {
			scaleRemoteOver(b, &table, bin, fetched, remote, tr.url, k+" "+tr.name)
		}
	}
}

func scaleRemoteOver(b *testing.B, table *scaleTable, bin, fetched, remote, url, k string) {
	var specs []string
	for _, s := range []string{"runs", "deleted", "experiments"} {
		prefix := map[string]string{"runs": "refs/runs/", "deleted": "refs/runs-deleted/", "experiments": "refs/runs-experiments/"}[s]
		specs = append(specs, "-c remote.origin.fetch=+"+prefix+"*:refs/runs-remotes/origin/"+s+"/*")
	}
	lsRemote := "git ls-remote " + url + " > /dev/null"
	if scaleOn("lsremote") {
		table.compare(b, ".", "ls-remote, "+k, nil, lsRemote, "git ls-remote --heads "+url+" > /dev/null")
		(*table)[len(*table)-1].note = "floor: ls-remote --heads; " + advertised(b, ".", "git ls-remote "+url)
	}
	if scaleOn("clone") {
		dst := filepath.Join(b.TempDir(), "c")
		table.compare(b, ".", "clone with the runs refspec, "+k, nil,
			"rm -rf "+dst+" && git clone -q --no-checkout "+strings.Join(specs, " ")+" "+url+" "+dst, lsRemote)
		(*table)[len(*table)-1].note = "floor: ls-remote"
	}
	if fetched == "" {
		return // nothing below asked for
	}
	local := scratch(b, fetched)
	benchGit(b, local, "remote", "set-url", "origin", url)
	if scaleOn("fetchnone") {
		table.compare(b, local, "git fetch, nothing new, "+k, nil, "git fetch -q origin", lsRemote)
		(*table)[len(*table)-1].note = "floor: ls-remote; " + advertised(b, local, "git fetch -q origin")
	}
	if scaleOn("fetch10") {
		before := func() {
			if err := benchrepo.AddRuns(remote, 10); err != nil {
				b.Fatal(err)
			}
		}
		table.compare(b, local, "git fetch, 10 new runs, "+k, before, "git fetch -q origin", "")
	}
	if scaleOn("push") {
		timeCmd(b, local, bin+" fetch > /dev/null") // merge what the fetches brought
		before := func() { recordRuns(b, local, 10) }
		table.compare(b, local, "git runs push, 10 new runs, "+k, before, bin+" push origin > /dev/null", "")
	}
}

// advertised runs line once with GIT_TRACE_PACKET and says how many
// packet lines and bytes the remote sent before its first flush packet
// after the command's request for refs: the advertisement.
func advertised(b *testing.B, dir, line string) string {
	trace := filepath.Join(b.TempDir(), "trace")
	timeCmd(b, dir, "GIT_TRACE_PACKET="+trace+" "+line+" > /dev/null")
	f, err := os.Open(trace)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	lines, bytes := 0, 0
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		// "... packet:        fetch< 1234abcd... refs/runs/..."
		_, rest, ok := strings.Cut(sc.Text(), "packet: ")
		if !ok {
			continue
		}
		_, payload, ok := strings.Cut(rest, "< ")
		if !ok || !strings.Contains(payload, " refs/") {
			continue
		}
		lines++
		bytes += 4 + len(payload) + 1
	}
	if err := sc.Err(); err != nil {
		b.Fatal(err)
	}
	return fmt.Sprintf("%d refs advertised, %.1f MB", lines, float64(bytes)/1e6)
}

// gitDaemon serves the bare repositories under root on 127.0.0.1, pushes
// allowed, until the benchmark ends, and returns its git:// URL.
func gitDaemon(b *testing.B, root string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	ln.Close()
	cmd := exec.Command("git", "daemon", "--reuseaddr", "--export-all", "--enable=receive-pack",
		"--base-path="+root, "--listen=127.0.0.1", "--port="+port, root)
	cmd.SysProcAttr = daemonAttr()
	if err := cmd.Start(); err != nil {
		b.Fatalf("start git daemon: %v", err)
	}
	b.Cleanup(func() {
		syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		cmd.Wait()
		waitGroupGone(cmd.Process.Pid)
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("git daemon not listening on %s: %v", port, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return "git://127.0.0.1:" + port
}
