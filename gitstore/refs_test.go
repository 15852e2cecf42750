package gitstore

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"golang.org/x/sys/unix"
)

func TestUpdateRefCompareAndSwap(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	c1, c2, c3 := writeRun(t, r, "1"), writeRun(t, r, "2"), writeRun(t, r, "3")
	const name = "refs/runs/cas"

	if _, err := r.ReadRef(name); !errors.Is(err, errNotFound) {
		t.Fatalf("ReadRef of a missing ref: %v", err)
	}
	if err := r.UpdateRef(name, c1, zero); err != nil {
		t.Fatal(err)
	}
	if err := r.UpdateRef(name, c2, zero); !errors.Is(err, ErrRefChanged) {
		t.Errorf("create over an existing ref: %v", err)
	}
	if err := r.UpdateRef(name, c2, c3); !errors.Is(err, ErrRefChanged) {
		t.Errorf("update from a wrong old value: %v", err)
	}
	if err := r.UpdateRef(name, c2, c1); err != nil {
		t.Errorf("update from the right old value: %v", err)
	}
	if err := r.UpdateRef("refs/runs/other", c1, c2); !errors.Is(err, ErrRefChanged) {
		t.Errorf("update of a missing ref from an old value: %v", err)
	}
	if err := r.UpdateRef(name, c3, AnyHash); err != nil {
		t.Errorf("unconditional update: %v", err)
	}
	if h, err := r.ReadRef(name); err != nil || h != c3 {
		t.Errorf("ReadRef = %s, %v", h, err)
	}
	if got := git(t, dir, "rev-parse", name); got != c3.String() {
		t.Errorf("git rev-parse = %s, want %s", got, c3)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git", name+".lock")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("lock file left behind")
	}

	// Compare-and-swap also holds against a packed value.
	git(t, dir, "pack-refs", "--all", "--prune")
	if err := r.UpdateRef(name, c1, c2); !errors.Is(err, ErrRefChanged) {
		t.Errorf("update of a packed ref from a wrong value: %v", err)
	}
	if err := r.UpdateRef(name, c1, c3); err != nil {
		t.Errorf("update of a packed ref: %v", err)
	}
	if got := git(t, dir, "rev-parse", name); got != c1.String() {
		t.Errorf("git rev-parse = %s, want %s", got, c1)
	}
	for _, bad := range []plumbing.Hash{zero, AnyHash} {
		if err := r.UpdateRef(name, bad, AnyHash); err == nil {
			t.Errorf("UpdateRef to %s succeeded", bad)
		}
	}
	fsck(t, dir)
}

func TestUpdateRefConcurrentCreators(t *testing.T) {
	r := openRepo(t, newRepo(t))
	c := writeRun(t, r, "x")
	var wins, lost atomic.Int32
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := r.UpdateRef("refs/runs/race", c, zero)
			switch {
			case err == nil:
				wins.Add(1)
			case errors.Is(err, ErrRefChanged), errors.Is(err, fs.ErrExist):
				lost.Add(1)
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Errorf("%d creators won, want exactly 1 (%d lost)", wins.Load(), lost.Load())
	}
}

func TestUpdateRefLockContention(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	c := writeRun(t, r, "x")
	lock := filepath.Join(dir, ".git", "refs", "runs", "busy.lock")
	writeFile(t, lock, "")

	start := time.Now()
	err := r.UpdateRef("refs/runs/busy", c, zero)
	waited := time.Since(start)
	want := "lock ref refs/runs/busy: refs/runs/busy.lock exists: another git process holds it"
	if err == nil || !strings.HasPrefix(err.Error(), want) || !errors.Is(err, fs.ErrExist) {
		t.Fatalf("error %v, want %q", err, want)
	}
	if waited < refLockTimeout {
		t.Errorf("gave up after %v, before the %v timeout", waited, refLockTimeout)
	}
	if _, err := os.Stat(lock); err != nil {
		t.Error("someone else's lock was removed")
	}

	// A lock released within the timeout is waited for. The timeout is
	// raised so that a slow machine cannot make the release come late.
	defer func(d time.Duration) { refLockTimeout = d }(refLockTimeout)
	refLockTimeout = 10 * time.Second
	go func() {
		time.Sleep(30 * time.Millisecond)
		os.Remove(lock)
	}()
	if err := r.UpdateRef("refs/runs/busy", c, zero); err != nil {
		t.Errorf("after the lock was released: %v", err)
	}
	if got := git(t, dir, "rev-parse", "refs/runs/busy"); got != c.String() {
		t.Errorf("rev-parse = %s", got)
	}
}

