package diff

import (
	"errors"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/run"
)

// gitHunks returns the hunks of git diff's output for one file, without
// the function names git adds after a hunk header.
func gitHunks(t *testing.T, dir, from, to, path string) string {
	t.Helper()
	out := git(t, dir, "diff", "-U3", "--no-color", from, to, "--", path)
	var b strings.Builder
	inHunks := false
	for _, l := range strings.SplitAfter(out, "\n") {
		if strings.HasPrefix(l, "@@ ") {
			inHunks = true
			end := strings.Index(l[3:], " @@") + 3
			l = l[:end+3] + "\n"
		}
		if inHunks {
			b.WriteString(l)
		}
	}
	return b.String()
}

func side(t *testing.T, dir string) Side {
	t.Helper()
	h := strings.TrimSpace(git(t, dir, "rev-parse", "HEAD"))
	return Side{Record: &run.Record{Source: run.Source{Commit: h}}, Source: h}
}

// TestFileDiffLikeGit diffs files with changes that git shows in one hunk
// and in several, and checks that the hunks are git's.
func TestFileDiffLikeGit(t *testing.T) {
	dir, repo := newRepo(t)
	lines := strings.SplitAfter(numbered("line", 40), "\n")
	lines = lines[:40]
	write(t, dir, map[string][]byte{
		"f.txt":   []byte(strings.Join(lines, "")),
		"eol.txt": []byte("one\ntwo\nthree"),
		"gone":    []byte("a\nb\n"),
	})
	commit(t, dir, "A")
	a := side(t, dir)
	changed := append([]string(nil), lines...)
	// Lines 3 and 10, six unchanged lines apart, share the first hunk;
	// line 25, the removed line 31 and the added line after 36 the second.
	changed[2] = "changed 3\n"
	changed[9] = "changed 10\n"
	changed[24] = "changed 25\n"
	changed = append(changed[:30], changed[31:]...)
	changed = append(changed[:35], append([]string{"new\n"}, changed[35:]...)...)
	write(t, dir, map[string][]byte{
		"f.txt":   []byte(strings.Join(changed, "")),
		"eol.txt": []byte("one\ntwo\nthree\nfour"),
		"gone":    nil,
		"new":     []byte("x\ny\nz\n"),
	})
	commit(t, dir, "B")
	b := side(t, dir)

	for _, path := range []string{"f.txt", "eol.txt", "gone", "new"} {
		got, err := FileDiff(repo, a, b, path)
		if err != nil {
			t.Fatal(err)
		}
		want := gitHunks(t, dir, a.Source, b.Source, path)
		if got != want {
			t.Errorf("%s: FileDiff =\n%s\ngit diff =\n%s", path, got, want)
		}
	}
	if n := strings.Count(gitHunks(t, dir, a.Source, b.Source, "f.txt"), "@@ -"); n != 2 {
		t.Errorf("git shows f.txt in %d hunks; the test means two", n)
	}

	same, err := FileDiff(repo, a, a, "f.txt")
	if err != nil || same != "" {
		t.Errorf("FileDiff of an unchanged file = %q, %v; want empty", same, err)
	}
	if _, err := FileDiff(repo, a, b, "nowhere"); err == nil {
		t.Error("FileDiff of a path on neither side did not fail")
	}
}

func TestFileDiffBinaryAndBig(t *testing.T) {
	_, repo, ra, rb := twoRuns(t)
	a, b := RunSide(ra), RunSide(rb)
	for path, want := range map[string]string{"bin.dat": BinaryMessage, "big.txt": TooLargeMessage} {
		got, err := FileDiff(repo, a, b, path)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("FileDiff(%s) = %q, want %q", path, got, want)
		}
	}

	code, err := CodeDiff(repo, a, b)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"--- a/bin.dat\n+++ b/bin.dat\n" + BinaryMessage,
		"--- a/big.txt\n+++ b/big.txt\n" + TooLargeMessage,
		"--- a/dir/b.txt\n+++ /dev/null\n@@ -1 +0,0 @@\n-bee\n",
		"--- /dev/null\n+++ b/dir/new.txt\n@@ -0,0 +1,2 @@\n+new\n+file\n",
		"--- a/noeol.txt\n+++ b/noeol.txt\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+c\n\\ No newline at end of file\n",
	} {
		if !strings.Contains(code, want) {
			t.Errorf("CodeDiff lacks\n%s", want)
		}
	}
	if strings.Contains(code, "xxxx") {
		t.Error("CodeDiff shows the content of the big file")
	}
	if n := strings.Count(code, "--- "); n != 9 {
		t.Errorf("CodeDiff has %d files, want 9", n)
	}
	if same, err := CodeDiff(repo, a, a); err != nil || same != "" {
		t.Errorf("CodeDiff of the same code = %q, %v", same, err)
	}
}

