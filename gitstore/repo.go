package gitstore

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/osfs"
	"github.com/go-git/go-git/v5/plumbing/cache"
	"github.com/go-git/go-git/v5/plumbing/format/config"
	"github.com/go-git/go-git/v5/storage/filesystem"

	"github.com/gitruns/gitruns/run/index"
)

// objectCacheSize bounds go-git's cache of decoded objects. It mostly holds
// delta bases while reading packs; run records are small, so a few MiB give
// the benefit without go-git's default 96 MiB.
const objectCacheSize = 8 * cache.MiByte

// storageOptions are the go-git storage options. ExclusiveAccess is left off
// on purpose: it caches the list of loose objects and packs, so objects
// written by git or another git-runs process become invisible, and every
// write of ours empties the cache so that the next read lists all 256 fan-out
// directories again (see BenchmarkReadPacked for the measurement).
var storageOptions = filesystem.Options{KeepDescriptors: true}

// Repo is an open repository.
type Repo struct {
	WorkTree  string // absolute top of the work tree; "" for a bare repository
	GitDir    string // absolute per-worktree git dir (HEAD, index live here)
	CommonDir string // absolute common dir: objects, refs, packed-refs, config (== GitDir except in linked worktrees)

	// Warn, when set, is told what the repository did on its own that
	// the user should know of, such as removing a lock file left by a
	// process that died.
	Warn func(error)

	// repoConfigs holds the per-worktree config (when extensions.worktreeConfig
	// is on) and the repository config, highest precedence first.
	repoConfigs []*config.Config

	// objMu serialises use of the go-git storage, which is not safe for
	// concurrent use.
	objMu    sync.Mutex
	storage  *filesystem.Storage
	packs    string // pack files present when storage was opened
	objCache cache.Object

	refsMu sync.Mutex
	packed *packedRefs // last packed-refs file read, reused while unchanged

	// idx is the run index last found current; those it replaced stay
	// mapped, as callers may still hold their rows.
	idxMu  sync.Mutex
	idx    *openedIndex
	idxOld []*index.Index

	// cat reads objects when the packs are big (see catfile.go).
	catOnce sync.Once
	catBig  bool
	catMu   sync.Mutex
	cat     *catFile

	preMu sync.Mutex
	pre   *preparedData // see Prepare

	vars varsState // see gitVars

	gc gcState

	exps experimentCache // see Experiments
}

// Open finds the repository that contains dir the way git does and opens it.
// GIT_DIR and GIT_WORK_TREE are honoured when set; otherwise dir and its
// parents are searched for a .git directory or file, or for a directory that
// is itself a git directory (a bare repository), stopping below any
// directory named in GIT_CEILING_DIRECTORIES. Where git would use its current
// directory (GIT_DIR set without a work tree), dir takes its place.
func Open(dir string) (*Repo, error) {
	if dir == "" {
		dir = "."
	}
	start, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("open repository %s: %w", dir, err)
	}
	if real, err := filepath.EvalSymlinks(start); err == nil {
		start = real
	} else {
		return nil, fmt.Errorf("open repository: %w", err)
	}

	loc, err := locate(start)
	if err != nil {
		return nil, err
	}
	r := &Repo{GitDir: loc.gitDir, CommonDir: loc.commonDir}

	cfg, err := readConfigFile(filepath.Join(r.CommonDir, "config"))
	if err != nil {
		return nil, err
	}
	if cfg == nil {
		cfg = config.New()
	}
	if err := checkFormat(cfg); err != nil {
		return nil, err
	}
	r.repoConfigs = []*config.Config{cfg}
	if b, _ := parseBool(lookup(r.repoConfigs, "extensions", "worktreeconfig")); b {
		wcfg, err := readConfigFile(filepath.Join(r.GitDir, "config.worktree"))
		if err != nil {
			return nil, err
		}
		if wcfg != nil {
			r.repoConfigs = []*config.Config{wcfg, cfg}
		}
	}
	r.WorkTree, err = r.workTree(loc, start)
	if err != nil {
		return nil, err
	}

	r.objCache = cache.NewObjectLRU(objectCacheSize)
	r.openStorage()
	return r, nil
}