func TestUpdateRefConflicts(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	c := writeRun(t, r, "x")
	for _, name := range []string{"refs/runs/p", "refs/runs/q/r", "refs/runs/l"} {
		if err := r.UpdateRef(name, c, zero); err != nil {
			t.Fatal(err)
		}
	}
	git(t, dir, "pack-refs", "--all", "--prune")
	// refs/runs/l is loose again, the others only packed.
	if err := r.UpdateRef("refs/runs/l", c, c); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"refs/runs/p/x", "refs/runs/q", "refs/runs/l/x"} {
		if err := r.UpdateRef(name, c, zero); err == nil {
			t.Errorf("UpdateRef(%s) succeeded despite a conflicting ref", name)
		}
	}
	fsck(t, dir)
	if out, err := gitOutput(dir, nil, "pack-refs", "--all"); err != nil {
		t.Errorf("git pack-refs after conflicts: %v %s", err, out)
	}
}

func TestRefNames(t *testing.T) {
	r := openRepo(t, newRepo(t))
	c := writeRun(t, r, "x")
	good := []string{"refs/runs/abc", "refs/runs/2025-01-01T12.00.00Z-x_y", "refs/runs/a/b/c", "refs/heads/feature/x", "refs/runs/@x"}
	for _, name := range good {
		if err := checkRefName(name); err != nil {
			t.Errorf("checkRefName(%q): %v", name, err)
		}
	}
	bad := []string{
		"", "HEAD", "refs/", "refs", "runs/x", "refs/runs/", "refs/runs//x", "refs/runs/.x", "refs/runs/x.",
		"refs/runs/a..b", "refs/runs/x.lock", "refs/runs/x.lock/y", "refs/runs/a b", "refs/runs/a~", "refs/runs/a^",
		"refs/runs/a:b", "refs/runs/a?", "refs/runs/a*", "refs/runs/a[", "refs/runs/a\\b", "refs/runs/a@{b",
		"refs/runs/@", "refs/runs/a\x01", "refs/runs/a\x7f", "refs/../config",
	}
	for _, name := range bad {
		if err := checkRefName(name); err == nil {
			t.Errorf("checkRefName(%q) accepted it", name)
		}
		if err := r.UpdateRef(name, c, zero); err == nil {
			t.Errorf("UpdateRef(%q) succeeded", name)
		}
	}
	// Our rules must agree with git's on everything we accept.
	for _, name := range good {
		if out, err := gitOutput(".", nil, "check-ref-format", name); err != nil {
			t.Errorf("git rejects %q, which we accept: %v %s", name, err, out)
		}
	}
}

