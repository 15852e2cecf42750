package gitstore

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/go-git/go-git/v5/plumbing"
)

// Reading one object of a big pack through go-git costs what the pack
// holds: to read a packed object, go-git maps every offset in the pack to
// its hash first (idxfile.MemoryIndex.FindHash), 0.2 s for the pack of
// 100,000 runs and seconds for a million. git's own cat-file reads one in
// well under a millisecond once started. So when the packs' indexes are
// big, objects are read through one `git cat-file --batch` that the Repo
// keeps for its lifetime; small repositories, where starting git would
// cost more than go-git's map, keep reading through go-git.

// catFileMinIdx is the total size of pack indexes from which objects are
// read through git cat-file: about 35,000 objects, whose offset map
// costs go-git some 15 ms, three times what starting git does.
var catFileMinIdx int64 = 1 << 20

// catFile is a running `git cat-file --batch`.
type catFile struct {
	mu   sync.Mutex
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	dead bool
}

// bigPacks tells whether the packs' indexes are big enough to read
// objects through git cat-file.
func (r *Repo) bigPacks() bool {
	r.catOnce.Do(func() {
		var total int64
		for _, n := range strings.Split(r.packNames(), "\n") {
			if n == "" {
				continue
			}
			if fi, err := os.Stat(filepath.Join(r.CommonDir, "objects", "pack", n)); err == nil {
				total += fi.Size()
			}
		}
		r.catBig = total >= catFileMinIdx && CheckGit() == nil
	})
	return r.catBig
}

// errCatFile means the cat-file process could not answer; the caller
// reads through go-git instead.
var errCatFile = errors.New("git cat-file failed")

// catObject reads object h through git cat-file: its type and content,
// or only its type and size when the content is over max bytes (max < 0:
// any size), which is then read and dropped unkept.
func (r *Repo) catObject(h plumbing.Hash, max int64) (t plumbing.ObjectType, size int64, data []byte, err error) {
	c := r.catProcess()
	if c == nil {
		return 0, 0, nil, errCatFile
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.dead {
		return 0, 0, nil, errCatFile
	}
	fail := func(e error) (plumbing.ObjectType, int64, []byte, error) {
		c.dead = true
		c.in.Close()
		return 0, 0, nil, fmt.Errorf("%w: %v", errCatFile, e)
	}
	if _, err := io.WriteString(c.in, h.String()+"\n"); err != nil {
		return fail(err)
	}
	header, err := c.out.ReadString('\n')
	if err != nil {
		return fail(err)
	}
	f := strings.Fields(header)
	if len(f) == 2 && f[1] == "missing" {
		return 0, 0, nil, plumbing.ErrObjectNotFound
	}
	if len(f) != 3 || f[0] != h.String() {
		return fail(fmt.Errorf("unexpected answer %q", header))
	}
	if t, err = plumbing.ParseObjectType(f[1]); err != nil {
		return fail(err)
	}
	if size, err = strconv.ParseInt(f[2], 10, 64); err != nil || size < 0 {
		return fail(fmt.Errorf("unexpected answer %q", header))
	}
	if max >= 0 && size > max {
		if _, err := io.CopyN(io.Discard, c.out, size+1); err != nil {
			return fail(err)
		}
		return t, size, nil, nil
	}
	data = make([]byte, size+1)
	if _, err := io.ReadFull(c.out, data); err != nil {
		return fail(err)
	}
	return t, size, data[:size], nil
}

// catProcess returns the Repo's cat-file process, starting it on first
// use; nil when it cannot run.
func (r *Repo) catProcess() *catFile {
	r.catMu.Lock()
	defer r.catMu.Unlock()
	if r.cat != nil && !r.cat.dead {
		return r.cat
	}
	cmd := exec.Command("git", "cat-file", "--batch")
	cmd.Dir = r.gitCwd()
	cmd.Env = r.gitEnv()
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil
	}
	if err := cmd.Start(); err != nil {
		return nil
	}
	r.cat = &catFile{cmd: cmd, in: in, out: bufio.NewReaderSize(out, 64<<10)}
	return r.cat
}

// closeCat ends the cat-file process, if one runs.
func (r *Repo) closeCat() {
	r.catMu.Lock()
	c := r.cat
	r.cat = nil
	r.catMu.Unlock()
	if c == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.in.Close()
	c.cmd.Wait()
}
