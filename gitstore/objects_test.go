package gitstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/plumbing/filemode"
	"github.com/go-git/go-git/v5/plumbing/object"
	"github.com/go-git/go-git/v5/storage/filesystem"
)

var zero = plumbing.ZeroHash

func TestWriteObjectsMatchGit(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)

	blob, err := r.WriteBlob([]byte("hello\n"))
	if err != nil {
		t.Fatal(err)
	}
	if want := gitWithStdin(t, dir, "hello\n", "hash-object", "--stdin"); blob.String() != want {
		t.Fatalf("blob %s, git says %s", blob, want)
	}
	if got := git(t, dir, "cat-file", "-p", blob.String()); got != "hello" {
		t.Errorf("cat-file blob = %q", got)
	}
	empty, err := r.WriteBlob(nil)
	if err != nil || empty.String() != "e69de29bb2d1d6434b8b29ae775ad8c2e48c5391" {
		t.Errorf("empty blob = %s, %v", empty, err)
	}

	sub, err := r.WriteTree([]TreeEntry{{Name: "inner", Mode: filemode.Regular, Hash: blob}})
	if err != nil {
		t.Fatal(err)
	}
	gitlink := plumbing.NewHash("1111111111111111111111111111111111111111")
	entries := []TreeEntry{
		{Name: "z", Mode: filemode.Regular, Hash: blob},
		{Name: "a-b", Mode: filemode.Regular, Hash: blob},
		{Name: "a", Mode: filemode.Dir, Hash: sub},
		{Name: "a.b", Mode: filemode.Executable, Hash: blob},
		{Name: "a0", Mode: filemode.Symlink, Hash: blob},
		{Name: "ab", Mode: filemode.Submodule, Hash: gitlink},
		{Name: "é", Mode: filemode.Regular, Hash: empty},
	}
	tree, err := r.WriteTree(entries)
	if err != nil {
		t.Fatal(err)
	}
	var mk strings.Builder
	for _, e := range entries {
		typ := "blob"
		switch e.Mode {
		case filemode.Dir:
			typ = "tree"
		case filemode.Submodule:
			typ = "commit"
		}
		fmt.Fprintf(&mk, "%06o %s %s\t%s\n", uint32(e.Mode), typ, e.Hash, e.Name)
	}
	mktree := gitWithStdin(t, dir, mk.String(), "mktree", "--missing")
	if tree.String() != mktree {
		t.Errorf("tree %s, git mktree says %s", tree, mktree)
	}

	parent := plumbing.NewHash(git(t, dir, "commit-tree", "-m", "p", sub.String()))
	c, err := r.WriteCommit(CommitSpec{
		Tree: tree, Parents: []plumbing.Hash{parent},
		Author: testSig, Committer: testSig, Message: "subject\n\nbody\n",
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "tree " + tree.String() + "\nparent " + parent.String() +
		"\nauthor Run Ner <runner@example.com> 1740826800 +0100" +
		"\ncommitter Run Ner <runner@example.com> 1740826800 +0100\n\nsubject\n\nbody"
	if got := git(t, dir, "cat-file", "commit", c.String()); got != want {
		t.Errorf("commit:\n%s\nwant:\n%s", got, want)
	}
	if err := r.UpdateRef("refs/runs/x", c, zero); err != nil {
		t.Fatal(err)
	}
	// The gitlink points at a commit git does not have; that is normal
	// for submodules and fsck accepts it.
	fsck(t, dir)

	got, err := r.ReadCommit(c)
	if err != nil || got.TreeHash != tree || got.Message != "subject\n\nbody\n" || !got.Author.When.Equal(testSig.When) {
		t.Errorf("ReadCommit = %+v, %v", got, err)
	}
	if _, err := r.ReadCommit(plumbing.NewHash("2222222222222222222222222222222222222222")); !errors.Is(err, errNotFound) {
		t.Errorf("ReadCommit of a missing object: %v", err)
	}
	if b, err := r.ReadBlob(blob); err != nil || string(b) != "hello\n" {
		t.Errorf("ReadBlob = %q, %v", b, err)
	}
	if !r.HasObject(c) || r.HasObject(gitlink) {
		t.Error("HasObject wrong")
	}
}

func gitWithStdin(t testing.TB, dir, stdin string, args ...string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "stdin")
	writeFile(t, path, stdin)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	out, err := runGit(context.Background(), dir, append(os.Environ(), testIdentity...), f, args...)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

func TestWriteTreeRejects(t *testing.T) {
	r := openRepo(t, newRepo(t))
	blob, _ := r.WriteBlob([]byte("x"))
	bad := [][]TreeEntry{
		{{Name: "", Mode: filemode.Regular, Hash: blob}},
		{{Name: "a/b", Mode: filemode.Regular, Hash: blob}},
		{{Name: ".", Mode: filemode.Regular, Hash: blob}},
		{{Name: "..", Mode: filemode.Regular, Hash: blob}},
		{{Name: ".git", Mode: filemode.Dir, Hash: blob}},
		{{Name: ".GIT", Mode: filemode.Regular, Hash: blob}},
		{{Name: "a\x00b", Mode: filemode.Regular, Hash: blob}},
		{{Name: "a", Mode: filemode.Regular, Hash: blob}, {Name: "a", Mode: filemode.Dir, Hash: blob}},
		{{Name: "a", Mode: 0o100664, Hash: blob}},
		{{Name: "a", Mode: filemode.Regular, Hash: zero}},
	}
	for _, entries := range bad {
		if _, err := r.WriteTree(entries); err == nil {
			t.Errorf("WriteTree(%v) succeeded", entries)
		}
	}
	if h, err := r.WriteTree(nil); err != nil || h.String() != "4b825dc642cb6eb9a060e54bf8d69288fbee4904" {
		t.Errorf("empty tree = %s, %v", h, err)
	}
}

func TestWriteCommitRejects(t *testing.T) {
	r := openRepo(t, newRepo(t))
	tree, _ := r.WriteTree(nil)
	bad := []CommitSpec{
		{Author: testSig, Committer: testSig},
		{Tree: tree, Author: object.Signature{Name: "a<b", When: testSig.When}, Committer: testSig},
		{Tree: tree, Author: testSig, Committer: object.Signature{Name: "x", Email: "a\nb", When: testSig.When}},
		{Tree: tree, Author: testSig, Committer: object.Signature{Name: "x", Email: "e"}},
		{Tree: tree, Parents: []plumbing.Hash{zero}, Author: testSig, Committer: testSig},
	}
	for _, c := range bad {
		if _, err := r.WriteCommit(c); err == nil {
			t.Errorf("WriteCommit(%+v) succeeded", c)
		}
	}
}

func TestWriteBlobFile(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	for _, size := range []int{0, 1, 100 << 10, 3<<20 + 17} {
		data := make([]byte, size)
		rand.Read(data)
		path := filepath.Join(t.TempDir(), "data")
		if err := os.WriteFile(path, data, 0o666); err != nil {
			t.Fatal(err)
		}
		h, err := r.WriteBlobFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if want := git(t, dir, "hash-object", path); h.String() != want {
			t.Errorf("size %d: hash %s, git says %s", size, h, want)
		}
		if got, err := r.ReadBlob(h); err != nil || !bytes.Equal(got, data) {
			t.Errorf("size %d: ReadBlob differs (%v)", size, err)
		}
		if git(t, dir, "cat-file", "-s", h.String()) != fmt.Sprint(size) {
			t.Errorf("size %d: cat-file -s disagrees", size)
		}
	}
	if _, err := r.WriteBlobFile(filepath.Join(dir, "missing")); err == nil {
		t.Error("WriteBlobFile of a missing file succeeded")
	}
	if _, err := r.WriteBlobFile(dir); err == nil {
		t.Error("WriteBlobFile of a directory succeeded")
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "tmp_obj_*"))
	leftovers2, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "*", "tmp_obj_*"))
	if len(leftovers)+len(leftovers2) > 0 {
		t.Errorf("temporary files left: %v %v", leftovers, leftovers2)
	}
	fsck(t, dir)
}

