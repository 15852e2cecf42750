package main

import (
	"bytes"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/run"
)

// hostile is one record of the catalogue: the files of a run commit, as
// plain git writes them, sent through a remote to a clone that reads it.
type hostile struct {
	name string
	// files are the entries of the run's tree: "mode name" to content,
	// where a content starting with "tree:" names a tree spec of its own
	// (see mktree) and mode 160000 takes a commit id.
	files map[string]string
	// id is the ref's id; "" for a new one.
	id string
	// raw, when set, is the whole commit object, written with
	// hash-object --literally into the clone itself: git will not send
	// commits whose parents are missing or are blobs.
	raw func(tree string) string
	// readable tells that the record reads (and the run lists).
	readable bool
}

// hostileHead starts a valid record for id.
func hostileHead(id string) string {
	return "format = 1\nid = \"" + id + "\"\nname = \"hostile\"\nstatus = \"finished\"\nstarted = 2026-11-26T22:52:19.123Z\n"
}

const emptyHistory = "key\tstep\ttimestamp\tvalue\n"

// hostileCases returns the catalogue, each case with its id.
func hostileCases() []hostile {
	rec := func(body string) func(id string) string {
		return func(id string) string { return hostileHead(id) + body }
	}
	big := strings.Repeat("x", 2<<20)
	type c = struct {
		name     string
		record   func(id string) string
		history  string
		readable bool
	}
	simple := []c{
		{"deep inline tables", rec("[params]\nx = " + strings.Repeat("{a=", 100000) + "1" + strings.Repeat("}", 100000) + "\n"), emptyHistory, false},
		{"deep arrays", rec("[params]\nx = " + strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + "\n"), emptyHistory, false},
		{"deep dotted key", rec("[params]\n" + strings.Repeat("a.", 50000) + "b = 1\n"), emptyHistory, false},
		{"deep table header", rec("[params" + strings.Repeat(".a", 50000) + "]\nb = 1\n"), emptyHistory, false},
		{"huge name", func(id string) string {
			return "format = 1\nid = \"" + id + "\"\nname = \"" + big + "\"\nstatus = \"finished\"\n"
		}, emptyHistory, false},
		{"long name", func(id string) string {
			return "format = 1\nid = \"" + id + "\"\nname = \"" + strings.Repeat("n", 300) + "\"\nstatus = \"finished\"\n"
		}, emptyHistory, false},
		{"huge string param", rec("[params]\np = \"" + strings.Repeat("v", 100000) + "\"\n"), emptyHistory, false},
		{"many tags", rec("[tags]\n" + manyLines(70000, "t%d = \"v\"\n")), emptyHistory, false},
		{"many params", rec("[params]\n" + manyLines(70000, "p%d = 1\n")), emptyHistory, false},
		{"many command args", rec("command = [" + strings.Repeat("\"a\", ", 70000) + "\"a\"]\n"), emptyHistory, false},
		{"many gpus", rec("[host]\n" + strings.Repeat("[[host.gpus]]\nname = \"g\"\n", 2000)), emptyHistory, false},
		{"invalid utf-8", rec("[tags]\nt = \"\xff\xfe\"\n"), emptyHistory, false},
		{"invalid utf-8 in key", rec("[tags]\n\"\xff\" = \"v\"\n"), emptyHistory, false},
		{"bad timestamp", rec("ended = 2026-13-45T99:99:99Z\n"), emptyHistory, false},
		{"timestamp as string", rec("ended = \"yesterday\"\n"), emptyHistory, false},
		{"format too high", func(id string) string {
			return "format = 99\nid = \"" + id + "\"\nstatus = \"finished\"\n"
		}, emptyHistory, false},
		{"format not a number", func(id string) string {
			return "format = \"1\"\nid = \"" + id + "\"\nstatus = \"finished\"\n"
		}, emptyHistory, false},
		{"bad status", func(id string) string {
			return "format = 1\nid = \"" + id + "\"\nstatus = \"pwned\"\n"
		}, emptyHistory, false},
		{"id of another run", func(string) string { return hostileHead(goodID) }, emptyHistory, false},
		{"invalid id", func(string) string { return hostileHead("../../../../etc/passwd") }, emptyHistory, false},
		{"not toml", func(string) string { return "\x00\x01\x02 not toml [[[" }, emptyHistory, false},
		{"empty record", func(string) string { return "" }, emptyHistory, false},
		{"huge record", func(id string) string { return hostileHead(id) + "x = \"" + big + "\"\n" }, emptyHistory, false},
		{"exit code overflow", rec("exit_code = 99999999999999999999\n"), emptyHistory, false},
		{"metric summary of strings", rec("[metrics.loss]\nlast = \"a\"\n"), emptyHistory, false},
		// Readable records with hostile content.
		{"nan and inf", rec("[params]\nn = nan\ni = -inf\n[metrics.loss]\nlast = nan\nstep = 1\nmin = -inf\nmax = inf\ncount = 2\n"),
			emptyHistory + "loss\t0\t0\tnan\nloss\t1\t1\tinf\nloss\t2\t2\t-inf\n", true},
		{"negative and huge steps", rec(""), emptyHistory + "loss\t-9223372036854775808\t-1\t1\nloss\t9223372036854775807\t9223372036854775807\t2\n", true},
		{"tags with escapes", rec("[tags]\nt = \"line\\nbreak\\u001b[31mred\\u0007\"\n\"k\\u001b]0;x\\u0007\" = \"v\"\n"), emptyHistory, true},
		{"name with escapes", func(id string) string {
			return "format = 1\nid = \"" + id + "\"\nname = \"\\u001b[2Jwiped\"\nstatus = \"finished\"\n"
		}, emptyHistory, true},
		{"source dir escapes", rec("command = [\"true\"]\n[source]\ncommit = \"\"\ndir = \"../../x\"\n"), emptyHistory, true},
		{"source dir absolute", rec("command = [\"true\"]\n[source]\ncommit = \"\"\ndir = \"/tmp/x\"\n"), emptyHistory, true},
		{"source commit option", rec("command = [\"true\"]\n[source]\ncommit = \"--orphan=x\"\n"), emptyHistory, true},
		{"source snapshot option", rec("command = [\"true\"]\n[source]\ncommit = \"--output=/tmp/x\"\ndirty = true\nsnapshot = \"-o/tmp/y\"\n"), emptyHistory, true},
		// metrics.tsv.
		{"history of newlines", rec(""), emptyHistory + strings.Repeat("\n", 4<<20), true},
		{"history bad columns", rec(""), emptyHistory + "loss\t1\n", true},
		{"history bad header", rec(""), "a,b,c\n", true},
		{"history bad numbers", rec(""), emptyHistory + "loss\tone\ttwo\tthree\n", true},
		{"history long key", rec(""), emptyHistory + strings.Repeat("k", 1<<20) + "\t1\t1\t1\n", true},
		{"history huge", rec(""), emptyHistory + strings.Repeat("\n", run.MaxHistorySize), true},
	}
	var out []hostile
	for _, s := range simple {
		id := run.NewID()
		out = append(out, hostile{name: s.name, id: id, readable: s.readable, files: map[string]string{
			"100644 run.toml": s.record(id), "100644 metrics.tsv": s.history,
		}})
	}
	for _, h := range []hostile{
		{name: "missing run.toml", files: map[string]string{"100644 metrics.tsv": emptyHistory}},
		{name: "run.toml as a tree", files: map[string]string{"040000 run.toml": "tree:100644 a=x"}},
		{name: "run.toml as a symlink", files: map[string]string{"120000 run.toml": "/etc/passwd"}},
		{name: "run.toml as a submodule", files: map[string]string{"160000 run.toml": "0123456789012345678901234567890123456789"}},
		{name: "metrics.tsv as a symlink", readable: true, files: map[string]string{"120000 metrics.tsv": "../../../etc/passwd"}},
		{name: "output.log as a tree", readable: true, files: map[string]string{"040000 output.log": "tree:100644 a=x"}},
		{name: "huge output.log", readable: true, files: map[string]string{"100644 output.log": strings.Repeat("o\n", run.MaxOutputSize/2+1)}},
		{name: "artifacts symlink", readable: true, files: map[string]string{"120000 artifacts": "/etc"}},
		{name: "artifacts with links and submodules", readable: true, files: map[string]string{
			"040000 artifacts": "tree:120000 passwd=/etc/passwd;160000 sub=0123456789012345678901234567890123456789;100644 ok=x"}},
		{name: "artifacts a blob", readable: true, files: map[string]string{"100644 artifacts": "x"}},
		{name: "parents are blobs", readable: true, raw: func(tree string) string {
			return "tree " + tree + "\nparent " + "%BLOB%" + "\nauthor a <a> 1 +0000\ncommitter a <a> 1 +0000\n\nrun\n"
		}},
		{name: "missing parents", readable: true, raw: func(tree string) string {
			return "tree " + tree + "\nparent 1111111111111111111111111111111111111111\nparent 2222222222222222222222222222222222222222\nauthor a <a> 1 +0000\ncommitter a <a> 1 +0000\n\nrun\n"
		}},
	} {
		h.id = run.NewID()
		if h.raw != nil {
			h.files = map[string]string{"100644 run.toml": hostileHead(h.id) + "command = [\"true\"]\n[source]\ncommit = \"1111111111111111111111111111111111111111\"\n"}
		}
		if _, ok := h.files["100644 run.toml"]; !ok && h.readable {
			h.files["100644 run.toml"] = hostileHead(h.id) + "command = [\"true\"]\n"
		}
		out = append(out, h)
	}
	return out
}