func TestDeleteRef(t *testing.T) {
	dir := newRepoWithCommit(t)
	r := openRepo(t, dir)
	c1, c2 := writeRun(t, r, "1"), writeRun(t, r, "2")
	for _, name := range []string{"refs/runs/loose", "refs/runs/packed", "refs/runs/both", "refs/runs/keep"} {
		if err := r.UpdateRef(name, c1, zero); err != nil {
			t.Fatal(err)
		}
	}
	// An annotated tag gives packed-refs a peeled line to preserve.
	git(t, dir, "tag", "-a", "-m", "v1", "v1")
	git(t, dir, "pack-refs", "--all", "--prune")
	if err := r.UpdateRef("refs/runs/loose", c1, zero); err == nil {
		t.Fatal("ref should exist packed")
	}
	// refs/runs/loose: delete from packed-refs and leave a loose one only.
	if err := r.DeleteRef("refs/runs/loose", c1); err != nil {
		t.Fatal(err)
	}
	if err := r.UpdateRef("refs/runs/loose", c2, zero); err != nil {
		t.Fatal(err)
	}
	// refs/runs/both: a loose value over a stale packed one.
	if err := r.UpdateRef("refs/runs/both", c2, c1); err != nil {
		t.Fatal(err)
	}

	if err := r.DeleteRef("refs/runs/loose", c1); !errors.Is(err, ErrRefChanged) {
		t.Errorf("delete with a wrong old value: %v", err)
	}
	for name, old := range map[string]plumbing.Hash{"refs/runs/loose": c2, "refs/runs/packed": c1, "refs/runs/both": AnyHash} {
		if err := r.DeleteRef(name, old); err != nil {
			t.Errorf("DeleteRef(%s): %v", name, err)
		}
		if _, err := r.ReadRef(name); !errors.Is(err, errNotFound) {
			t.Errorf("ReadRef(%s) after delete: %v", name, err)
		}
	}
	if err := r.DeleteRef("refs/runs/packed", AnyHash); !errors.Is(err, errNotFound) {
		t.Errorf("delete of a missing ref: %v", err)
	}
	if err := r.DeleteRef("refs/runs/packed", c1); !errors.Is(err, errNotFound) || !errors.Is(err, ErrRefChanged) {
		t.Errorf("compare-and-delete of a missing ref: %v", err)
	}

	got := forEachRef(t, dir, "refs/")
	want := map[string]string{
		"refs/runs/keep":  c1.String(),
		"refs/heads/main": git(t, dir, "rev-parse", "main"),
		"refs/tags/v1":    git(t, dir, "rev-parse", "v1"),
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("for-each-ref = %v, want %v", got, want)
	}
	packed, _ := os.ReadFile(filepath.Join(dir, ".git", "packed-refs"))
	if !bytes.HasPrefix(packed, []byte("# pack-refs with:")) || !bytes.Contains(packed, []byte("^"+git(t, dir, "rev-parse", "v1^{}"))) {
		t.Errorf("packed-refs lost its header or the tag's peeled line:\n%s", packed)
	}
	if got := git(t, dir, "rev-parse", "v1^{}"); got != git(t, dir, "rev-parse", "main") {
		t.Errorf("tag peels to %s", got)
	}
	fsck(t, dir)
}

// TestStaleLock takes over a lock left by a process that died: old, and
// held by nobody. A young lock, or an old one a live process holds, is
// waited for as git does, and left alone.
func TestStaleLock(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	var warned []error
	r.Warn = func(err error) { warned = append(warned, err) }
	c := writeRun(t, r, "x")
	lock := filepath.Join(dir, ".git", "refs", "runs", "left.lock")
	old := time.Now().Add(-2 * staleLockAge)

	writeFile(t, lock, "")
	if err := r.UpdateRef("refs/runs/left", c, zero); !errors.Is(err, fs.ErrExist) {
		t.Errorf("a fresh lock: %v, want it waited for and left", err)
	}
	held, err := os.Open(lock)
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if err := unix.Flock(int(held.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(lock, old, old)
	if err := r.UpdateRef("refs/runs/left", c, zero); !errors.Is(err, fs.ErrExist) {
		t.Errorf("an old lock a live process holds: %v, want it left", err)
	}
	if len(warned) != 0 {
		t.Errorf("warned %v", warned)
	}
	held.Close() // the holder dies
	if err := r.UpdateRef("refs/runs/left", c, zero); err != nil {
		t.Fatalf("a stale lock: %v", err)
	}
	if len(warned) != 1 || !strings.Contains(warned[0].Error(), "removed refs/runs/left.lock, left 2") {
		t.Errorf("warned %v, want one warning naming the lock and its age", warned)
	}
	if got := git(t, dir, "rev-parse", "refs/runs/left"); got != c.String() {
		t.Errorf("rev-parse = %s", got)
	}
	fsck(t, dir)
}

func TestDeleteRefPackedLockContention(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	c := writeRun(t, r, "x")
	if err := r.UpdateRef("refs/runs/a", c, zero); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "pack-refs", "--all", "--prune")
	lock := filepath.Join(dir, ".git", "packed-refs.lock")
	writeFile(t, lock, "")
	err := r.DeleteRef("refs/runs/a", c)
	if err == nil || !strings.Contains(err.Error(), "packed-refs.lock exists: another git process holds it") {
		t.Errorf("error %v", err)
	}
	os.Remove(lock)
	if h, err := r.ReadRef("refs/runs/a"); err != nil || h != c {
		t.Errorf("ref damaged by a failed delete: %s %v", h, err)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git", "refs", "runs", "a.lock")); !errors.Is(err, fs.ErrNotExist) {
		t.Error("ref lock left behind")
	}
}

func TestListRefs(t *testing.T) {
	dir := newRepoWithCommit(t)
	r := openRepo(t, dir)
	c1, c2 := writeRun(t, r, "1"), writeRun(t, r, "2")
	names := []string{"refs/runs/b", "refs/runs/a/x", "refs/runs/a-b", "refs/runs/ab", "refs/runs/z/y/x", "refs/runsx/no"}
	for _, name := range names {
		if err := r.UpdateRef(name, c1, zero); err != nil {
			t.Fatal(err)
		}
	}
	git(t, dir, "pack-refs", "--all", "--prune")
	// Loose values over packed ones, new loose refs, a lock file and a
	// symbolic ref.
	if err := r.UpdateRef("refs/runs/b", c2, c1); err != nil {
		t.Fatal(err)
	}
	if err := r.UpdateRef("refs/runs/a0", c2, zero); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, ".git", "refs", "runs", "c.lock"), c2.String()+"\n")
	git(t, dir, "symbolic-ref", "refs/runs/sym", "refs/heads/main")

	got, err := r.ListRefs("refs/runs/")
	if err != nil {
		t.Fatal(err)
	}
	var want []Ref
	for name, h := range forEachRef(t, dir, "refs/runs/") {
		want = append(want, Ref{name, plumbing.NewHash(h)})
	}
	slices.SortFunc(want, func(a, b Ref) int { return strings.Compare(a.Name, b.Name) })
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("ListRefs =\n%v\ngit for-each-ref =\n%v", got, want)
	}

	got, _ = r.ListRefs("refs/runs/a")
	var gotNames []string
	for _, ref := range got {
		gotNames = append(gotNames, ref.Name)
	}
	if want := "[refs/runs/a-b refs/runs/a/x refs/runs/a0 refs/runs/ab]"; fmt.Sprint(gotNames) != want {
		t.Errorf("ListRefs(refs/runs/a) = %v, want %s", gotNames, want)
	}
	if got, err := r.ListRefs("refs/nothing/"); err != nil || len(got) != 0 {
		t.Errorf("ListRefs of an empty prefix = %v, %v", got, err)
	}
	if _, err := r.ListRefs("runs/"); err == nil {
		t.Error("ListRefs outside refs/ succeeded")
	}
}