func TestWriteExistingObjectIsFreshened(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	h, _ := r.WriteBlob([]byte("again"))
	path := r.objectPath(h)
	old := time.Now().Add(-30 * 24 * time.Hour)
	if err := os.Chtimes(path, old, old); err != nil {
		t.Fatal(err)
	}
	if h2, err := r.WriteBlob([]byte("again")); err != nil || h2 != h {
		t.Fatal(h2, err)
	}
	fi, err := os.Stat(path)
	if err != nil || time.Since(fi.ModTime()) > time.Minute {
		t.Errorf("existing object not freshened: %v %v", fi.ModTime(), err)
	}
}

func TestReadPath(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	blob, _ := r.WriteBlob([]byte("deep"))
	other, _ := r.WriteBlob([]byte("other"))
	c1, _ := r.WriteTree([]TreeEntry{{Name: "c.txt", Mode: filemode.Regular, Hash: blob}})
	// "b" the directory sorts after "b.txt"; the lookup must find both.
	b, _ := r.WriteTree([]TreeEntry{{Name: "b", Mode: filemode.Dir, Hash: c1}, {Name: "b.txt", Mode: filemode.Regular, Hash: other}})
	root, _ := r.WriteTree([]TreeEntry{{Name: "a", Mode: filemode.Dir, Hash: b}, {Name: "top", Mode: filemode.Regular, Hash: other}})
	c, err := r.WriteCommit(CommitSpec{Tree: root, Author: testSig, Committer: testSig, Message: "m"})
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"a/b/c.txt": "deep", "a/b.txt": "other", "top": "other"} {
		if got, err := r.ReadPath(c, path); err != nil || string(got) != want {
			t.Errorf("ReadPath(%s) = %q, %v", path, got, err)
		}
	}
	for _, path := range []string{"nope", "a/nope", "a/b/c.txt/x", "top/x"} {
		if _, err := r.ReadPath(c, path); !errors.Is(err, errNotFound) {
			t.Errorf("ReadPath(%s): %v, want errNotFound", path, err)
		}
	}
	for _, path := range []string{"a", "", "a//b", "/top"} {
		if _, err := r.ReadPath(c, path); err == nil || errors.Is(err, errNotFound) {
			t.Errorf("ReadPath(%q): %v, want another error", path, err)
		}
	}
	tree, err := r.Tree(c)
	if err != nil || len(tree.Entries) != 2 {
		t.Fatalf("Tree = %v, %v", tree, err)
	}
	// Trees read lazily through the Repo; that must work too.
	if f, err := tree.File("a/b/c.txt"); err != nil || f.Hash != blob {
		t.Errorf("tree.File = %v, %v", f, err)
	}
}

