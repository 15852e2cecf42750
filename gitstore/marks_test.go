package gitstore

import (
	"bytes"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gitruns/gitruns/run"
)

// The marks as git-runs kept them before they were sorted files searched
// in place: every read parsed the whole file, every change rewrote it.
// Kept for the benchmark's baseline and to check that what old versions
// read is still right.

func oldReadMarks(path string) map[string]string {
	data, err := readFileIfExists(path)
	if err != nil {
		return map[string]string{}
	}
	m := map[string]string{}
	for _, l := range strings.Split(string(data), "\n") {
		if id, remote, ok := strings.Cut(l, " "); ok {
			m[id] = remote
		}
	}
	return m
}

func oldWriteMarks(path string, m map[string]string) error {
	var b strings.Builder
	for _, id := range slices.Sorted(maps.Keys(m)) {
		b.WriteString(id + " " + m[id] + "\n")
	}
	return writeFileAtomic(path, []byte(b.String()))
}

func oldMarkFetched(dir, remote string, ids []string) error {
	if remote != "" && len(ids) > 0 {
		from := oldReadMarks(dir + "/came-from")
		for _, id := range ids {
			from[id] = remote
		}
		if err := oldWriteMarks(dir+"/came-from", from); err != nil {
			return err
		}
	}
	m := oldReadMarks(dir + "/fetched")
	for _, id := range ids {
		if remote == "" {
			delete(m, id)
		} else {
			m[id] = remote
		}
	}
	return oldWriteMarks(dir+"/fetched", m)
}

func oldMarkSeen(dir string, ids ...string) error {
	m := oldReadMarks(dir + "/fetched")
	found := false
	for _, id := range ids {
		if _, ok := m[id]; ok {
			found = true
		}
	}
	if !found {
		return nil
	}
	return oldMarkFetched(dir, "", ids)
}

func oldScanned(path string) map[string]bool {
	data, err := readFileIfExists(path)
	m := map[string]bool{}
	if err != nil {
		return m
	}
	for _, l := range strings.Split(string(data), "\n") {
		if len(l) == 40 {
			m[l] = true
		}
	}
	return m
}

func oldMarksOf(dir, id string) (string, string) {
	return oldReadMarks(dir + "/fetched")[id], oldReadMarks(dir + "/came-from")[id]
}

// newIDs returns n run ids, increasing.
func newIDs(n int) []string {
	ids := make([]string, n)
	for i := range ids {
		ids[i] = run.NewID()
	}
	return ids
}

// checkMarks fails the test unless r's marks, read one by one and as a
// listing does, are fetched (by id, with remote) and from.
func checkMarks(t *testing.T, r *Repo, ids []string, fetched, from map[string]string) {
	t.Helper()
	all := r.AllMarks()
	bad := 0
	for _, id := range ids {
		f, c := r.MarksOf(id)
		af, ac := all(id)
		if (f != fetched[id] || c != from[id] || af != f || ac != c) && bad < 5 {
			bad++
			t.Errorf("marks of %s: MarksOf %q, %q; AllMarks %q, %q; want %q, %q", id, f, c, af, ac, fetched[id], from[id])
		}
	}
}

func TestMarksReadOldFiles(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	priv := r.privateDir()
	ids := newIDs(50)
	// As a version before sorted lookups left them.
	if err := oldMarkFetched(priv, "origin", ids[:30]); err != nil {
		t.Fatal(err)
	}
	if err := oldMarkFetched(priv, "upstream", ids[20:40]); err != nil {
		t.Fatal(err)
	}
	if err := oldMarkSeen(priv, ids[0], ids[25]); err != nil {
		t.Fatal(err)
	}
	fetched, from := oldReadMarks(priv+"/fetched"), oldReadMarks(priv+"/came-from")
	checkMarks(t, r, ids, fetched, from)

	// Seen here: the old reader of fetched still reads the sorted file
	// as it was, and the new reader sees the clear.
	if err := r.MarkSeen(ids[1], ids[30]); err != nil {
		t.Fatal(err)
	}
	delete(fetched, ids[1])
	delete(fetched, ids[30])
	checkMarks(t, r, ids, fetched, from)

	// A fetch folds the clears in: what old versions read is right
	// again, and sorted as they wrote it.
	if err := r.MarkFetched("origin", []string{ids[45], ids[1]}); err != nil {
		t.Fatal(err)
	}
	fetched[ids[45]], fetched[ids[1]], from[ids[45]], from[ids[1]] = "origin", "origin", "origin", "origin"
	checkMarks(t, r, ids, fetched, from)
	if got := oldReadMarks(priv + "/fetched"); !maps.Equal(got, fetched) {
		t.Errorf("old reader of fetched: %v, want %v", got, fetched)
	}
	if got := oldReadMarks(priv + "/came-from"); !maps.Equal(got, from) {
		t.Errorf("old reader of came-from: %v, want %v", got, from)
	}
	for _, f := range []string{"fetched", "came-from"} {
		data, err := os.ReadFile(filepath.Join(priv, f))
		if err != nil {
			t.Fatal(err)
		}
		want := &strings.Builder{}
		m := oldReadMarks(filepath.Join(priv, f))
		for _, id := range slices.Sorted(maps.Keys(m)) {
			fmt.Fprintf(want, "%s %s\n", id, m[id])
		}
		if string(data) != want.String() {
			t.Errorf("%s is not as old versions wrote it:\n%s\nwant\n%s", f, data, want)
		}
	}
	if _, err := os.Stat(r.seenPath()); !os.IsNotExist(err) {
		t.Errorf("fetched.seen left after a fold: %v", err)
	}
}