func TestListRefsBrokenLooseRef(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	c := writeRun(t, r, "x")
	if err := r.UpdateRef("refs/runs/ok", c, zero); err != nil {
		t.Fatal(err)
	}
	broken := filepath.Join(dir, ".git", "refs", "runs", "half")
	writeFile(t, broken, c.String()[:20])
	if _, err := r.ListRefs("refs/runs/"); err == nil || !strings.Contains(err.Error(), "broken ref refs/runs/half") {
		t.Errorf("ListRefs with a broken ref: %v", err)
	}
	if _, err := r.ReadRef("refs/runs/half"); err == nil {
		t.Error("ReadRef of a broken ref succeeded")
	}

	// A writer that finishes while we retry is waited for.
	writeFile(t, broken, "")
	go func() {
		time.Sleep(3 * time.Millisecond)
		writeFile(t, broken, c.String()+"\n")
	}()
	got, err := r.ListRefs("refs/runs/")
	if err != nil || len(got) != 2 {
		t.Errorf("ListRefs while a writer finishes = %v, %v", got, err)
	}
}

func TestParsePacked(t *testing.T) {
	h1 := strings.Repeat("a", 40)
	h2 := strings.Repeat("b", 40)
	raw := "# pack-refs with: peeled fully-peeled sorted \n" +
		h1 + " refs/runs/b\n" +
		h2 + " refs/runs/a\n" + // out of order: must be sorted on read
		h1 + " refs/tags/t\n^" + h2 + "\n" +
		h2 + " refs/z" // no final newline
	p, err := parsePacked(raw)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range p.refs {
		names = append(names, e.Name)
	}
	if fmt.Sprint(names) != "[refs/runs/a refs/runs/b refs/tags/t refs/z]" {
		t.Errorf("names %v", names)
	}
	if i := p.find("refs/tags/t"); i < 0 || p.raw[p.refs[i].start:p.refs[i].end] != h1+" refs/tags/t\n^"+h2+"\n" {
		t.Errorf("tag entry range wrong")
	}
	for _, bad := range []string{"^" + h1 + "\n", "xyz refs/a\n", h1 + "refs/a\n", h1[:39] + "g refs/a\n"} {
		if _, err := parsePacked(bad); err == nil {
			t.Errorf("parsePacked(%q) succeeded", bad)
		}
	}
}