// Close releases the pack files held open. Refs can still be used after
// Close; objects cannot.
func (r *Repo) Close() error {
	r.closeCat()
	r.gc.mu.Lock()
	wrote := r.gc.wrote
	r.gc.wrote, r.gc.checked = false, time.Time{}
	r.gc.mu.Unlock()
	if wrote {
		r.maybeGC(1) // the writing is done: git's housekeeping is due now if ever
	}
	r.objMu.Lock()
	defer r.objMu.Unlock()
	if r.storage == nil {
		return nil
	}
	err := r.storage.Close()
	r.storage = nil
	if err != nil {
		return fmt.Errorf("close repository: %w", err)
	}
	return nil
}

// privateDir is where git-runs keeps its own files (journals, cache). It is
// inside the common dir so that every worktree shares it, and git ignores
// it. Callers create it on demand.
func (r *Repo) privateDir() string {
	return filepath.Join(r.CommonDir, "runs")
}

// location is where discovery found the repository.
type location struct {
	gitDir, commonDir string
	// dotGitIn is the directory holding the .git that was found; "" when
	// the git dir came from GIT_DIR or was found as a directory by itself.
	dotGitIn string
	fromEnv  bool
}

func locate(start string) (location, error) {
	if gd := os.Getenv("GIT_DIR"); gd != "" {
		// Like git, a relative GIT_DIR is relative to the process's
		// directory, not to dir.
		abs, err := filepath.Abs(gd)
		if err != nil {
			return location{}, fmt.Errorf("open repository %s: %w", gd, err)
		}
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		common, ok := gitDirCommon(abs)
		if !ok {
			return location{}, fmt.Errorf("not a git repository: %s", gd)
		}
		return location{gitDir: abs, commonDir: common, fromEnv: true}, nil
	}

	ceilings := ceilingDirs()
	d := start
	for {
		dotGit := filepath.Join(d, ".git")
		if fi, err := os.Stat(dotGit); err == nil {
			gitDir := dotGit
			if fi.Mode().IsRegular() {
				gitDir, err = readGitFile(dotGit)
				if err != nil {
					return location{}, err
				}
			}
			if common, ok := gitDirCommon(gitDir); ok {
				return location{gitDir: gitDir, commonDir: common, dotGitIn: d}, nil
			}
			if fi.Mode().IsRegular() {
				return location{}, fmt.Errorf("not a git repository: %s", gitDir)
			}
		}
		if common, ok := gitDirCommon(d); ok {
			return location{gitDir: d, commonDir: common}, nil
		}
		parent := filepath.Dir(d)
		if parent == d || ceilings[parent] {
			return location{}, fmt.Errorf("not a git repository (or any parent up to %s): %s", d, start)
		}
		d = parent
	}
}

// ceilingDirs reads GIT_CEILING_DIRECTORIES. Relative entries are ignored,
// as git ignores them.
func ceilingDirs() map[string]bool {
	v := os.Getenv("GIT_CEILING_DIRECTORIES")
	if v == "" {
		return nil
	}
	m := make(map[string]bool)
	for _, p := range filepath.SplitList(v) {
		if !filepath.IsAbs(p) {
			continue
		}
		p = filepath.Clean(p)
		m[p] = true
		if real, err := filepath.EvalSymlinks(p); err == nil {
			m[real] = true
		}
	}
	return m
}

// readGitFile follows a .git file ("gitdir: <path>"), as found in linked
// worktrees and submodules.
func readGitFile(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	rest, ok := bytes.CutPrefix(b, []byte("gitdir: "))
	if !ok {
		return "", fmt.Errorf("read %s: invalid gitfile format", path)
	}
	target := strings.TrimRight(string(rest), "\r\n")
	if !filepath.IsAbs(target) {
		target = filepath.Join(filepath.Dir(path), target)
	}
	if real, err := filepath.EvalSymlinks(target); err == nil {
		target = real
	}
	return filepath.Clean(target), nil
}