// TestReadAfterOutsideGC checks that a long-lived Repo keeps reading after
// git gc has packed its loose objects and later replaced that pack.
func TestReadAfterOutsideGC(t *testing.T) {
	dir := newRepoWithCommit(t)
	r := openRepo(t, dir)
	var commits []plumbing.Hash
	for round := range 3 {
		for i := range 20 {
			c := writeRun(t, r, fmt.Sprintf("round %d run %d", round, i))
			if err := r.UpdateRef(fmt.Sprintf("refs/runs/r%d-%d", round, i), c, zero); err != nil {
				t.Fatal(err)
			}
			commits = append(commits, c)
		}
		// Read everything, so the storage has indexed the current packs.
		for _, c := range commits {
			if _, err := r.ReadPath(c, "run.toml"); err != nil {
				t.Fatalf("round %d before gc: %v", round, err)
			}
		}
		git(t, dir, "gc", "-q", "--prune=now")
		loose, _ := filepath.Glob(filepath.Join(dir, ".git", "objects", "??", "*"))
		if len(loose) != 0 {
			t.Fatalf("gc left loose objects: %v", loose)
		}
		for i, c := range commits {
			b, err := r.ReadPath(c, "run.toml")
			if err != nil || string(b) != fmt.Sprintf("round %d run %d", i/20, i%20) {
				t.Fatalf("round %d after gc: %q, %v", round, b, err)
			}
			if !r.HasObject(c) {
				t.Fatalf("round %d: HasObject false after gc", round)
			}
		}
	}
}