// TestMarksSeenLogOfOtherFetched: a log of clears left beside a fetched
// file that was rewritten without it (by an old version, or by a fold cut
// short before it removed the log) applies to nothing.
func TestMarksSeenLogOfOtherFetched(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	priv := r.privateDir()
	ids := newIDs(10)
	if err := r.MarkFetched("origin", ids); err != nil {
		t.Fatal(err)
	}
	if err := r.MarkSeen(ids[3]); err != nil {
		t.Fatal(err)
	}
	// An old version fetches ids[3] again: it is new again, whatever the
	// log said.
	if err := oldMarkFetched(priv, "origin", []string{ids[3]}); err != nil {
		t.Fatal(err)
	}
	fetched := map[string]string{}
	for _, id := range ids {
		fetched[id] = "origin"
	}
	checkMarks(t, r, ids, fetched, fetched)

	// A fold cut short: the new fetched is in place, the log it folded
	// in is still there.
	if err := r.MarkSeen(ids[4]); err != nil {
		t.Fatal(err)
	}
	log, err := os.ReadFile(r.seenPath())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.MarkFetched("origin", []string{ids[4]}); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(r.seenPath(), log, 0o666); err != nil {
		t.Fatal(err)
	}
	checkMarks(t, r, ids, fetched, fetched)
}

