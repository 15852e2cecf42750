package gitstore

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"

	"github.com/gitruns/gitruns/run"
	"github.com/gitruns/gitruns/run/live"
)

// TestCatFileReadsAsGoGitDoes reads a packed run through git cat-file, as
// big repositories are read, and through go-git: the answers are the
// same, missing objects are missing, and an oversized blob is refused by
// its size.
func TestCatFileReadsAsGoGitDoes(t *testing.T) {
	dir := newRepoWithCommit(t)
	r := openRepo(t, dir)
	art := filepath.Join(t.TempDir(), "model.bin")
	writeFile(t, art, "weights\n")
	lr, err := live.Recorder{Store: r, Dir: r.LiveDir()}.Start(context.Background(), live.Options{Params: map[string]any{"lr": 0.1}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		lr.LogMetric("loss", 1/float64(i+1), live.NextStep)
	}
	if err := lr.LogArtifact(art, "model.bin"); err != nil {
		t.Fatal(err)
	}
	if err := lr.End(run.Finished); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "gc", "-q")

	type answers struct {
		Hist run.History
		Arts []run.ArtifactInfo
		Art  []byte
		Blob []byte
		Errs []string
	}
	read := func(min int64) answers {
		defer func(old int64) { catFileMinIdx = old }(catFileMinIdx)
		catFileMinIdx = min
		rr := openRepo(t, dir)
		if rr.bigPacks() != (min == 0) {
			t.Fatalf("bigPacks = %v with a minimum of %d", rr.bigPacks(), min)
		}
		en, err := rr.Load(context.Background(), lr.ID())
		if err != nil {
			t.Fatal(err)
		}
		var a answers
		if a.Hist, err = rr.History(context.Background(), en.Commit); err != nil {
			t.Fatal(err)
		}
		if a.Arts, err = rr.Artifacts(context.Background(), en.Commit); err != nil {
			t.Fatal(err)
		}
		f, err := rr.OpenArtifact(context.Background(), en.Commit, "model.bin")
		if err != nil {
			t.Fatal(err)
		}
		a.Art, _ = io.ReadAll(f)
		f.Close()
		c, _ := parseHash(en.Commit)
		if a.Blob, err = rr.ReadPath(c, "metrics.tsv"); err != nil {
			t.Fatal(err)
		}
		if _, err := rr.readPathMax(c, "metrics.tsv", 10); err == nil {
			t.Fatal("a blob over the limit was read")
		}
		missing := plumbing.NewHash("0123456789012345678901234567890123456789")
		_, err1 := rr.ReadBlob(missing)
		_, err2 := rr.ReadCommit(missing)
		_, err3 := rr.ReadCommit(mustHash(t, a.Arts))
		for _, err := range []error{err1, err2, err3} {
			if err == nil {
				t.Fatal("read a missing object")
			}
			a.Errs = append(a.Errs, err.Error())
		}
		return a
	}
	viaGit, viaGoGit := read(0), read(1<<62)
	if !reflect.DeepEqual(viaGit, viaGoGit) {
		t.Fatalf("through cat-file %+v, through go-git %+v", viaGit, viaGoGit)
	}
	if len(viaGit.Hist["loss"]) != 50 || string(viaGit.Art) != "weights\n" {
		t.Fatalf("read %+v", viaGit)
	}
	if _, err := os.Stat(filepath.Join(dir, ".git", "objects", "pack")); err != nil {
		t.Fatal(err)
	}
}

// mustHash returns the hash of a blob as a commit to read: the wrong type.
func mustHash(t *testing.T, _ []run.ArtifactInfo) plumbing.Hash {
	return plumbing.ComputeHash(plumbing.BlobObject, []byte("weights\n"))
}
