// Package benchrepo writes repositories of many runs for benchmarks: runs
// in the exact form git-runs writes them (a commit per run on
// refs/runs/<id> whose parent is the code it ran, holding run.toml and
// metrics.tsv), written by git fast-import because recording a million runs
// one by one would take hours, then packed as git gc would leave them.
//
// The runs are a pure function of their index, so that a benchmark can
// say in advance how many match a query (Record), and a repository
// generated twice holds the same records.
package benchrepo

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/codec"
)

// Start is when run 0 started; run i started i seconds later, so ids sort
// by index and a million runs span twelve days.
var Start = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// Options say how to generate a repository.
type Options struct {
	// Bare makes a bare repository, as a remote would be.
	Bare bool
	// Log, if set, gets a line per phase with how long it took.
	Log io.Writer
}

// chunk is how many runs one git fast-import process writes: fast-import
// keeps a table entry for every object and branch it wrote until it ends,
// so one process for a million runs would hold them all in memory.
// A var, so that a test can see chunks joined.
var chunk = 200000

// Models, the values of the param model, in the order Record uses them.
var Models = []string{"resnet18", "resnet50", "vit-b16", "mlp", "gbdt"}

// Rates, the values of the param lr: three of eight are below 0.01.
var Rates = []float64{0.1, 0.05, 0.03, 0.02, 0.01, 0.003, 0.001, 0.0003}

// Steps is how many points each metric of a run has.
const Steps = 5

// Generate writes a new repository of n runs into dir, which must not
// exist or be empty, and packs it (git pack-refs --all, git repack -adq).
// gc.auto is 0 in it, so that no command a benchmark times starts a gc.
func Generate(dir string, n int, opt Options) error {
	if n < 0 {
		return fmt.Errorf("generate runs: negative count %d", n)
	}
	logf := logger(opt.Log)
	t0 := time.Now()
	args := []string{"init", "-q", "-b", "main"}
	if opt.Bare {
		args = append(args, "--bare")
	}
	if err := git("", nil, append(args, dir)...); err != nil {
		return err
	}
	if err := git(dir, nil, "config", "gc.auto", "0"); err != nil {
		return err
	}
	head, err := writeCode(dir)
	if err != nil {
		return err
	}
	commits, err := writeRuns(dir, head, 0, n, logf)
	if err != nil {
		return err
	}
	if err := writePackedRefs(dir, 0, commits); err != nil {
		return err
	}
	logf("wrote %d runs in %.1f s", n, time.Since(t0).Seconds())
	return Pack(dir, logf)
}

// Pack packs the refs and objects of dir as git gc would: one pack, all
// refs in packed-refs.
func Pack(dir string, logf func(string, ...any)) error {
	if logf == nil {
		logf = logger(nil)
	}
	t := time.Now()
	if err := git(dir, nil, "pack-refs", "--all"); err != nil {
		return err
	}
	logf("packed refs in %.1f s", time.Since(t).Seconds())
	t = time.Now()
	if err := git(dir, nil, "repack", "-adq"); err != nil {
		return err
	}
	logf("repacked objects in %.1f s", time.Since(t).Seconds())
	return nil
}

// AddRuns appends n runs to the repository dir, newer than any run in it,
// their parent its HEAD, as a colleague's new runs would arrive: in a pack
// of their own with loose refs.
func AddRuns(dir string, n int) error {
	out, err := gitOut(dir, "for-each-ref", "--sort=-refname", "--count=1", "--format=%(refname:lstrip=2)", "refs/runs/")
	if err != nil {
		return err
	}
	from := 0
	if id := strings.TrimSpace(out); id != "" {
		t := run.IDTime(id)
		if t.IsZero() {
			return fmt.Errorf("add runs: newest run %q has no valid id", id)
		}
		from = int(t.Sub(Start)/time.Second) + 1
	}
	head, err := gitOut(dir, "rev-parse", "--verify", "HEAD^{commit}")
	if err != nil {
		return err
	}
	commits, err := writeRuns(dir, strings.TrimSpace(head), from, from+n, logger(nil))
	if err != nil {
		return err
	}
	return updateRefs(dir, from, commits)
}