// TestMarksTornTail: a clear cut short by a crash (part of a line at the
// end of the log) clears nothing, and the next clear is whole.
func TestMarksTornTail(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	ids := newIDs(10)
	if err := r.MarkFetched("origin", ids); err != nil {
		t.Fatal(err)
	}
	if err := r.MarkSeen(ids[0]); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(r.seenPath(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(ids[1][:13]) // the first half of a clear of ids[1]
	f.Close()
	fetched, from := map[string]string{}, map[string]string{}
	for _, id := range ids {
		fetched[id], from[id] = "origin", "origin"
	}
	delete(fetched, ids[0])
	checkMarks(t, r, ids, fetched, from)

	if err := r.MarkSeen(ids[2]); err != nil {
		t.Fatal(err)
	}
	delete(fetched, ids[2])
	checkMarks(t, r, ids, fetched, from)
	log, _ := os.ReadFile(r.seenPath())
	if !bytes.Contains(log, []byte("\n"+ids[1][:13]+"\n"+ids[2]+"\n")) {
		t.Errorf("the torn line was not ended before the next clear:\n%s", log)
	}
	// The fold drops the piece along with the log.
	if err := r.MarkFetched("origin", []string{ids[0]}); err != nil {
		t.Fatal(err)
	}
	fetched[ids[0]] = "origin"
	checkMarks(t, r, ids, fetched, from)
}

func TestMarksBadInput(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	ids := newIDs(3)
	if err := r.MarkFetched("origin", ids); err != nil {
		t.Fatal(err)
	}
	before := map[string][]byte{}
	for _, p := range []string{r.fetchedPath(), r.cameFromPath()} {
		before[p], _ = os.ReadFile(p)
	}
	for _, c := range []struct {
		err  error
		want string
	}{
		{r.MarkFetched("or igin", ids[:1]), `mark runs fetched from "or igin": not a remote name`},
		{r.MarkFetched("origin\nx", ids[:1]), `mark runs fetched from "origin\nx": not a remote name`},
		{r.MarkFetched("origin", []string{ids[0], "x y"}), `mark run "x y" fetched: not a run id`},
		{r.MarkScanned([]string{strings.Repeat("A", 40)}), `mark commit "` + strings.Repeat("A", 40) + `" scanned: not a commit id`},
		{r.MarkScanned([]string{"abc"}), `mark commit "abc" scanned: not a commit id`},
	} {
		if c.err == nil || c.err.Error() != c.want {
			t.Errorf("got error %v, want %s", c.err, c.want)
		}
	}
	for p, b := range before {
		if got, _ := os.ReadFile(p); !bytes.Equal(got, b) {
			t.Errorf("%s changed by a refused mark:\n%s", p, got)
		}
	}
	for _, p := range []string{r.seenPath(), r.scannedPath(), r.scannedNewPath()} {
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			t.Errorf("%s written by a refused mark", p)
		}
	}
	// A run that is not marked: nothing to clear, nothing written.
	if err := r.MarkSeen("not-a-run", newIDs(1)[0]); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(r.seenPath()); !os.IsNotExist(err) {
		t.Errorf("fetched.seen written for runs not marked")
	}
}

// TestSortedLinesFind checks the search against a map, asked in order,
// in reverse and at random, with keys there and not there, and over
// lines of very different lengths.
func TestSortedLinesFind(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{0, 1, 2, 3, 10, 100, 5000} {
		keys := map[string]string{}
		for len(keys) < 2*n {
			k := strconv.Itoa(rng.IntN(1 << 30))
			keys[k] = strings.Repeat("r", rng.IntN(300)) + "x"
		}
		all := slices.Sorted(maps.Keys(keys))
		present := map[string]string{}
		var b []byte
		for i, k := range all {
			if i%2 == 0 {
				present[k] = keys[k]
				b = append(b, k+" "+keys[k]+"\n"...)
			}
		}
		reversed := slices.Clone(all)
		slices.Reverse(reversed)
		shuffled := slices.Clone(all)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		for _, order := range [][]string{all, reversed, shuffled, append(shuffled, "", "~", "0")} {
			s := sortedLines{data: b}
			for _, k := range order {
				v, ok := s.find(k)
				if want, there := present[k]; ok != there || string(v) != want {
					t.Fatalf("n=%d: find(%q) = %q, %v; want %q, %v", n, k, v, ok, want, there)
				}
			}
		}
	}
}

func TestMergeMarks(t *testing.T) {
	for _, c := range []struct {
		base  string
		adds  []string
		drop  []string
		wants string
	}{
		{"", []string{"b", "d"}, nil, "b o\nd o\n"},
		{"a x\nc x\ne x\n", []string{"b", "c", "f"}, []string{"e"}, "a x\nb o\nc o\nf o\n"},
		{"a x\nc x\n", nil, []string{"a", "c"}, ""},
		// Out of order, a line repeated (the last wins), lines of no value.
		{"c x\na x\nb 1\nb 2\njunk\n\nd\n", []string{"e"}, nil, "a x\nb 2\nc x\ne o\n"},
		{"a 1\na 2\nb x", []string{"c"}, nil, "a 2\nb x\nc o\n"},
		{"a 1\na 2\nb x\n", nil, []string{"a"}, "b x\n"},
		{"a 1\nb 1\nb 2\n", nil, []string{"a"}, "b 2\n"},
	} {
		drop := map[string]struct{}{}
		for _, d := range c.drop {
			drop[d] = struct{}{}
		}
		if got := string(mergeMarks([]byte(c.base), c.adds, "o", drop)); got != c.wants {
			t.Errorf("mergeMarks(%q, %v, drop %v) = %q, want %q", c.base, c.adds, c.drop, got, c.wants)
		}
	}
}

// TestMarksConcurrentClears: goroutines, each with a Repo of its own as a
// process would have, and processes clear marks, and fetch new ones,
// all at once; every clear and every mark must stay, and no clear may
// bring a mark back.
func TestMarksConcurrentClears(t *testing.T) {
	defer func(old int) { maxSeenLog = old }(maxSeenLog)
	maxSeenLog = 2 << 10 // folds every 70 clears or so
	dir := newRepo(t)
	r := openRepo(t, dir)
	const clearers, processes, per = 4, 3, 120
	ids := newIDs((clearers + processes) * per)
	if err := r.MarkFetched("origin", ids); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, clearers+processes+1)
	for g := range clearers {
		mine := ids[g*per : (g+1)*per]
		wg.Go(func() {
			rg, err := Open(dir)
			if err != nil {
				errs <- err
				return
			}
			defer rg.Close()
			for i, id := range mine {
				if err := rg.MarkSeen(id); err != nil {
					errs <- err
					return
				}
				if f, _ := rg.MarksOf(id); f != "" {
					errs <- fmt.Errorf("run %s still fetched right after its clear (%d)", id, i)
					return
				}
			}
		})
	}
	for p := range processes {
		mine := ids[(clearers+p)*per : (clearers+p+1)*per]
		wg.Go(func() {
			cmd := exec.Command(os.Args[0], "-test.run=^TestMarksClearHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), "GITSTORE_MARKS_DIR="+dir, "GITSTORE_MARKS_IDS="+strings.Join(mine, ","),
				fmt.Sprintf("GITSTORE_MARKS_MAXLOG=%d", maxSeenLog))
			if out, err := cmd.CombinedOutput(); err != nil {
				errs <- fmt.Errorf("clearing process: %v\n%s", err, out)
			}
		})
	}
	// Meanwhile a fetch of new runs, one at a time, folding each time.
	fresh := newIDs(40)
	wg.Go(func() {
		rf, err := Open(dir)
		if err != nil {
			errs <- err
			return
		}
		defer rf.Close()
		for _, id := range fresh {
			if err := rf.MarkFetched("upstream", []string{id}); err != nil {
				errs <- err
				return
			}
		}
	})
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	fetched, from := map[string]string{}, map[string]string{}
	for _, id := range ids {
		from[id] = "origin"
	}
	for _, id := range fresh {
		fetched[id], from[id] = "upstream", "upstream"
	}
	checkMarks(t, r, append(ids, fresh...), fetched, from)
	// Folded in by one more fetch, what old versions read is the same.
	if err := r.MarkFetched("upstream", fresh[:1]); err != nil {
		t.Fatal(err)
	}
	if got := oldReadMarks(r.fetchedPath()); !maps.Equal(got, fetched) {
		t.Errorf("fetched folded: %d marks, want %d", len(got), len(fetched))
	}
}

