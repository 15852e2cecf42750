package gitstore

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadWhilePackIsWritten reads while a repack is half done: git has
// written a new pack file but not yet its index. git itself does not see
// such a pack yet; a read here must not fail on it, neither then nor
// after the pack is complete (go-git would fail the read and keep a half
// loaded index of packs, failing every later read of a packed object).
func TestReadWhilePackIsWritten(t *testing.T) {
	dir := newRepoWithCommit(t)
	git(t, dir, "gc", "--quiet")
	head := strings.TrimSpace(git(t, dir, "rev-parse", "HEAD"))
	packDir := filepath.Join(dir, ".git", "objects", "pack")
	packs, err := filepath.Glob(filepath.Join(packDir, "pack-*.pack"))
	if err != nil || len(packs) != 1 {
		t.Fatalf("packs after gc: %v %v", packs, err)
	}
	data, err := os.ReadFile(packs[0])
	if err != nil {
		t.Fatal(err)
	}
	// The pack being written, named as git names packs, without its index.
	const inFlight = "pack-0123456789abcdef0123456789abcdef01234567"
	writeFile(t, filepath.Join(packDir, inFlight+".pack"), string(data))

	r := openRepo(t, dir)
	h, err := parseHash(head)
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if _, err := r.ReadCommit(h); err != nil {
			t.Fatalf("read %d while a pack has no index: %v", i, err)
		}
	}
	// The repack finishes: the old pack goes, the new one is complete.
	idx := strings.TrimSuffix(packs[0], ".pack") + ".idx"
	b, err := os.ReadFile(idx)
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(packDir, inFlight+".idx"), string(b))
	os.Remove(packs[0])
	os.Remove(idx)
	if _, err := r.ReadCommit(h); err != nil {
		t.Fatalf("read after the repack: %v", err)
	}
}