// gitDirCommon reports whether d looks like a git directory the way git
// decides it (a HEAD file, objects/ and refs/ in the common dir) and returns
// its common dir.
func gitDirCommon(d string) (string, bool) {
	fi, err := os.Stat(filepath.Join(d, "HEAD"))
	if err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	common := d
	if b, err := os.ReadFile(filepath.Join(d, "commondir")); err == nil {
		c := strings.TrimRight(string(b), "\r\n")
		if !filepath.IsAbs(c) {
			c = filepath.Join(d, c)
		}
		if real, err := filepath.EvalSymlinks(c); err == nil {
			c = real
		}
		common = filepath.Clean(c)
	}
	for _, sub := range []string{"objects", "refs"} {
		fi, err := os.Stat(filepath.Join(common, sub))
		if err != nil || !fi.IsDir() {
			return "", false
		}
	}
	return common, true
}

// workTree decides the work tree with git's precedence: GIT_WORK_TREE, then
// the directory holding .git, then core.worktree, then (GIT_DIR without a
// work tree) the starting directory, unless the repository is bare.
func (r *Repo) workTree(loc location, start string) (string, error) {
	if wt := os.Getenv("GIT_WORK_TREE"); wt != "" {
		abs, err := filepath.Abs(wt)
		if err != nil {
			return "", fmt.Errorf("open work tree %s: %w", wt, err)
		}
		if real, err := filepath.EvalSymlinks(abs); err == nil {
			abs = real
		}
		return abs, nil
	}
	bare, _ := parseBool(lookup(r.repoConfigs, "core", "bare"))
	if loc.dotGitIn != "" {
		if bare {
			return "", nil
		}
		return loc.dotGitIn, nil
	}
	if wt := lookup(r.repoConfigs, "core", "worktree"); wt != "" {
		if !filepath.IsAbs(wt) {
			wt = filepath.Join(r.GitDir, wt)
		}
		if real, err := filepath.EvalSymlinks(wt); err == nil {
			wt = real
		}
		return filepath.Clean(wt), nil
	}
	if loc.fromEnv && !bare {
		return start, nil
	}
	return "", nil
}

// knownExtensions are the repository extensions whose meaning does not
// change how this package reads or writes: none of them alters the object
// or ref formats.
var knownExtensions = map[string]bool{
	"noop":            true,
	"worktreeconfig":  true,
	"preciousobjects": true, // we never delete objects
	"partialclone":    true, // missing objects read as absent
}

// checkFormat refuses repositories whose objects or refs this package
// cannot handle, before anything is read or written in them.
func checkFormat(cfg *config.Config) error {
	version := 0
	if v := cfg.Section("core").Option("repositoryformatversion"); v != "" {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("repository has invalid core.repositoryformatversion %q", v)
		}
		version = n
	}
	if version > 1 {
		return fmt.Errorf("repository format version %d is newer than git-runs can read", version)
	}
	if !cfg.HasSection("extensions") {
		return nil
	}
	for _, o := range cfg.Section("extensions").Options {
		key := strings.ToLower(o.Key)
		switch {
		case knownExtensions[key]:
			continue
		case key == "objectformat" && strings.EqualFold(o.Value, "sha1"):
			continue
		case version == 0 && key != "objectformat" && key != "refstorage":
			// git itself ignores unknown extensions in version 0
			// repositories.
			continue
		}
		return fmt.Errorf("repository uses extensions.%s = %s, which git-runs cannot read yet", key, o.Value)
	}
	return nil
}

// readConfigFile parses one git config file; a missing file gives nil and
// no error. Include directives are not followed.
func readConfigFile(path string) (*config.Config, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	defer f.Close()
	cfg := config.New()
	if err := config.NewDecoder(f).Decode(cfg); err != nil {
		return nil, fmt.Errorf("read config %s: %w", path, err)
	}
	return cfg, nil
}

// lookup returns the value of section.key (no subsection) from the first
// config that sets it.
func lookup(cfgs []*config.Config, section, key string) string {
	v, _ := lookupOK(cfgs, section, key)
	return v
}