const stressEnv = "GITSTORE_STRESS_DIR"

// TestRefsStressHelper is not a test: it is the body of the writer
// processes that TestRefsStress starts.
func TestRefsStressHelper(t *testing.T) {
	dir := os.Getenv(stressEnv)
	if dir == "" {
		t.Skip("helper process for TestRefsStress")
	}
	id := os.Getenv("GITSTORE_STRESS_ID")
	n, _ := strconv.Atoi(os.Getenv("GITSTORE_STRESS_N"))
	r, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for i := range n {
		name, c, err := stressWrite(r, id, i)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(out, "%s %s\n", name, c)
	}
}

func stressWrite(r *Repo, id string, i int) (string, plumbing.Hash, error) {
	c, err := writeRunErr(r, fmt.Sprintf("writer %s run %d\n", id, i))
	if err != nil {
		return "", zero, err
	}
	name := fmt.Sprintf("refs/runs/%s-%04d", id, i)
	if err := r.UpdateRef(name, c, zero); err != nil {
		return "", zero, err
	}
	// Read it back as a reader in the same process would.
	if h, err := r.ReadRef(name); err != nil || h != c {
		return "", zero, fmt.Errorf("read back %s: %s %v", name, h, err)
	}
	return name, c, nil
}

// TestRefsStress creates refs from several processes and goroutines while
// git pack-refs and git gc run in loops beside them, and lists refs all the
// while: no ref may be lost, no listing may come back short, and the
// repository must stay sound.
func TestRefsStress(t *testing.T) {
	if testing.Short() {
		t.Skip("stress test")
	}
	const procs, goroutines, perWriter = 3, 2, 500
	dir := newRepoWithCommit(t)
	// Make gc --auto do real work (repack, prune of empty fan-out
	// directories) and do it in the foreground of our loop.
	git(t, dir, "config", "gc.auto", "50")
	git(t, dir, "config", "gc.autoPackLimit", "3")
	git(t, dir, "config", "gc.autoDetach", "false")

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	var loops sync.WaitGroup
	var packRuns, gcRuns, listings atomic.Int64
	loop := func(counter *atomic.Int64, args ...string) {
		loops.Add(1)
		go func() {
			defer loops.Done()
			for ctx.Err() == nil {
				// Failures are expected when two gits contend for a
				// lock; the end state is what is checked.
				gitOutput(dir, nil, args...)
				counter.Add(1)
			}
		}()
	}
	loop(&packRuns, "pack-refs", "--all", "--prune")
	loop(&gcRuns, "gc", "--auto", "--quiet")

	reader := openRepo(t, dir)
	var listErr error
	loops.Add(1)
	go func() {
		defer loops.Done()
		prev := map[string]plumbing.Hash{}
		for ctx.Err() == nil {
			refs, err := reader.ListRefs("refs/runs/")
			if err != nil {
				listErr = err
				return
			}
			cur := make(map[string]plumbing.Hash, len(refs))
			for _, ref := range refs {
				if !strings.HasPrefix(ref.Name, "refs/runs/del-") {
					cur[ref.Name] = ref.Hash
				}
			}
			for name, h := range prev {
				if cur[name] != h {
					listErr = fmt.Errorf("listing %d: %s was %s, now %s (%d refs, previously %d)", listings.Load(), name, h, cur[name], len(cur), len(prev))
					return
				}
			}
			prev = cur
			listings.Add(1)
		}
	}()

	want := map[string]string{}
	var mu sync.Mutex
	var writers sync.WaitGroup
	errs := make(chan error, procs+goroutines+1)
	for p := range procs {
		writers.Add(1)
		go func() {
			defer writers.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestRefsStressHelper$", "-test.count=1")
			cmd.Env = append(os.Environ(), stressEnv+"="+dir, fmt.Sprintf("GITSTORE_STRESS_ID=p%d", p), fmt.Sprintf("GITSTORE_STRESS_N=%d", perWriter))
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				errs <- fmt.Errorf("writer process %d: %v\n%s%s", p, err, out, stderr.String())
				return
			}
			mu.Lock()
			defer mu.Unlock()
			for _, line := range strings.Split(string(out), "\n") {
				if name, h, ok := strings.Cut(line, " "); ok && strings.HasPrefix(name, "refs/") {
					want[name] = h
				}
			}
		}()
	}
	// Goroutines share one Repo.
	shared := openRepo(t, dir)
	for g := range goroutines {
		writers.Add(1)
		go func() {
			defer writers.Done()
			for i := range perWriter {
				name, c, err := stressWrite(shared, fmt.Sprintf("g%d", g), i)
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				want[name] = c.String()
				mu.Unlock()
			}
		}()
	}
	// A deleter: every ref it creates it deletes again, and none may come
	// back (a pack-refs copying a loose ref while we delete it would
	// resurrect it).
	writers.Add(1)
	go func() {
		defer writers.Done()
		for i := range perWriter {
			name, c, err := stressWrite(shared, "del", i)
			if err == nil {
				err = shared.DeleteRef(name, c)
				// A pack-refs slowed by a loaded machine may hold
				// packed-refs.lock past git's timeout: try again, as
				// one would after git's own "unable to lock".
				for errors.Is(err, fs.ErrExist) {
					err = shared.DeleteRef(name, c)
				}
			}
			if err != nil {
				errs <- err
				return
			}
		}
	}()
	writers.Wait()
	stop()
	loops.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if listErr != nil {
		t.Errorf("concurrent listing: %v", listErr)
	}
	t.Logf("%d pack-refs runs, %d gc --auto runs, %d listings", packRuns.Load(), gcRuns.Load(), listings.Load())
	if total := (procs + goroutines) * perWriter; len(want) != total {
		t.Fatalf("writers reported %d refs, want %d", len(want), total)
	}

	got := forEachRef(t, dir, "refs/runs/")
	for name := range got {
		if strings.HasPrefix(name, "refs/runs/del-") {
			t.Errorf("deleted ref %s exists", name)
		}
	}
	if len(got) != len(want) {
		t.Errorf("git for-each-ref shows %d refs, want %d", len(got), len(want))
	}
	for name, h := range want {
		if got[name] != h {
			t.Errorf("%s is %q in git, want %s", name, got[name], h)
		}
	}
	refs, err := reader.ListRefs("refs/runs/")
	if err != nil || len(refs) != len(want) {
		t.Errorf("final ListRefs: %d refs, %v", len(refs), err)
	}
	fsck(t, dir)
}