// goodID is the id of the catalogue's one good run, set once it exists.
var goodID string

func manyLines(n int, format string) string {
	var b strings.Builder
	for i := 0; i < n; i++ {
		fmt.Fprintf(&b, format, i)
	}
	return b.String()
}

// TestHostileRecords builds the catalogue of hostile runs as real git
// objects, sends them through a bare repository to a clone with git runs
// fetch, and runs every command that reads runs on each, under a limit of
// address space: none may panic, grow past the limit, write outside the
// repository, or say more than one line about a bad run, and ls goes on
// listing the good one.
func TestHostileRecords(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and some hundred megabytes of objects")
	}
	if _, err := exec.LookPath("prlimit"); err != nil {
		t.Fatal("needs prlimit (util-linux), which .ci/run installs")
	}
	top := t.TempDir()
	bin := filepath.Join(top, "bin", "git-runs")
	build := exec.Command("go", "build", "-o", bin, ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	home := filepath.Join(top, "home")
	os.MkdirAll(home, 0o755)
	os.WriteFile(filepath.Join(home, ".gitconfig"), []byte("[user]\n\tname = A\n\temail = a@example.com\n[init]\n\tdefaultBranch = main\n"), 0o644)
	env := append(os.Environ(), "HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "NO_COLOR=1", "GITRUNS_RUN=",
		"PATH="+filepath.Dir(bin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	git := func(dir, stdin string, args ...string) string {
		t.Helper()
		cmd := exec.Command("git", args...)
		cmd.Dir, cmd.Env, cmd.Stdin = dir, env, strings.NewReader(stdin)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, stderr.Bytes())
		}
		return strings.TrimSpace(string(out))
	}
	// A sentinel next to the repositories: nothing may change in top but
	// the repositories themselves.
	sentinel := filepath.Join(top, "sentinel")
	os.MkdirAll(sentinel, 0o755)
	os.WriteFile(filepath.Join(sentinel, "keep"), []byte("keep"), 0o644)

	src := filepath.Join(top, "src")
	os.MkdirAll(src, 0o755)
	git(src, "", "init", "-q")
	git(src, "", "commit", "-q", "--allow-empty", "-m", "init")
	runBin(t, src, env, "exec", "--name", "good", "--", "sh", "-c", "echo loss=1")
	goodID = strings.Fields(git(src, "", "for-each-ref", "--format=%(refname:lstrip=2)", "refs/runs"))[0]

	cases := hostileCases()
	blobOf := func(dir, content string) string { return git(dir, content, "hash-object", "-w", "--stdin") }
	var mktree func(dir, spec string) string
	mktree = func(dir, spec string) string {
		var lines []string
		for _, e := range strings.Split(spec, ";") {
			mode, rest, _ := strings.Cut(e, " ")
			name, content, _ := strings.Cut(rest, "=")
			lines = append(lines, entryLine(dir, mode, name, content, blobOf, mktree))
		}
		return git(dir, strings.Join(lines, "\n")+"\n", "mktree", "--missing")
	}
	bare := filepath.Join(top, "remote.git")
	git(top, "", "init", "-q", "--bare", bare)
	git(src, "", "push", "-q", bare, "HEAD:refs/heads/main", "refs/runs/*:refs/runs/*")
	clone := filepath.Join(top, "clone")
	git(top, "", "clone", "-q", bare, clone)

	var local []hostile
	for _, h := range cases {
		if h.raw != nil {
			local = append(local, h)
			continue
		}
		var lines []string
		for k, content := range h.files {
			mode, name, _ := strings.Cut(k, " ")
			lines = append(lines, entryLine(src, mode, name, content, blobOf, mktree))
		}
		tree := git(src, strings.Join(lines, "\n")+"\n", "mktree", "--missing")
		c := git(src, "", "commit-tree", "-p", "HEAD", "-m", "run", tree)
		git(src, "", "update-ref", "refs/runs/"+h.id, c)
	}
	git(src, "", "push", "-q", bare, "refs/runs/*:refs/runs/*")
	runBin(t, clone, env, "fetch")
	for _, h := range local {
		var lines []string
		for k, content := range h.files {
			mode, name, _ := strings.Cut(k, " ")
			lines = append(lines, entryLine(clone, mode, name, content, blobOf, mktree))
		}
		tree := git(clone, strings.Join(lines, "\n")+"\n", "mktree", "--missing")
		obj := strings.ReplaceAll(h.raw(tree), "%BLOB%", blobOf(clone, "not a commit"))
		c := git(clone, obj, "hash-object", "-t", "commit", "-w", "--literally", "--stdin")
		git(clone, "", "update-ref", "refs/runs/"+h.id, c)
	}
	git(clone, "", "update-ref", "refs/runs/not-an-id", git(clone, "", "rev-parse", "HEAD"))
	before := snapshotDir(t, top, clone, bare, src)

	// ls lists the good run and every readable one, exit 0, one warning
	// line per unreadable run.
	for _, args := range [][]string{{"ls"}, {"ls", "--json"}, {"export"}, {"export", "--runs"}} {
		out, stderr, code := runLimited(t, clone, env, bin, args...)
		// export of every point stops at the first history it cannot
		// read (a readable run's metrics.tsv may be a link): one line.
		exportStopped := args[0] == "export" && code != 0 && strings.Count(strings.TrimSpace(stderr), "\n") == strings.Count(stderr, "skipping refs/runs/")
		if code != 0 && !exportStopped {
			t.Errorf("%s: exit %d\n%s", args, code, stderr)
		}
		if args[0] == "ls" && !strings.Contains(out, goodID[:8]) {
			t.Errorf("%s does not list the good run:\n%s", args, out)
		}
		for _, h := range cases {
			n := strings.Count(stderr, h.id)
			if exportStopped && !h.readable && n == 0 {
				continue // export streams: runs after the history it stopped at were not reached
			}
			if h.readable && n != 0 || !h.readable && n != 1 {
				t.Errorf("%s: %q: %d warnings naming it, want %d", args, h.name, n, map[bool]int{true: 0, false: 1}[h.readable])
			}
		}
		for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
			if l != "" && !strings.HasPrefix(l, "git-runs: skipping refs/runs/") && !(exportStopped && strings.Contains(l, "metrics.tsv")) {
				t.Errorf("%s: unexpected stderr line %q", args, l)
			}
		}
	}

	for _, h := range cases {
		cmds := [][]string{
			{"show", h.id}, {"show", "--json", h.id}, {"diff", h.id, goodID}, {"compare", h.id, goodID},
			{"plot", "loss", h.id}, {"checkout", h.id}, {"rerun", h.id},
		}
		for _, args := range cmds {
			_, stderr, code := runLimited(t, clone, env, bin, args...)
			// Every command lists runs, and warns of the other bad ones.
			var lines []string
			for _, l := range strings.Split(strings.TrimSpace(stderr), "\n") {
				if l != "" && !strings.HasPrefix(l, "git-runs: skipping refs/runs/") {
					lines = append(lines, l)
				}
			}
			if !h.readable {
				if code == 0 {
					t.Errorf("%q: %s succeeded on an unreadable run", h.name, args)
				}
				if len(lines) != 1 || !strings.Contains(lines[0], "refs/runs/"+h.id+": ") {
					t.Errorf("%q: %s: want one line naming the run, got:\n%s", h.name, args, stderr)
				}
			} else if code != 0 && len(lines) > 2 {
				t.Errorf("%q: %s: %d lines of error:\n%s", h.name, args, len(lines), stderr)
			}
		}
		// Checkout and rerun may leave the work tree on another commit.
		git(clone, "", "checkout", "-q", "-f", "main")
	}
	if after := snapshotDir(t, top, clone, bare, src); after != before {
		t.Errorf("files outside the repository changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}

	// Every unreadable run can be removed by its id.
	for _, h := range cases {
		if h.readable {
			continue
		}
		if _, stderr, code := runLimited(t, clone, env, bin, "rm", h.id); code != 0 {
			t.Errorf("%q: rm: exit %d: %s", h.name, code, stderr)
		}
	}
	if _, stderr, _ := runLimited(t, clone, env, bin, "ls"); strings.Contains(stderr, "skipping") {
		t.Errorf("unreadable runs left after rm:\n%s", stderr)
	}
	t.Logf("%d hostile runs", len(cases))
}

// entryLine is one line of git mktree input.
func entryLine(dir, mode, name, content string, blob func(string, string) string, mktree func(string, string) string) string {
	switch {
	case mode == "040000":
		return "040000 tree " + mktree(dir, strings.TrimPrefix(content, "tree:")) + "\t" + name
	case mode == "160000":
		return "160000 commit " + content + "\t" + name
	}
	return mode + " blob " + blob(dir, content) + "\t" + name
}

// memLimit is the address space each command (and every git it starts)
// may use; a decoder that blows up goes far past it and dies, which the
// checks below see as a crash. Peak RSS is not checked: rusage counts the
// git processes a command waits for, which hold big blobs as they should.
const memLimit = 1 << 30

// runLimited runs the binary under memLimit and checks that it did not
// crash; it returns stdout, stderr and the exit code.
func runLimited(t *testing.T, dir string, env []string, bin string, args ...string) (string, string, int) {
	t.Helper()
	cmd := exec.Command("prlimit", append([]string{fmt.Sprintf("--as=%d", memLimit), "--", bin, "--no-pager"}, args...)...)
	cmd.Dir, cmd.Env = dir, env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", args, err)
	}
	s := stderr.String()
	if strings.Contains(s, "panic:") || strings.Contains(s, "goroutine ") || strings.Contains(s, "out of memory") {
		t.Errorf("%s crashed:\n%.2000s", args, s)
	}
	return stdout.String(), s, code
}

// runBin runs the binary and fails the test if it fails.
func runBin(t *testing.T, dir string, env []string, args ...string) {
	t.Helper()
	cmd := exec.Command("git-runs", args...)
	cmd.Dir, cmd.Env = dir, env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git runs %s: %v\n%s", args, err, out)
	}
}

// snapshotDir lists every file under top outside the given repositories,
// with its size, and the entries next to them.
func snapshotDir(t *testing.T, top string, repos ...string) string {
	t.Helper()
	var b strings.Builder
	filepath.WalkDir(top, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		for _, r := range repos {
			if p == r {
				fmt.Fprintf(&b, "%s/\n", p)
				return filepath.SkipDir
			}
		}
		info, _ := d.Info()
		if info != nil {
			fmt.Fprintf(&b, "%s %d\n", p, info.Size())
		}
		return nil
	})
	return b.String()
}