func lookupOK(cfgs []*config.Config, section, key string) (string, bool) {
	for _, c := range cfgs {
		if c == nil {
			continue
		}
		// Later sections of the same name win, as in git.
		for i := len(c.Sections) - 1; i >= 0; i-- {
			s := c.Sections[i]
			if !s.IsName(section) {
				continue
			}
			for j := len(s.Options) - 1; j >= 0; j-- {
				if s.Options[j].IsKey(key) {
					return s.Options[j].Value, true
				}
			}
		}
	}
	return "", false
}

// parseBool reads a git boolean; a key given without a value is true.
func parseBool(s string) (value, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "yes", "on", "1":
		return true, true
	case "false", "no", "off", "0", "":
		return false, s != ""
	}
	return false, false
}

// openStorage (re)creates the go-git storage. Callers hold objMu or own r
// exclusively.
func (r *Repo) openStorage() {
	opts := storageOptions
	// go-git resolves absolute alternates (clone --shared, --reference)
	// against this file system.
	opts.AlternatesFS = osfs.New("/")
	r.storage = filesystem.NewStorageWithOptions(packFS{osfs.New(r.CommonDir)}, r.objCache, opts)
	r.packs = r.packNames()
}

// packFS is the repository's file system as go-git reads objects from
// it, with git's view of packs: a pack whose index is not written yet (a
// repack under way) is not there yet. go-git would otherwise fail every
// read of a packed object until the index appears.
type packFS struct{ billy.Filesystem }

func (f packFS) ReadDir(p string) ([]os.FileInfo, error) {
	infos, err := f.Filesystem.ReadDir(p)
	if err != nil || filepath.ToSlash(filepath.Clean(p)) != "objects/pack" {
		return infos, err
	}
	idx := map[string]bool{}
	for _, fi := range infos {
		if base, ok := strings.CutSuffix(fi.Name(), ".idx"); ok {
			idx[base] = true
		}
	}
	out := infos[:0]
	for _, fi := range infos {
		if base, ok := strings.CutSuffix(fi.Name(), ".pack"); !ok || idx[base] {
			out = append(out, fi)
		}
	}
	return out, nil
}

// packNames lists the packs, to tell when an outside git gc or repack has
// changed them.
func (r *Repo) packNames() string {
	f, err := os.Open(filepath.Join(r.CommonDir, "objects", "pack"))
	if err != nil {
		return ""
	}
	defer f.Close()
	names, _ := f.Readdirnames(-1)
	packs := names[:0]
	for _, n := range names {
		// A pack is there for readers once its index is: git writes the
		// index last.
		if strings.HasSuffix(n, ".idx") {
			packs = append(packs, n)
		}
	}
	sort.Strings(packs)
	return strings.Join(packs, "\n")
}

var errClosed = errors.New("repository is closed")

func (r *Repo) warn(err error) {
	if r.Warn != nil {
		r.Warn(err)
	}
}

// readAttempts bounds how often a read is tried again, on storage opened
// anew, while git repacks: git does the same (it re-scans the packs when
// an object is missing), and a repack in progress can move an object
// from a loose file into a pack, or from one pack to another, between
// any two steps of a read.
const readAttempts = 8

// withStorage runs fn on the go-git storage. go-git never notices packs
// that another process created or removed, and a failed read can leave
// its index of packs half loaded, so when fn fails the storage is opened
// anew and fn tried again: at least once, then for as long as the packs
// keep changing under it, up to readAttempts. A read of an object that
// is truly missing costs one reopening and a directory read.
func (r *Repo) withStorage(fn func(st *filesystem.Storage) error) error {
	r.objMu.Lock()
	defer r.objMu.Unlock()
	if r.storage == nil {
		return errClosed
	}
	err := fn(r.storage)
	for attempt := 0; err != nil && attempt < readAttempts; attempt++ {
		before := r.packs
		_ = r.storage.Close()
		r.openStorage()
		if attempt > 0 && r.packs == before {
			break // the packs stand still: the error is real
		}
		if attempt > 0 {
			backoff(attempt - 1)
		}
		err = fn(r.storage)
	}
	return err
}