// BenchmarkListRefs10kLoose lists 10,000 loose refs.
func BenchmarkListRefs10kLoose(b *testing.B) {
	dir := newRepo(b)
	r := openRepo(b, dir)
	c := writeRun(b, r, "x")
	for i := range 10000 {
		if err := r.UpdateRef(fmt.Sprintf("refs/runs/%06d", i), c, zero); err != nil {
			b.Fatal(err)
		}
	}
	for b.Loop() {
		refs, err := r.ListRefs("refs/runs/")
		if err != nil || len(refs) != 10000 {
			b.Fatal(len(refs), err)
		}
	}
}

// BenchmarkListRefs100kPacked lists 100,000 packed refs, parsing
// packed-refs every time (cold) or once (warm).
func BenchmarkListRefs100kPacked(b *testing.B) {
	dir := newRepo(b)
	r := openRepo(b, dir)
	c := writeRun(b, r, "x")
	var packed strings.Builder
	packed.WriteString("# pack-refs with: peeled fully-peeled sorted \n")
	for i := range 100000 {
		fmt.Fprintf(&packed, "%s refs/runs/%07d\n", c, i)
	}
	writeFile(b, filepath.Join(dir, ".git", "packed-refs"), packed.String())
	for _, cold := range []bool{true, false} {
		b.Run(map[bool]string{true: "cold", false: "warm"}[cold], func(b *testing.B) {
			for b.Loop() {
				if cold {
					r.refsMu.Lock()
					r.packed = nil
					r.refsMu.Unlock()
				}
				refs, err := r.ListRefs("refs/runs/")
				if err != nil || len(refs) != 100000 {
					b.Fatal(len(refs), err)
				}
			}
		})
	}
}