// writeCode commits the code every run ran to main: fixed dates, so that
// its id is the same in every repository generated.
func writeCode(dir string) (string, error) {
	src := "import sys\nprint('training', sys.argv)\n"
	stream := fmt.Sprintf("commit refs/heads/main\nauthor B <b@example.com> %[1]d +0000\ncommitter B <b@example.com> %[1]d +0000\ndata 5\ncode\nM 100644 inline train.py\ndata %[2]d\n%[3]s\ndone\n",
		Start.Unix()-3600, len(src), src)
	if err := git(dir, strings.NewReader(stream), "fast-import", "--quiet", "--done"); err != nil {
		return "", err
	}
	head, err := gitOut(dir, "rev-parse", "refs/heads/main")
	return strings.TrimSpace(head), err
}

// importBranch is the one branch fast-import commits every run to: each
// commit names its parent with from, so the branch's history does not
// matter, and one branch instead of one per run keeps fast-import from
// reloading a branch for every commit (10,000 runs took 50 s that way).
// The run refs are written afterwards from the marks.
const importBranch = "refs/heads/benchrepo-import"

// writeRuns writes runs from to to-1 with parent head, streamed into one
// git fast-import per chunk, and returns their commits in order.
func writeRuns(dir, head string, from, to int, logf func(string, ...any)) ([]string, error) {
	commits := make([]string, 0, to-from)
	for lo := from; lo < to; lo += chunk {
		hi := min(lo+chunk, to)
		t := time.Now()
		cs, err := fastImport(dir, head, lo, hi)
		if err != nil {
			return nil, err
		}
		commits = append(commits, cs...)
		// The next chunk's first commit does not descend from this
		// chunk's last, and fast-import moves a branch only forward.
		if err := git(dir, nil, "update-ref", "-d", importBranch); err != nil {
			return nil, err
		}
		logf("fast-import of runs %d-%d: %.1f s", lo, hi-1, time.Since(t).Seconds())
	}
	return commits, nil
}

// fastImport writes runs lo to hi-1 and returns their commits. The code
// commit head is mark 1, imported, because a from naming a commit by its
// id instead costs fast-import a look-up that took 5 ms a run.
func fastImport(dir, head string, lo, hi int) ([]string, error) {
	tmp, err := os.MkdirTemp("", "benchrepo-marks")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	in, out := filepath.Join(tmp, "in"), filepath.Join(tmp, "out")
	if err := os.WriteFile(in, []byte(":1 "+head+"\n"), 0o600); err != nil {
		return nil, err
	}
	cmd := exec.Command("git", "fast-import", "--quiet", "--done", "--import-marks="+in, "--export-marks="+out)
	cmd.Dir = dir
	// fast-import grows and shrinks its heap by brk some 16 times a run,
	// and brk took 150 us a call here: 3 ms a run, 99% of its time.
	// Keeping the freed memory cuts 1,000 runs from 2.6 s to 0.13 s.
	cmd.Env = append(gitEnv(), "MALLOC_TOP_PAD_=268435456", "MALLOC_TRIM_THRESHOLD_=1073741824")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("git fast-import: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("git fast-import: %w", err)
	}
	werr := writeStream(stdin, head, lo, hi)
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		return nil, fmt.Errorf("git fast-import: %w: %s", err, strings.TrimSpace(stderr.String()))
	}
	if werr != nil {
		return nil, fmt.Errorf("git fast-import: write: %w", werr)
	}
	return readMarks(out, hi-lo)
}

// readMarks returns the commits of marks 2 to n+1 from a marks file.
func readMarks(path string, n int) ([]string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read marks: %w", err)
	}
	commits := make([]string, n)
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		mark, sha, ok := strings.Cut(line, " ")
		k, err := strconv.Atoi(strings.TrimPrefix(mark, ":"))
		if !ok || err != nil || k < 1 || k > n+1 {
			return nil, fmt.Errorf("read marks: bad line %q", line)
		}
		if k > 1 {
			commits[k-2] = sha
		}
	}
	for k, c := range commits {
		if c == "" {
			return nil, fmt.Errorf("read marks: no commit for mark %d", k+2)
		}
	}
	return commits, nil
}