// TestMarksClearHelper is not a test: it is the body of the processes
// TestMarksConcurrentClears starts.
func TestMarksClearHelper(t *testing.T) {
	dir := os.Getenv("GITSTORE_MARKS_DIR")
	if dir == "" {
		t.Skip("helper process for TestMarksConcurrentClears")
	}
	maxSeenLog, _ = strconv.Atoi(os.Getenv("GITSTORE_MARKS_MAXLOG"))
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, id := range strings.Split(os.Getenv("GITSTORE_MARKS_IDS"), ",") {
		if err := r.MarkSeen(id); err != nil {
			t.Fatal(err)
		}
		if f, _ := r.MarksOf(id); f != "" {
			t.Fatalf("run %s still fetched right after its clear", id)
		}
	}
}

// commitIDs returns n distinct hex commit ids.
func commitIDs(n int, seed string) []string {
	out := make([]string, n)
	for i := range out {
		h := sha1.Sum([]byte(seed + strconv.Itoa(i)))
		out[i] = hex.EncodeToString(h[:])
	}
	return out
}

func TestFindCommit(t *testing.T) {
	for _, n := range []int{0, 1, 2, 7, 1000, 20000} {
		all := commitIDs(2*n, "find")
		sort.Strings(all)
		var recs []byte
		present := map[string]bool{}
		for i, c := range all {
			if i%2 == 1 {
				recs = append(recs, c+"\n"...)
				present[c] = true
			}
		}
		edges := []string{strings.Repeat("0", 40), strings.Repeat("f", 40)}
		for _, c := range append(all, edges...) {
			if got := findCommit(recs, c); got != present[c] {
				t.Fatalf("n=%d: findCommit(%s) = %v, want %v", n, c, got, present[c])
			}
		}
		if a := testing.AllocsPerRun(3, func() {
			for _, c := range all {
				findCommit(recs, c)
			}
		}); a > 0 {
			t.Errorf("n=%d: %d lookups allocate %.0f times", n, len(all), a)
		}
	}
}