func TestFileDiffMode(t *testing.T) {
	dir, repo := newRepo(t)
	write(t, dir, map[string][]byte{"run.sh": []byte("echo\n")})
	commit(t, dir, "A")
	a := side(t, dir)
	git(t, dir, "update-index", "--chmod=+x", "run.sh")
	git(t, dir, "commit", "-q", "-m", "B")
	b := side(t, dir)
	got, err := FileDiff(repo, a, b, "run.sh")
	if err != nil {
		t.Fatal(err)
	}
	if want := "old mode 100644\nnew mode 100755\n"; got != want {
		t.Errorf("FileDiff = %q, want %q", got, want)
	}
	res, err := Runs(repo, a, b)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Files) != 1 || res.Files[0] != (FileChange{Path: "run.sh", Kind: Modified}) {
		t.Errorf("Files = %+v", res.Files)
	}
}

func TestText(t *testing.T) {
	a := "epoch 1 loss 0.9\nepoch 2 loss 0.5\nepoch 3 loss 0.3\ndone\n"
	b := "epoch 1 loss 0.9\nepoch 2 loss 0.6\nepoch 3 loss 0.3\nwarning: slow\ndone\n"
	want := "@@ -1,4 +1,5 @@\n" +
		" epoch 1 loss 0.9\n" +
		"-epoch 2 loss 0.5\n" +
		"+epoch 2 loss 0.6\n" +
		" epoch 3 loss 0.3\n" +
		"+warning: slow\n" +
		" done\n"
	if got := Text([]byte(a), []byte(b)); got != want {
		t.Errorf("Text =\n%s\nwant\n%s", got, want)
	}
	if got := Text([]byte(a), []byte(a)); got != "" {
		t.Errorf("Text of equal texts = %q", got)
	}
	if got, want := Text(nil, []byte("x\n")), "@@ -0,0 +1 @@\n+x\n"; got != want {
		t.Errorf("Text from nothing = %q, want %q", got, want)
	}
}

func TestCountChanges(t *testing.T) {
	for _, c := range []struct {
		a, b           string
		added, removed int
	}{
		{"", "", 0, 0},
		{"a\n", "a\n", 0, 0},
		{"", "a\nb", 2, 0},
		{"a\nb\n", "", 0, 2},
		{"a\nb\nc\n", "a\nc\nd\n", 1, 1},
		{"a", "a\n", 1, 1}, // the last line gained its newline
	} {
		added, removed := countChanges(c.a, c.b)
		if added != c.added || removed != c.removed {
			t.Errorf("countChanges(%q, %q) = +%d -%d, want +%d -%d", c.a, c.b, added, removed, c.added, c.removed)
		}
	}
}