// writeStream writes the fast-import commands for runs lo to hi-1, the
// run i as mark i-lo+2.
func writeStream(in io.Writer, head string, lo, hi int) error {
	w := bufio.NewWriterSize(in, 1<<20)
	for i := lo; i < hi; i++ {
		rec, hist := Record(i, head)
		text, err := codec.EncodeTOML(rec)
		if err != nil {
			return fmt.Errorf("encode run %d: %w", i, err)
		}
		tsv := codec.EncodeHistory(hist)
		msg := message(rec)
		when := rec.Started.Unix()
		fmt.Fprintf(w, "commit %s\nmark :%d\nauthor B <b@example.com> %d +0000\ncommitter B <b@example.com> %d +0000\ndata %d\n%s\n",
			importBranch, i-lo+2, when, when, len(msg), msg)
		fmt.Fprintf(w, "from :1\nM 100644 inline run.toml\ndata %d\n%s\nM 100644 inline metrics.tsv\ndata %d\n%s\n",
			len(text), text, len(tsv), tsv)
	}
	w.WriteString("done\n")
	return w.Flush()
}

// writePackedRefs writes refs/runs/<id> for runs from, from+1, ... at
// commits straight into packed-refs, which must not exist yet: git
// update-ref takes minutes over a million new refs, and ids sort by index,
// so the lines are already in the order packed-refs keeps.
func writePackedRefs(dir string, from int, commits []string) error {
	gitDir, err := gitOut(dir, "rev-parse", "--absolute-git-dir")
	if err != nil {
		return err
	}
	path := filepath.Join(strings.TrimSpace(gitDir), "packed-refs")
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("write packed refs: %w", err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	w.WriteString("# pack-refs with: peeled fully-peeled sorted \n")
	for k, c := range commits {
		fmt.Fprintf(w, "%s refs/runs/%s\n", c, ID(from+k))
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write packed refs: %w", err)
	}
	return f.Close()
}

// updateRefs creates refs/runs/<id> for runs from, from+1, ... as loose
// refs, in one transaction, as a fetch would.
func updateRefs(dir string, from int, commits []string) error {
	var in strings.Builder
	for k, c := range commits {
		fmt.Fprintf(&in, "create refs/runs/%s %s\n", ID(from+k), c)
	}
	return git(dir, strings.NewReader(in.String()), "update-ref", "--stdin")
}

// idAlphabet is the alphabet of run ids (run/id.go).
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// ID returns the id of run i: its start time in the first 10 characters,
// as run.NewIDAt writes them, and 16 characters drawn from a generator
// seeded by i instead of crypto/rand, so that a repository generated twice
// has the same ids.
func ID(i int) string {
	ms := uint64(Start.Add(time.Duration(i) * time.Second).UnixMilli())
	var id [26]byte
	for k := 9; k >= 0; k-- {
		id[k] = idAlphabet[ms&31]
		ms >>= 5
	}
	rng := rand.New(rand.NewPCG(uint64(i), 0x6964))
	for k := 10; k < len(id); k++ {
		id[k] = idAlphabet[rng.IntN(len(idAlphabet))]
	}
	return string(id[:])
}

// message is the commit message git-runs writes: a line that reads well
// in git log, then the run's identity as trailers (docs/FORMAT.md).
func message(rec *run.Record) string {
	var b strings.Builder
	fmt.Fprintf(&b, "run %s: %s", rec.Name, rec.Status)
	keys := make([]string, 0, len(rec.Metrics))
	for k := range rec.Metrics {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, ", %s=%s", k, run.FormatMetric(rec.Metrics[k].Last))
	}
	fmt.Fprintf(&b, "\n\nRun-Id: %s\nExperiment: %s\n", rec.ID, rec.Experiment)
	return b.String()
}