// TestScanned marks commits of runs that are here and of runs gone, past
// the bound that folds the log, and reads them back before and after.
func TestScanned(t *testing.T) {
	defer func(old int) { maxScannedNew = old }(maxScannedNew)
	maxScannedNew = 20 * scannedLen
	dir := newRepo(t)
	r := openRepo(t, dir)
	var live []string
	for i := range 30 {
		c := writeRun(t, r, fmt.Sprintf("run %d\n", i))
		if err := r.UpdateRef(RunsPrefix+run.NewID(), c, zero); err != nil {
			t.Fatal(err)
		}
		live = append(live, c.String())
	}
	gone := commitIDs(5, "gone")
	if err := r.MarkScanned(append(slices.Clone(live[:10]), gone...)); err != nil {
		t.Fatal(err)
	}
	check := func(when string, want map[string]bool) {
		t.Helper()
		scanned := r.Scanned()
		for _, c := range append(append(slices.Clone(live), gone...), commitIDs(5, "never")...) {
			if got := scanned(c); got != want[c] {
				t.Errorf("%s: Scanned()(%s) = %v, want %v", when, c, got, want[c])
			}
		}
	}
	want := map[string]bool{}
	for _, c := range append(slices.Clone(live[:10]), gone...) {
		want[c] = true
	}
	check("appended", want)
	// A crash cut the next append short.
	f, err := os.OpenFile(r.scannedNewPath(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(live[10][:20])
	f.Close()
	check("torn", want)
	if err := r.MarkScanned(live[10:12]); err != nil {
		t.Fatal(err)
	}
	want[live[10]], want[live[11]] = true, true
	check("after the torn line", want)
	// Past the bound: folded, without the commits no run is at.
	if err := r.MarkScanned(live[12:25]); err != nil {
		t.Fatal(err)
	}
	for _, c := range live[12:25] {
		want[c] = true
	}
	for _, c := range gone {
		delete(want, c)
	}
	check("folded", want)
	if _, err := os.Stat(r.scannedNewPath()); !os.IsNotExist(err) {
		t.Errorf("scanned.new left after the fold")
	}
	data, _ := os.ReadFile(r.scannedPath())
	lines := strings.Split(strings.TrimSuffix(string(data), "\n"), "\n")
	if !slices.IsSorted(lines) || len(lines) != 25 {
		t.Errorf("scanned after the fold: %d lines, sorted %v", len(lines), slices.IsSorted(lines))
	}
	// An old version appended to scanned itself, unsorted and cut short:
	// what cannot be searched is asked again, and folded at the next mark.
	f, err = os.OpenFile(r.scannedPath(), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(live[25] + "\n" + live[26][:10])
	f.Close()
	if err := r.MarkScanned(live[27:28]); err != nil {
		t.Fatal(err)
	}
	want[live[25]], want[live[27]] = true, true
	check("old version's append folded", want)
}

// BenchmarkMarks measures, in a repository with every one of N runs
// fetched and not yet looked at (a fresh clone), what show pays (MarksOf
// and MarkSeen of one run) and what a listing pays (the marks of every
// run), against the old whole-file marks in the same run. It reports the
// medians of each and their ratio.
func BenchmarkMarks(b *testing.B) {
	for _, n := range []int{100_000, 1_000_000} {
		b.Run(fmt.Sprintf("runs=%d", n), func(b *testing.B) {
			ids := newIDs(n)
			newDir, oldDir := newRepo(b), newRepo(b)
			r := openRepo(b, newDir)
			if err := r.MarkFetched("origin", ids); err != nil {
				b.Fatal(err)
			}
			old := filepath.Join(oldDir, ".git", "runs")
			if err := oldMarkFetched(old, "origin", ids); err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(3, 4))
			pick := func() string { return ids[rng.IntN(n)] }
			b.Run("MarksOf", func(b *testing.B) {
				compare(b, func() { r.MarksOf(pick()) }, func() { oldMarksOf(old, pick()) })
			})
			// Each show clears a run not cleared before.
			order := rng.Perm(n)
			next, nextOld := 0, 0
			b.Run("MarkSeen", func(b *testing.B) {
				compare(b, func() {
					if err := r.MarkSeen(ids[order[next]]); err != nil {
						b.Fatal(err)
					}
					next++
				}, func() {
					if err := oldMarkSeen(old, ids[order[nextOld]]); err != nil {
						b.Fatal(err)
					}
					nextOld++
				})
			})
			// A fetch of one new run rewrites the files, folding in the
			// clears: what MarkSeen pays once in maxSeenLog/27 clears.
			b.Run("MarkFetched", func(b *testing.B) {
				compare(b, func() {
					if err := r.MarkFetched("origin", []string{run.NewID()}); err != nil {
						b.Fatal(err)
					}
				}, func() {
					if err := oldMarkFetched(old, "origin", []string{run.NewID()}); err != nil {
						b.Fatal(err)
					}
				})
			})
			b.Run("listing", func(b *testing.B) {
				compare(b, func() {
					marksOf := r.AllMarks()
					for i := n - 1; i >= 0; i-- {
						marksOf(ids[i])
					}
				}, func() {
					fetched, from := oldReadMarks(old+"/fetched"), oldReadMarks(old+"/came-from")
					for i := n - 1; i >= 0; i-- {
						_, _ = fetched[ids[i]], from[ids[i]]
					}
				})
			})
			// A push looks up the commit of each run it would send: ten,
			// or every one.
			commits := commitIDs(n, "scanned")
			sorted := slices.Sorted(slices.Values(commits))
			var b1 strings.Builder
			for _, c := range sorted {
				b1.WriteString(c + "\n")
			}
			if err := writeFileAtomic(r.scannedPath(), []byte(b1.String())); err != nil {
				b.Fatal(err)
			}
			if err := writeFileAtomic(old+"/scanned", []byte(b1.String())); err != nil {
				b.Fatal(err)
			}
			for _, k := range []int{10, n} {
				b.Run(fmt.Sprintf("Scanned/%d", k), func(b *testing.B) {
					compare(b, func() {
						scanned := r.Scanned()
						for _, c := range commits[:k] {
							if !scanned(c) {
								b.Fatal("not scanned")
							}
						}
					}, func() {
						scanned := oldScanned(old + "/scanned")
						for _, c := range commits[:k] {
							if !scanned[c] {
								b.Fatal("not scanned")
							}
						}
					})
				})
			}
		})
	}
}

// compare times b.N calls of each of new and old, one after the other,
// and reports their medians and old's over new's.
func compare(b *testing.B, new, old func()) {
	var newT, oldT []time.Duration
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		new()
		t1 := time.Now()
		old()
		newT, oldT = append(newT, t1.Sub(t0)), append(oldT, time.Since(t1))
	}
	b.StopTimer()
	mn, mo := median(newT), median(oldT)
	b.ReportMetric(float64(mn.Nanoseconds()), "new-ns/op")
	b.ReportMetric(float64(mo.Nanoseconds()), "old-ns/op")
	b.ReportMetric(float64(mo)/float64(mn), "old/new")
}

// TestAllMarksAllocates: a listing's lookups make no string of their own
// beyond the few remote names.
func TestAllMarksAllocates(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	ids := newIDs(10_000)
	if err := r.MarkFetched("origin", ids[:5000]); err != nil {
		t.Fatal(err)
	}
	if err := r.MarkFetched("upstream", ids[5000:]); err != nil {
		t.Fatal(err)
	}
	if err := r.MarkSeen(ids[10], ids[6000]); err != nil {
		t.Fatal(err)
	}
	allocs := testing.AllocsPerRun(3, func() {
		marksOf := r.AllMarks()
		for i := len(ids) - 1; i >= 0; i-- {
			marksOf(ids[i])
		}
	})
	if allocs > 40 {
		t.Errorf("a listing of %d marks allocates %.0f times", len(ids), allocs)
	}
}

// TestAllMarksShared: one lookup asked by several goroutines at once, in
// different orders, as a server's views would.
func TestAllMarksShared(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	ids := newIDs(3000)
	if err := r.MarkFetched("origin", ids[:2000]); err != nil {
		t.Fatal(err)
	}
	if err := r.MarkSeen(ids[5]); err != nil {
		t.Fatal(err)
	}
	marksOf := r.AllMarks()
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(g), 9))
			for range 5000 {
				i := rng.IntN(len(ids))
				f, c := marksOf(ids[i])
				wantF, wantC := "origin", "origin"
				if i >= 2000 {
					wantF, wantC = "", ""
				} else if i == 5 {
					wantF = ""
				}
				if f != wantF || c != wantC {
					t.Errorf("marks of run %d: %q, %q, want %q, %q", i, f, c, wantF, wantC)
					return
				}
			}
		})
	}
	wg.Wait()
}

func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	return ds[len(ds)/2]
}
