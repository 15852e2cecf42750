package gitstore

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gitruns/gitruns/run"
)

// codeRepo makes a repository whose one commit holds every kind of tree
// entry: files, an executable, a symbolic link, a submodule, and a
// directory named so that git's order differs from plain name order ("a"
// sorts as "a/", after "a.txt").
func codeRepo(t *testing.T) (dir, commit string) {
	t.Helper()
	dir = newRepo(t)
	writeFile(t, filepath.Join(dir, "a.txt"), "a\n")
	writeFile(t, filepath.Join(dir, "a-b"), "")
	writeFile(t, filepath.Join(dir, "a", "deep", "f.txt"), "deep\n")
	writeFile(t, filepath.Join(dir, "run.sh"), "#!/bin/sh\necho\n")
	if err := os.Chmod(filepath.Join(dir, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "bin"), "\x00\x01\x02")
	if err := os.Symlink("a.txt", filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	git(t, dir, "add", "-A")
	git(t, dir, "update-index", "--add", "--cacheinfo", "160000,"+strings.Repeat("5", 40)+",sub")
	git(t, dir, "commit", "-q", "-m", "code")
	return dir, git(t, dir, "rev-parse", "HEAD")
}

// gitRaw runs git in dir and returns its standard output untrimmed, for
// comparing content byte for byte.
func gitRaw(t *testing.T, dir string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return stdout.Bytes()
}

// lsTreeEntries is git's listing of tree, in its order.
func lsTreeEntries(t *testing.T, dir, tree string) []run.CodeEntry {
	t.Helper()
	var entries []run.CodeEntry
	for _, rec := range strings.Split(string(gitRaw(t, dir, "ls-tree", "-z", tree)), "\x00") {
		meta, name, ok := strings.Cut(rec, "\t")
		if !ok {
			continue
		}
		f := strings.Fields(meta) // mode, type, id
		mode, err := strconv.ParseUint(f[0], 8, 32)
		if err != nil {
			t.Fatal(err)
		}
		entries = append(entries, run.CodeEntry{Name: name, Mode: uint32(mode), ID: f[2]})
	}
	return entries
}

// invalidIDs are ids that no object can have: Code methods must refuse
// them without saying they were not found.
var invalidIDs = []string{"", "HEAD", "main", "abc", strings.Repeat("a", 39), strings.Repeat("a", 41), strings.Repeat("g", 40)}

// missingID is a valid id of no object in the tests' repositories.
var missingID = strings.Repeat("0123456789", 4)

func TestCodeTree(t *testing.T) {
	dir, commit := codeRepo(t)
	r := openRepo(t, dir)
	want := git(t, dir, "rev-parse", commit+"^{tree}")
	for _, id := range []string{commit, strings.ToUpper(commit)} {
		if got, err := r.CodeTree(id); err != nil || got != want {
			t.Errorf("CodeTree(%s) = %s, %v; want %s", id, got, err, want)
		}
	}
	blob := git(t, dir, "rev-parse", commit+":a.txt")
	for _, id := range []string{missingID, want, blob} {
		if _, err := r.CodeTree(id); !errors.Is(err, run.ErrNotFound) {
			t.Errorf("CodeTree(%s): %v, want an error wrapping run.ErrNotFound", id, err)
		}
	}
	for _, id := range invalidIDs {
		if _, err := r.CodeTree(id); err == nil || errors.Is(err, run.ErrNotFound) {
			t.Errorf("CodeTree(%q): %v, want an error that is not run.ErrNotFound", id, err)
		}
	}
}

func TestCodeEntries(t *testing.T) {
	dir, commit := codeRepo(t)
	r := openRepo(t, dir)
	root := git(t, dir, "rev-parse", commit+"^{tree}")
	check := func(when string) {
		t.Helper()
		for _, tree := range []string{root, git(t, dir, "rev-parse", commit+":a"), git(t, dir, "rev-parse", commit+":a/deep")} {
			got, err := r.CodeEntries(tree)
			if err != nil {
				t.Fatalf("%s: CodeEntries(%s): %v", when, tree, err)
			}
			if want := lsTreeEntries(t, dir, tree); !reflect.DeepEqual(got, want) {
				t.Errorf("%s: CodeEntries(%s) =\n%v\ngit ls-tree says\n%v", when, tree, got, want)
			}
		}
	}
	check("loose")

	// Every mode, and git's order rather than the names' order.
	entries, _ := r.CodeEntries(root)
	var names []string
	modes := map[string]uint32{}
	for _, e := range entries {
		names = append(names, e.Name)
		modes[e.Name] = e.Mode
	}
	if want := []string{"a-b", "a.txt", "a", "bin", "link", "run.sh", "sub"}; !reflect.DeepEqual(names, want) {
		t.Errorf("root entries %v, want %v", names, want)
	}
	wantModes := map[string]uint32{"a-b": 0o100644, "a.txt": 0o100644, "a": 0o040000, "bin": 0o100644, "link": 0o120000, "run.sh": 0o100755, "sub": 0o160000}
	for name, want := range wantModes {
		if modes[name] != want {
			t.Errorf("%s has mode %o, want %o", name, modes[name], want)
		}
	}

	git(t, dir, "gc", "-q")
	check("packed")

	for _, id := range []string{missingID, commit, git(t, dir, "rev-parse", commit+":a.txt")} {
		if _, err := r.CodeEntries(id); !errors.Is(err, run.ErrNotFound) {
			t.Errorf("CodeEntries(%s): %v, want an error wrapping run.ErrNotFound", id, err)
		}
	}
	for _, id := range invalidIDs {
		if _, err := r.CodeEntries(id); err == nil || errors.Is(err, run.ErrNotFound) {
			t.Errorf("CodeEntries(%q): %v, want an error that is not run.ErrNotFound", id, err)
		}
	}
}

func TestCodeBlob(t *testing.T) {
	dir, commit := codeRepo(t)
	r := openRepo(t, dir)
	blobs := map[string]string{} // path → id
	for _, p := range []string{"a.txt", "a-b", "a/deep/f.txt", "run.sh", "bin", "link"} {
		blobs[p] = git(t, dir, "rev-parse", commit+":"+p)
	}
	for p, id := range blobs {
		got, err := r.CodeBlob(id)
		if err != nil {
			t.Errorf("CodeBlob(%s) for %s: %v", id, p, err)
			continue
		}
		if want := gitRaw(t, dir, "cat-file", "blob", id); !bytes.Equal(got, want) {
			t.Errorf("CodeBlob of %s = %q, git cat-file says %q", p, got, want)
		}
	}
	if got, _ := r.CodeBlob(blobs["link"]); string(got) != "a.txt" {
		t.Errorf("the link's blob holds %q, want its target a.txt", got)
	}

	// The diff reads blobs from several goroutines at once.
	want := map[string][]byte{}
	for _, id := range blobs {
		want[id] = gitRaw(t, dir, "cat-file", "blob", id)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for p, id := range blobs {
				if got, err := r.CodeBlob(id); err != nil || !bytes.Equal(got, want[id]) {
					t.Errorf("concurrent CodeBlob of %s = %q, %v", p, got, err)
				}
			}
		})
	}
	wg.Wait()

	tree := git(t, dir, "rev-parse", commit+"^{tree}")
	for _, id := range []string{missingID, tree, commit, strings.Repeat("5", 40)} {
		if _, err := r.CodeBlob(id); !errors.Is(err, run.ErrNotFound) {
			t.Errorf("CodeBlob(%s): %v, want an error wrapping run.ErrNotFound", id, err)
		}
	}
	for _, id := range invalidIDs {
		if _, err := r.CodeBlob(id); err == nil || errors.Is(err, run.ErrNotFound) {
			t.Errorf("CodeBlob(%q): %v, want an error that is not run.ErrNotFound", id, err)
		}
	}
}
