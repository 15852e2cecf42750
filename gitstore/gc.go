package gitstore

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// timeNow is replaced in tests.
var timeNow = time.Now

const (
	defaultGCAuto      = 6700 // git's default gc.auto
	defaultGCPackLimit = 50   // git's default gc.autoPackLimit

	// gcInterval keeps a process from starting gc again and again while
	// git decides there is nothing it may do (for example when the loose
	// objects are unreachable but too recent to prune).
	gcInterval = time.Minute
)

// gcState remembers the last background gc this Repo started.
type gcState struct {
	mu      sync.Mutex
	wrote   bool // runs were saved: Close checks whether gc is due
	running bool
	last    time.Time
	checked time.Time // when the loose objects were last counted
}

// gcCheckInterval spaces out the counting of loose objects in a process
// that finishes many runs: a few hundred objects more or less do not
// change git's answer.
const gcCheckInterval = time.Second

// sweepSlack is how many times git's thresholds the loose objects may
// reach while a process goes on writing runs (a sweep recording thousands
// in a row) before it starts git gc: gc competes with the sweep for the
// disk and the CPU, so it waits for Close, when the writing is done, unless
// the repository grows that far.
const sweepSlack = 4

// MaybeGC starts `git gc --auto` in the background when the repository
// has more loose objects or packs than git's gc.auto and gc.autoPackLimit
// allow, estimated the way git does (by counting objects/17), times
// sweepSlack: Close checks again with git's own thresholds. It never waits
// for git: gc runs detached in its own session, and outlives the caller
// if need be. When nothing is needed the check costs one or two directory
// reads.
func (r *Repo) MaybeGC() { r.maybeGC(sweepSlack) }

func (r *Repo) maybeGC(slack int) {
	r.gc.mu.Lock()
	now := timeNow()
	recent := !r.gc.checked.IsZero() && now.Sub(r.gc.checked) < gcCheckInterval
	if !recent {
		r.gc.checked = now
	}
	r.gc.mu.Unlock()
	if recent || !r.needGC(slack) {
		return
	}
	r.gc.mu.Lock()
	defer r.gc.mu.Unlock()
	if r.gc.running || timeNow().Sub(r.gc.last) < gcInterval {
		return
	}
	if CheckGit() != nil {
		return
	}
	dir := r.WorkTree
	if dir == "" {
		dir = r.GitDir
	}
	cmd := exec.Command("git", "gc", "--auto", "--quiet")
	cmd.Dir = dir
	cmd.Env = r.gitEnv()
	// A new session: a Ctrl-C meant for the caller must not interrupt gc.
	// Standard streams stay nil, which os/exec connects to the null device.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return
	}
	r.gc.running = true
	r.gc.last = timeNow()
	go func() {
		// Reap the child so that it does not linger as a zombie.
		_ = cmd.Wait()
		r.gc.mu.Lock()
		r.gc.running = false
		r.gc.mu.Unlock()
	}()
}

// needGC applies git's gc --auto thresholds, the one for loose objects
// times slack. A repository with almost nothing loose and at most one
// pack needs no gc whatever the config says, and is told so without
// asking git for it.
func (r *Repo) needGC(slack int) bool {
	loose := countLoose(filepath.Join(r.CommonDir, "objects", "17"))
	packs := countPacks(filepath.Join(r.CommonDir, "objects", "pack"))
	if loose <= 1 && packs <= 1 {
		return false
	}
	auto := r.configInt("gc.auto", defaultGCAuto)
	if auto <= 0 {
		return false
	}
	// Object names are uniformly distributed, so one fan-out directory
	// in 256 tells how many loose objects there are.
	if loose > slack*((auto+255)/256) {
		return true
	}
	packLimit := r.configInt("gc.autoPackLimit", defaultGCPackLimit)
	return packLimit > 0 && packs > packLimit
}

func countLoose(dir string) int {
	f, err := os.Open(dir)
	if err != nil {
		return 0
	}
	defer f.Close()
	names, _ := f.Readdirnames(-1)
	n := 0
	for _, name := range names {
		var b [19]byte
		if decodeHex(b[:], name) {
			n++
		}
	}
	return n
}

// countPacks counts the packs gc would consider: not those kept by a .keep
// file.
func countPacks(dir string) int {
	f, err := os.Open(dir)
	if err != nil {
		return 0
	}
	defer f.Close()
	names, _ := f.Readdirnames(-1)
	keep := make(map[string]bool)
	for _, name := range names {
		if base, ok := strings.CutSuffix(name, ".keep"); ok {
			keep[base] = true
		}
	}
	n := 0
	for _, name := range names {
		if base, ok := strings.CutSuffix(name, ".pack"); ok && !keep[base] {
			n++
		}
	}
	return n
}

// configInt reads an integer option with git's k, m and g suffixes.
func (r *Repo) configInt(key string, def int) int {
	v, ok := r.config(key)
	if !ok {
		return def
	}
	v = strings.ToLower(strings.TrimSpace(v))
	mult := 1
	switch {
	case strings.HasSuffix(v, "k"):
		mult, v = 1<<10, v[:len(v)-1]
	case strings.HasSuffix(v, "m"):
		mult, v = 1<<20, v[:len(v)-1]
	case strings.HasSuffix(v, "g"):
		mult, v = 1<<30, v[:len(v)-1]
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		return def
	}
	return n * mult
}