// Record returns run i of a generated repository, whose code commit is
// head, and its metric history. Its values are drawn from a generator
// seeded by i: lr from Rates, acc above 0.5 for one run in fifty, so that
// "metrics.acc > 0.5 and params.lr < 0.01" matches about 0.75% of runs.
func Record(i int, head string) (*run.Record, run.History) {
	rng := rand.New(rand.NewPCG(uint64(i), 0x6769742d72756e73))
	started := Start.Add(time.Duration(i) * time.Second)
	acc := 0.05 + 0.44*rng.Float64()
	if rng.IntN(50) == 0 {
		acc = 0.5 + 0.45*rng.Float64()
	}
	loss0 := 1 + 2*rng.Float64()
	hist := run.History{}
	for s := 0; s < Steps; s++ {
		at := started.Add(time.Duration(s+1) * 10 * time.Second).UnixMilli()
		f := float64(s+1) / Steps
		hist["acc"] = append(hist["acc"], run.Point{Step: int64(s), Time: at, Value: round(acc * f)})
		hist["val/acc"] = append(hist["val/acc"], run.Point{Step: int64(s), Time: at, Value: round(acc*f - 0.02*rng.Float64())})
		hist["loss"] = append(hist["loss"], run.Point{Step: int64(s), Time: at, Value: round(loss0 / float64(s+1))})
	}
	metrics := map[string]run.Summary{}
	for k, ps := range hist {
		metrics[k] = run.Summarize(ps)
	}
	code := 0
	status := run.Finished
	if i%97 == 96 {
		status, code = run.Failed, 1
	}
	rec := &run.Record{
		Format: run.Format, ID: ID(i), Name: "bench-run-" + strconv.Itoa(i), Experiment: "default",
		Status: status, Started: started, Ended: started.Add(time.Duration(Steps+1) * 10 * time.Second),
		Command: []string{"python3", "train.py"}, ExitCode: &code,
		Source: run.Source{Commit: head, Branch: "main"},
		Host:   run.Host{Hostname: "bench", User: "b", OS: "linux", Arch: "amd64"},
		Params: map[string]any{
			"lr":     Rates[rng.IntN(len(Rates))],
			"epochs": int64(1 + rng.IntN(100)),
			"model":  Models[rng.IntN(len(Models))],
			"depth":  int64(2 + rng.IntN(11)),
			"batch":  int64(16 << rng.IntN(5)),
		},
		Tags:    map[string]string{"team": []string{"vision", "speech", "nlp"}[i%3]},
		Metrics: metrics,
	}
	return rec, hist
}

// round keeps four decimals, as a training script printing metrics would.
func round(v float64) float64 {
	v, _ = strconv.ParseFloat(strconv.FormatFloat(v, 'f', 4, 64), 64)
	return v
}

// Copy makes dst a copy of the repository src to run a benchmark that
// changes it: pack files, which git never changes once written, are hard
// links; every other file is copied, so nothing done in dst reaches src.
func Copy(src, dst string) error {
	return filepath.Walk(src, func(path string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		to := filepath.Join(dst, rel)
		switch {
		case info.IsDir():
			return os.MkdirAll(to, info.Mode().Perm()|0o700)
		case !info.Mode().IsRegular():
			return nil // no sockets or links in a generated repository
		case filepath.Base(filepath.Dir(path)) == "pack" && filepath.Base(filepath.Dir(filepath.Dir(path))) == "objects":
			return os.Link(path, to)
		}
		return copyFile(path, to, info.Mode().Perm())
	})
}

func copyFile(from, to string, mode os.FileMode) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("copy %s: %w", from, err)
	}
	return out.Close()
}

func logger(w io.Writer) func(string, ...any) {
	return func(format string, args ...any) {
		if w != nil {
			fmt.Fprintf(w, format+"\n", args...)
		}
	}
}

// gitEnv fixes identity and keeps the user's system config out.
func gitEnv() []string {
	return append(os.Environ(), "GIT_AUTHOR_NAME=B", "GIT_AUTHOR_EMAIL=b@example.com",
		"GIT_COMMITTER_NAME=B", "GIT_COMMITTER_EMAIL=b@example.com", "GIT_CONFIG_NOSYSTEM=1")
}

func git(dir string, stdin io.Reader, args ...string) error {
	_, err := runGit(dir, stdin, args...)
	return err
}

func gitOut(dir string, args ...string) (string, error) { return runGit(dir, nil, args...) }

func runGit(dir string, stdin io.Reader, args ...string) (string, error) {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gitEnv()
	cmd.Stdin = stdin
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("git %s: %w: %s", args[0], err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}