func TestConcurrentObjectUse(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				content := fmt.Sprintf("g%d i%d", g, i%10) // duplicates on purpose
				c, err := writeRunErr(r, content)
				if err != nil {
					errs <- err
					return
				}
				b, err := r.ReadPath(c, "run.toml")
				if err != nil || string(b) != content {
					errs <- fmt.Errorf("read back %q: %q, %v", content, b, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

// BenchmarkWriteRun measures writing the objects of one run: a blob, a
// tree and a commit.
func BenchmarkWriteRun(b *testing.B) {
	r := openRepo(b, newRepo(b))
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		if _, err := writeRunErr(r, fmt.Sprintf("id = %d\nstatus = \"finished\"\n", i)); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkReadPacked reads every commit, tree and blob of 3,334 runs
// (10,002 objects) from one pack, with and without go-git's
// ExclusiveAccess option.
func BenchmarkReadPacked(b *testing.B) {
	dir := newRepo(b)
	r := openRepo(b, dir)
	var packed strings.Builder
	commits := make([]plumbing.Hash, 3334)
	for i := range commits {
		commits[i] = writeRun(b, r, fmt.Sprintf("id = %d\n", i))
		fmt.Fprintf(&packed, "%s refs/runs/%06d\n", commits[i], i)
	}
	writeFile(b, filepath.Join(dir, ".git", "packed-refs"), packed.String())
	git(b, dir, "repack", "-q", "-a", "-d")
	git(b, dir, "prune-packed")

	for _, exclusive := range []bool{false, true} {
		b.Run(fmt.Sprintf("exclusive=%v", exclusive), func(b *testing.B) {
			saved := storageOptions
			defer func() { storageOptions = saved }()
			storageOptions = filesystem.Options{KeepDescriptors: true, ExclusiveAccess: exclusive}
			for b.Loop() {
				r, err := Open(dir)
				if err != nil {
					b.Fatal(err)
				}
				for _, c := range commits {
					if _, err := r.ReadPath(c, "run.toml"); err != nil {
						b.Fatal(err)
					}
				}
				r.Close()
			}
		})
	}
}

// Big objects are compressed in pieces on several cores and joined into
// one zlib stream: git must read them back byte for byte, whatever their
// size relative to the pieces.
func TestWriteBigBlobsMatchGit(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	random := make([]byte, 3<<20+7)
	rand.Read(random)
	var text bytes.Buffer
	for i := 0; text.Len() < 5<<20; i++ {
		fmt.Fprintf(&text, "step %d loss=%.6f\n", i, 1/float64(i+1))
	}
	for _, data := range [][]byte{
		random[:bigObject], random[:bigObject+1], random[:2*bigObject-1], random,
		text.Bytes(), append(text.Bytes(), random...),
	} {
		h, err := r.WriteBlob(data)
		if err != nil {
			t.Fatal(err)
		}
		want := gitWithStdin(t, dir, string(data), "hash-object", "--stdin")
		if h.String() != want {
			t.Fatalf("%d bytes: blob %s, git says %s", len(data), h, want)
		}
		cmd := exec.Command("git", "cat-file", "blob", h.String())
		cmd.Dir = dir
		got, err := cmd.Output()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%d bytes: git cat-file gave %d bytes, %v", len(data), len(got), err)
		}
	}
	fsck(t, dir)
}

// A big object whose start was prepared reuses the pieces compressed
// ahead of time; one that merely resembles it does not. Git must read
// every one back byte for byte.
func TestWritePreparedBlobsMatchGit(t *testing.T) {
	dir := newRepo(t)
	r := openRepo(t, dir)
	var head bytes.Buffer
	for i := 0; head.Len() < 3<<20; i++ {
		fmt.Fprintf(&head, "epoch %d loss=%.6f\n", i, 1/float64(i+1))
	}
	r.Prepare(head.Bytes())
	deadline := time.Now().Add(10 * time.Second)
	for r.prepared(head.Bytes()) == nil {
		if time.Now().After(deadline) {
			t.Fatal("Prepare did not finish")
		}
		time.Sleep(10 * time.Millisecond)
	}
	tail := make([]byte, 2<<20+3)
	rand.Read(tail)
	other := bytes.Clone(head.Bytes())
	other[len(other)/2] ^= 1
	for name, data := range map[string][]byte{
		"head and more":   append(bytes.Clone(head.Bytes()), tail...),
		"head alone":      head.Bytes(),
		"head and little": append(bytes.Clone(head.Bytes()), "\n[git-runs: 5 bytes of output cut here]\nend\n"...),
		"a changed head":  append(other, tail...),
		"shorter":         head.Bytes()[:len(head.Bytes())-1],
	} {
		if pre := r.prepared(data); (pre != nil) != (name[0] == 'h') {
			t.Errorf("%s: prepared pieces used: %v", name, pre != nil)
		}
		h, err := r.WriteBlob(data)
		if err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command("git", "cat-file", "blob", h.String())
		cmd.Dir = dir
		got, err := cmd.Output()
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("%s: git cat-file gave %d bytes of %d, %v", name, len(got), len(data), err)
		}
		if want := gitWithStdin(t, dir, string(data), "hash-object", "--stdin"); h.String() != want {
			t.Errorf("%s: blob %s, git says %s", name, h, want)
		}
	}
	fsck(t, dir)
}