// TestDiffLinesRebuild checks on random texts that the diff holds both
// texts whole, with and without the trimming of common lines and with
// go-diff or the fallback for too many lines.
func TestDiffLinesRebuild(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	text := func() string {
		var b strings.Builder
		for range rng.IntN(12) {
			b.WriteString([]string{"a", "b", "c", "", "aa"}[rng.IntN(5)])
			b.WriteByte('\n')
		}
		if rng.IntN(3) == 0 {
			b.WriteString("end")
		}
		return b.String()
	}
	for _, limit := range []int{maxLines, 4} {
		saved := maxLines
		maxLines = limit
		for range 2000 {
			a, b := text(), text()
			lines, skip := diffLines(a, b, 1<<30)
			var ra, rb strings.Builder
			added, removed := 0, 0
			for _, l := range lines {
				if l.op != '+' {
					ra.WriteString(l.text)
				}
				if l.op != '-' {
					rb.WriteString(l.text)
				}
				added += boolInt(l.op == '+')
				removed += boolInt(l.op == '-')
			}
			if skip != 0 || ra.String() != a || rb.String() != b {
				t.Fatalf("diffLines(%q, %q) rebuilds %q, %q (skip %d)", a, b, ra.String(), rb.String(), skip)
			}
			if ca, cr := countChanges(a, b); ca != added || cr != removed {
				t.Fatalf("countChanges(%q, %q) = +%d -%d, the diff has +%d -%d", a, b, ca, cr, added, removed)
			}
		}
		maxLines = saved
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// TestTextLong checks that a long text with a change in its middle is
// shown with line numbers counted through the trimmed lines.
func TestTextLong(t *testing.T) {
	a := numbered("step", 100_000)
	b := strings.Replace(a, "step 50000\n", "step 50000!\n", 1)
	want := "@@ -49997,7 +49997,7 @@\n step 49997\n step 49998\n step 49999\n-step 50000\n+step 50000!\n step 50001\n step 50002\n step 50003\n"
	if got := Text([]byte(a), []byte(b)); got != want {
		t.Errorf("Text =\n%s\nwant\n%s", got, want)
	}
}

// TestSubmoduleAndLink diffs a submodule, shown as git shows it
// ("Subproject commit <id>"), and a symbolic link, whose content is its
// target, against git's hunks.
func TestSubmoduleAndLink(t *testing.T) {
	dir, repo := newRepo(t)
	write(t, dir, map[string][]byte{"x.txt": []byte("x\n")})
	commit(t, dir, "x")
	target := func(s string) string {
		return strings.TrimSpace(gitStdin(t, dir, s, "hash-object", "-w", "--stdin"))
	}
	subA, subB := strings.Repeat("1", 40), strings.Repeat("2", 40)
	git(t, dir, "update-index", "--add", "--cacheinfo", "160000,"+subA+",sub")
	git(t, dir, "update-index", "--add", "--cacheinfo", "120000,"+target("x.txt")+",link")
	git(t, dir, "commit", "-q", "-m", "A")
	a := side(t, dir)
	git(t, dir, "update-index", "--cacheinfo", "160000,"+subB+",sub")
	git(t, dir, "update-index", "--cacheinfo", "120000,"+target("y.txt")+",link")
	git(t, dir, "commit", "-q", "-m", "B")
	b := side(t, dir)

	for path, want := range map[string]string{
		"sub":  "@@ -1 +1 @@\n-Subproject commit " + subA + "\n+Subproject commit " + subB + "\n",
		"link": "@@ -1 +1 @@\n-x.txt\n\\ No newline at end of file\n+y.txt\n\\ No newline at end of file\n",
	} {
		got, err := FileDiff(repo, a, b, path)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("FileDiff(%s) =\n%s\nwant\n%s", path, got, want)
		}
		if g := gitHunks(t, dir, a.Source, b.Source, path); g != want {
			t.Errorf("git diff of %s =\n%s\nthe test expects\n%s", path, g, want)
		}
	}
	res, err := Runs(repo, a, b)
	if err != nil {
		t.Fatal(err)
	}
	want := []FileChange{
		{Path: "link", Kind: Modified, Added: 1, Removed: 1},
		{Path: "sub", Kind: Modified, Added: 1, Removed: 1},
	}
	if !reflect.DeepEqual(res.Files, want) {
		t.Errorf("Files = %+v\nwant %+v", res.Files, want)
	}
	if _, err := FileDiff(repo, a, b, "sub/file"); !errors.Is(err, run.ErrNotFound) {
		t.Errorf("FileDiff below a submodule: %v, want an error wrapping run.ErrNotFound", err)
	}
}

// TestFileDiffPaths looks up paths that are files on one side only, or
// directories, or that pass through a file.
func TestFileDiffPaths(t *testing.T) {
	_, repo, ra, rb := twoRuns(t)
	a, b := RunSide(ra), RunSide(rb)
	for path, want := range map[string]string{
		"f2d":           "@@ -1 +0,0 @@\n-file\n", // a file, then a directory
		"f2d/x.txt":     "@@ -0,0 +1 @@\n+x\n",    // below what was a file
		"dir/sub/c.txt": "@@ -1,5 +1,4 @@\n c 1\n c 2\n-c 3\n c 4\n c 5\n",
		"keep/k.txt":    "",
	} {
		got, err := FileDiff(repo, a, b, path)
		if err != nil {
			t.Errorf("FileDiff(%s): %v", path, err)
			continue
		}
		if got != want {
			t.Errorf("FileDiff(%s) =\n%q\nwant\n%q", path, got, want)
		}
	}
	for _, path := range []string{"dir", "dir/sub", "keep/", "/a.txt", "dir//b.txt", "", "a.txt/x"} {
		if _, err := FileDiff(repo, a, b, path); !errors.Is(err, run.ErrNotFound) {
			t.Errorf("FileDiff(%q): %v, want an error wrapping run.ErrNotFound", path, err)
		}
	}
	// No code on one side: the file is added.
	got, err := FileDiff(repo, Side{}, b, "dir/new.txt")
	if want := "@@ -0,0 +1,2 @@\n+new\n+file\n"; err != nil || got != want {
		t.Errorf("FileDiff from no code = %q, %v; want %q", got, err, want)
	}
}
