package gitstore

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/go-git/go-git/v5/plumbing"
	"golang.org/x/sys/unix"
)

// Ref is a ref name and the object it points to.
type Ref struct {
	Name string
	Hash plumbing.Hash
}

// ErrRefChanged is wrapped by UpdateRef and DeleteRef errors when the ref
// does not hold the expected old value: another writer got there first.
var ErrRefChanged = errors.New("ref changed")

// AnyHash, given as the old hash to UpdateRef or DeleteRef, skips the
// compare-and-swap check. It is not a valid object id.
var AnyHash = plumbing.Hash{
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
}

// refLockTimeout and packedLockTimeout follow git's defaults for
// core.filesRefLockTimeout and core.packedRefsTimeout. Variables only so
// that a test can wait for a lock without racing the clock.
var (
	refLockTimeout    = 100 * time.Millisecond
	packedLockTimeout = time.Second
)

const (

	// brokenRefAttempts bounds how often a read that meets an empty or
	// partial loose ref is retried: git never leaves one (it renames a
	// complete lock file into place), but other tools write in place.
	brokenRefAttempts = 5

	// symrefDepth bounds chains of symbolic refs, as git does.
	symrefDepth = 5
)

// brokenRefError reports a loose ref file whose content is not a ref.
type brokenRefError struct {
	name    string
	content string
}

func (e *brokenRefError) Error() string {
	return fmt.Sprintf("broken ref %s: content %q", e.name, e.content)
}

// lockedError reports a lock file held by someone else. It wraps
// fs.ErrExist so that callers can tell contention from other failures.
type lockedError struct {
	what, lock string
}

func (e *lockedError) Error() string {
	return fmt.Sprintf("lock %s: %s exists: another git process holds it, or one that died left it (git-runs takes over a lock nobody holds once it is %s old)", e.what, e.lock, staleLockAge)
}

func (e *lockedError) Unwrap() error { return fs.ErrExist }

// ReadRef returns the object a ref points to, from its loose file if there
// is one and from packed-refs otherwise, following symbolic refs. The error
// wraps errNotFound when the ref does not exist.
func (r *Repo) ReadRef(name string) (plumbing.Hash, error) {
	if err := checkRefName(name); err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read ref %s: %w", name, err)
	}
	h, err := r.resolveRef(name, 0)
	if err != nil {
		return plumbing.ZeroHash, fmt.Errorf("read ref %s: %w", name, err)
	}
	return h, nil
}

func (r *Repo) resolveRef(name string, depth int) (plumbing.Hash, error) {
	if depth > symrefDepth {
		return plumbing.ZeroHash, errors.New("too many levels of symbolic refs")
	}
	var buf [256]byte
	for attempt := 0; ; attempt++ {
		h, target, err := readLooseRef(r.refPath(name), name, buf[:])
		var broken *brokenRefError
		switch {
		case errors.As(err, &broken) && attempt < brokenRefAttempts:
			backoff(attempt)
			continue
		case isMissing(err):
			// Read packed-refs only now: git writes it before deleting
			// the loose files it packed.
			p, err := r.loadPacked()
			if err != nil {
				return plumbing.ZeroHash, err
			}
			if i := p.find(name); i >= 0 {
				return p.refs[i].Hash, nil
			}
			return plumbing.ZeroHash, errNotFound
		case err != nil:
			return plumbing.ZeroHash, err
		case target != "":
			return r.resolveRef(target, depth+1)
		}
		return h, nil
	}
}

func (r *Repo) refPath(name string) string {
	return filepath.Join(r.CommonDir, filepath.FromSlash(name))
}

// isMissing reports errors meaning "no loose ref here": the file or a
// parent is absent, or is a directory.
func isMissing(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EISDIR)
}

// readLooseRef reads a loose ref file into buf and parses it: either a hash
// or, for a symbolic ref, the target name.
func readLooseRef(path, name string, buf []byte) (plumbing.Hash, string, error) {
	n, err := readSmall(path, buf)
	if err != nil {
		return plumbing.ZeroHash, "", err
	}
	b := buf[:n]
	if target, ok := strings.CutPrefix(string(b), "ref:"); ok {
		target = strings.TrimSpace(target)
		if checkRefName(target) != nil {
			return plumbing.ZeroHash, "", &brokenRefError{name, string(b)}
		}
		return plumbing.ZeroHash, target, nil
	}
	var h plumbing.Hash
	if len(b) < 40 || !decodeHex(h[:], b[:40]) || (len(b) > 40 && !isSpace(b[40])) {
		return plumbing.ZeroHash, "", &brokenRefError{name, string(b)}
	}
	return h, "", nil
}

// readSmall reads the start of a file into buf with one open, one read and
// one close. Listing 10,000 loose refs is 10,000 of these, and os.Open
// would add a poller registration and io.ReadFull a second read per file.
// A ref file is far shorter than buf, so a single read returns all of it
// (a file cut short by a writer is caught by the parser and read again).
func readSmall(path string, buf []byte) (int, error) {
	var fd int
	var err error
	for {
		fd, err = syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
		if err != syscall.EINTR {
			break
		}
	}
	if err != nil {
		return 0, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer syscall.Close(fd)
	for {
		n, err := syscall.Read(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return 0, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		return n, nil
	}
}

func isSpace(c byte) bool {
	return c == ' ' || c == '\n' || c == '\t' || c == '\r'
}

// decodeHex decodes 2*len(dst) hex digits without allocating.
func decodeHex[S string | []byte](dst []byte, src S) bool {
	if len(src) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := unhex(src[2*i])
		lo, ok2 := unhex(src[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func unhex(c byte) (byte, bool) {
	switch {
	case '0' <= c && c <= '9':
		return c - '0', true
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10, true
	case 'A' <= c && c <= 'F':
		return c - 'A' + 10, true
	}
	return 0, false
}

// ListRefs lists the refs whose names start with prefix ("refs/runs/"),
// sorted by name. It is exact even while `git pack-refs --prune` moves refs
// from loose files to packed-refs: loose files are read first and
// packed-refs after, and git writes packed-refs before it deletes the loose
// files, so a ref missed on the loose side is found in packed-refs.
func (r *Repo) ListRefs(prefix string) ([]Ref, error) {
	if prefix == "" {
		prefix = "refs/"
	}
	if !strings.HasPrefix(prefix, "refs/") || strings.Contains(prefix, "..") {
		return nil, fmt.Errorf("list refs %s: prefix must start with refs/", prefix)
	}
	base := prefix[:strings.LastIndexByte(prefix, '/')+1]
	for attempt := 0; ; attempt++ {
		var loose []Ref
		var buf [256]byte
		err := r.walkLoose(base, prefix, &loose, buf[:])
		var broken *brokenRefError
		if errors.As(err, &broken) && attempt < brokenRefAttempts {
			backoff(attempt)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list refs %s: %w", prefix, err)
		}
		p, err := r.loadPacked()
		if err != nil {
			return nil, fmt.Errorf("list refs %s: %w", prefix, err)
		}
		return mergeRefs(loose, p.withPrefix(prefix)), nil
	}
}

// walkLoose collects the loose refs under dir (a ref name prefix ending in
// "/") whose names start with prefix. Files and directories that vanish
// while we read are skipped: a concurrent pack-refs has moved them to
// packed-refs, which is read afterwards.
func (r *Repo) walkLoose(dir, prefix string, out *[]Ref, buf []byte) error {
	entries, err := os.ReadDir(r.refPath(dir))
	if err != nil {
		if isMissing(err) {
			return nil
		}
		return err
	}
	for _, e := range entries {
		name := dir + e.Name()
		if e.IsDir() {
			sub := name + "/"
			if strings.HasPrefix(sub, prefix) || strings.HasPrefix(prefix, sub) {
				if err := r.walkLoose(sub, prefix, out, buf); err != nil {
					return err
				}
			}
			continue
		}
		if !strings.HasPrefix(name, prefix) || strings.HasSuffix(name, ".lock") || checkRefName(name) != nil {
			continue
		}
		h, target, err := readLooseRef(r.refPath(name), name, buf)
		if isMissing(err) {
			continue
		}
		if err != nil {
			return err
		}
		if target != "" {
			if h, err = r.resolveRef(target, 1); err != nil {
				// git skips dangling symbolic refs when listing.
				continue
			}
		}
		*out = append(*out, Ref{Name: name, Hash: h})
	}
	return nil
}

// mergeRefs merges loose refs (any order) with packed refs (sorted); a
// loose ref wins over a packed one of the same name.
func mergeRefs(loose []Ref, packed []packedRef) []Ref {
	out := make([]Ref, 0, len(loose)+len(packed))
	if len(loose) == 0 {
		for _, p := range packed {
			out = append(out, p.Ref)
		}
		return out
	}
	slices.SortFunc(loose, func(a, b Ref) int { return strings.Compare(a.Name, b.Name) })
	i, j := 0, 0
	for i < len(loose) && j < len(packed) {
		switch c := strings.Compare(loose[i].Name, packed[j].Name); {
		case c < 0:
			out = append(out, loose[i])
			i++
		case c > 0:
			out = append(out, packed[j].Ref)
			j++
		default:
			out = append(out, loose[i])
			i++
			j++
		}
	}
	out = append(out, loose[i:]...)
	for _, p := range packed[j:] {
		out = append(out, p.Ref)
	}
	return out
}

// UpdateRef points name at newHash if it currently points at oldHash, with
// git's lock-file protocol so that git and other git-runs processes see
// either the old or the new value, never a partial file. An oldHash of
// plumbing.ZeroHash means the ref must not exist yet; AnyHash skips the
// check. A lost compare-and-swap returns an error wrapping ErrRefChanged.
func (r *Repo) UpdateRef(name string, newHash, oldHash plumbing.Hash) error {
	if err := checkRefName(name); err != nil {
		return fmt.Errorf("update ref %s: %w", name, err)
	}
	if newHash.IsZero() || newHash == AnyHash {
		return fmt.Errorf("update ref %s: invalid new hash %s", name, newHash)
	}
	lock, err := r.lockRef(name)
	if err != nil {
		return err
	}
	defer lock.release()

	cur, packed, err := r.lockedValue(name)
	if err != nil {
		return fmt.Errorf("update ref %s: %w", name, err)
	}
	if err := checkOld(cur, oldHash); err != nil {
		return fmt.Errorf("update ref %s: %w", name, err)
	}
	if cur.IsZero() {
		if err := checkConflicts(packed, name); err != nil {
			return fmt.Errorf("update ref %s: %w", name, err)
		}
	}
	if err := lock.commit([]byte(newHash.String() + "\n")); err != nil {
		return fmt.Errorf("update ref %s: %w", name, err)
	}
	return nil
}

// DeleteRef deletes name if it currently points at oldHash (AnyHash: at
// anything). It follows git: packed-refs.lock is held for the whole
// deletion, even of a ref that is not packed, so that a concurrent
// `git pack-refs` cannot copy the loose ref into packed-refs behind our
// back and resurrect it; packed-refs is rewritten without the ref before
// the loose file is removed, so that no reader sees a stale packed value.
// Deleting a ref that does not exist returns an error wrapping errNotFound.
func (r *Repo) DeleteRef(name string, oldHash plumbing.Hash) error {
	if err := checkRefName(name); err != nil {
		return fmt.Errorf("delete ref %s: %w", name, err)
	}
	if oldHash.IsZero() {
		return fmt.Errorf("delete ref %s: old hash must not be zero", name)
	}
	lock, err := r.lockRef(name)
	if err != nil {
		return err
	}
	defer lock.release()
	plock, err := r.lockPacked()
	if err != nil {
		return fmt.Errorf("delete ref %s: %w", name, err)
	}
	defer plock.release()

	var buf [256]byte
	loose, target, err := readLooseRef(r.refPath(name), name, buf[:])
	switch {
	case isMissing(err):
	case err != nil:
		return fmt.Errorf("delete ref %s: %w", name, err)
	case target != "":
		return fmt.Errorf("delete ref %s: is a symbolic ref", name)
	}
	p, err := r.loadPacked()
	if err != nil {
		return fmt.Errorf("delete ref %s: %w", name, err)
	}
	packed := p.find(name)
	cur := loose
	if cur.IsZero() && packed >= 0 {
		cur = p.refs[packed].Hash
	}
	if cur.IsZero() {
		if oldHash == AnyHash {
			return fmt.Errorf("delete ref %s: %w", name, errNotFound)
		}
		return fmt.Errorf("delete ref %s: %w: %w", name, ErrRefChanged, errNotFound)
	}
	if err := checkOld(cur, oldHash); err != nil {
		return fmt.Errorf("delete ref %s: %w", name, err)
	}
	if packed >= 0 {
		e := p.refs[packed]
		if err := r.writePacked(p.raw[:e.start] + p.raw[e.end:]); err != nil {
			return fmt.Errorf("delete ref %s: %w", name, err)
		}
	}
	if !loose.IsZero() {
		if err := os.Remove(r.refPath(name)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("delete ref %s: %w", name, err)
		}
	}
	return nil
}

// lockedValue reads a ref's current value while we hold its lock; zero
// means it does not exist, and packed-refs as read to tell is returned
// with it.
func (r *Repo) lockedValue(name string) (plumbing.Hash, *packedRefs, error) {
	var buf [256]byte
	h, target, err := readLooseRef(r.refPath(name), name, buf[:])
	switch {
	case isMissing(err):
		p, err := r.loadPacked()
		if err != nil {
			return plumbing.ZeroHash, nil, err
		}
		if i := p.find(name); i >= 0 {
			return p.refs[i].Hash, p, nil
		}
		return plumbing.ZeroHash, p, nil
	case err != nil:
		return plumbing.ZeroHash, nil, err
	case target != "":
		return plumbing.ZeroHash, nil, errors.New("is a symbolic ref")
	}
	return h, nil, nil
}

func checkOld(cur, old plumbing.Hash) error {
	switch {
	case old == AnyHash, cur == old:
		return nil
	case old.IsZero():
		return fmt.Errorf("%w: exists at %s", ErrRefChanged, cur)
	case cur.IsZero():
		return fmt.Errorf("%w: %w: does not exist, expected %s", ErrRefChanged, errNotFound, old)
	}
	return fmt.Errorf("%w: is at %s, expected %s", ErrRefChanged, cur, old)
}

// checkConflicts refuses to create a ref that would clash with a packed
// ref of p, as git does: refs/runs/a and refs/runs/a/b cannot both exist.
// Clashes with loose refs surface as file-system errors.
func checkConflicts(p *packedRefs, name string) error {
	if len(p.refs) == 0 {
		return nil
	}
	for i := len("refs/"); i < len(name); i++ {
		if name[i] == '/' && p.find(name[:i]) >= 0 {
			return fmt.Errorf("conflicts with existing ref %s", name[:i])
		}
	}
	if under := p.withPrefix(name + "/"); len(under) > 0 {
		return fmt.Errorf("conflicts with existing ref %s", under[0].Name)
	}
	return nil
}

// lockPacked takes packed-refs.lock. As in git, the lock only excludes
// other writers; new content goes through packed-refs.new (writePacked).
func (r *Repo) lockPacked() (*lockFile, error) {
	lock, err := r.createLock(filepath.Join(r.CommonDir, "packed-refs"), packedLockTimeout, false)
	if errors.Is(err, fs.ErrExist) {
		return nil, &lockedError{"packed-refs", "packed-refs.lock"}
	}
	if err != nil {
		return nil, fmt.Errorf("lock packed-refs: %w", err)
	}
	return lock, nil
}

// writePacked replaces packed-refs. The caller holds packed-refs.lock,
// which makes packed-refs.new ours (git names its temporary file the
// same).
func (r *Repo) writePacked(content string) error {
	path := filepath.Join(r.CommonDir, "packed-refs")
	tmp := path + ".new"
	err := os.WriteFile(tmp, []byte(content), 0o666)
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write packed-refs: %w", err)
	}
	return nil
}

// lockFile is a held <path>.lock.
type lockFile struct {
	path string // the file the lock protects
	f    *os.File
	done bool
}

func (r *Repo) lockRef(name string) (*lockFile, error) {
	lock, err := r.createLock(r.refPath(name), refLockTimeout, true)
	if errors.Is(err, fs.ErrExist) {
		return nil, &lockedError{"ref " + name, name + ".lock"}
	}
	if err != nil {
		return nil, fmt.Errorf("lock ref %s: %w", name, err)
	}
	return lock, nil
}

// staleLockAge is how old a lock file must be, with nobody holding it,
// before it is taken for one left by a process that died while it held
// it. git holds ref locks for milliseconds; a git-runs process holds an
// flock on its lock files, which ends with the process however it dies.
var staleLockAge = 10 * time.Second

// createLock creates path+".lock" exclusively, waiting with growing random
// pauses while someone else holds it, as git does. With mkdirs, missing
// parent directories are created; a concurrent pack-refs may remove an
// empty one again before our create, hence the retries. A lock still
// there at the deadline is removed, and taken, if it is stale: older than
// staleLockAge and held by no live process.
func (r *Repo) createLock(path string, timeout time.Duration, mkdirs bool) (*lockFile, error) {
	deadline := time.Now().Add(timeout)
	for attempt, missing, broken := 0, 0, false; ; {
		f, err := os.OpenFile(path+".lock", os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o666)
		switch {
		case err == nil:
			// Held for as long as the descriptor is open: another
			// git-runs process then knows the lock is not stale.
			unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
			return &lockFile{path: path, f: f}, nil
		case mkdirs && errors.Is(err, fs.ErrNotExist) && missing < 5:
			missing++
			if err := os.MkdirAll(filepath.Dir(path), 0o777); err != nil {
				return nil, err
			}
		case errors.Is(err, fs.ErrExist) && time.Now().Before(deadline):
			backoff(attempt)
			attempt++
		case errors.Is(err, fs.ErrExist) && !broken:
			broken = true
			if age, ok := breakStale(path + ".lock"); ok {
				r.warn(fmt.Errorf("removed %s, left %s ago by a process that is gone", r.relPath(path+".lock"), age.Round(time.Second)))
				continue
			}
			return nil, err
		default:
			return nil, err
		}
	}
}

// breakStale removes the lock file at path if it is stale, and returns
// its age. Whoever breaks a stale lock holds an flock on it meanwhile, so
// that of two processes that find it, one removes it and the other sees
// it gone, never removing the lock the first one takes next.
func breakStale(path string) (time.Duration, bool) {
	f, err := os.Open(path)
	if err != nil {
		return 0, false
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return 0, false
	}
	age := time.Since(fi.ModTime())
	if age < staleLockAge || unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB) != nil {
		return 0, false
	}
	cur, err := os.Lstat(path)
	if err != nil || !os.SameFile(cur, fi) || os.Remove(path) != nil {
		return 0, false
	}
	return age, true
}

// relPath names a file of the repository relative to its git directory.
func (r *Repo) relPath(p string) string {
	if rel, err := filepath.Rel(r.CommonDir, p); err == nil {
		return filepath.ToSlash(rel)
	}
	return p
}

// commit writes data to the lock file and renames it over the protected
// file. There is no fsync: the promise is to survive the death of a
// process, not a power cut.
func (l *lockFile) commit(data []byte) error {
	_, err := l.f.Write(data)
	if cerr := l.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		// syscall.Rename: os.Rename would stat the ref first, to refuse
		// a directory, which the checks before the lock already did.
		if err = syscall.Rename(l.path+".lock", l.path); err != nil {
			err = &os.LinkError{Op: "rename", Old: l.path + ".lock", New: l.path, Err: err}
		}
	}
	if err != nil {
		os.Remove(l.path + ".lock")
	}
	l.done = true
	return err
}

// release drops the lock if commit did not consume it.
func (l *lockFile) release() {
	if l.done {
		return
	}
	l.f.Close()
	os.Remove(l.path + ".lock")
	l.done = true
}

// backoff sleeps about 1, 2, 4, 8, then 16 ms with jitter, so that
// contending processes do not retry in lockstep.
func backoff(attempt int) {
	d := time.Millisecond << min(attempt, 4)
	time.Sleep(d/2 + rand.N(d))
}

// checkRefName applies git's check-ref-format rules, restricted to names
// under refs/.
func checkRefName(name string) error {
	if !strings.HasPrefix(name, "refs/") || len(name) == len("refs/") {
		return fmt.Errorf("invalid ref name %q: must start with refs/", name)
	}
	if strings.HasSuffix(name, ".") || strings.Contains(name, "..") || strings.Contains(name, "@{") {
		return fmt.Errorf("invalid ref name %q", name)
	}
	start := 0
	for i := 0; i <= len(name); i++ {
		if i < len(name) {
			c := name[i]
			if c < 0x20 || c == 0x7f || strings.IndexByte(" ~^:?*[\\", c) >= 0 {
				return fmt.Errorf("invalid ref name %q", name)
			}
			if c != '/' {
				continue
			}
		}
		comp := name[start:i]
		if comp == "" || comp[0] == '.' || comp == "@" || strings.HasSuffix(comp, ".lock") {
			return fmt.Errorf("invalid ref name %q", name)
		}
		start = i + 1
	}
	return nil
}

// packedRefs is the parsed content of a packed-refs file.
type packedRefs struct {
	fi   os.FileInfo // of the file read; nil when there is none
	raw  string      // the file content; ref names point into it
	refs []packedRef // sorted by name
}

// packedRef is a packed ref and the byte range in raw of its line and any
// peeled ("^<hash>") line after it.
type packedRef struct {
	Ref
	start, end int
}

var noPackedRefs = &packedRefs{}

// loadPacked returns packed-refs as it is now. Parsing 100,000 refs takes
// tens of milliseconds, so the last parse is reused while the file is the
// same one: git replaces packed-refs by renaming a new file over it, which
// changes its identity.
func (r *Repo) loadPacked() (*packedRefs, error) {
	f, err := os.Open(filepath.Join(r.CommonDir, "packed-refs"))
	if errors.Is(err, fs.ErrNotExist) {
		return noPackedRefs, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read packed-refs: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read packed-refs: %w", err)
	}
	r.refsMu.Lock()
	cached := r.packed
	r.refsMu.Unlock()
	if cached != nil && os.SameFile(cached.fi, fi) && cached.fi.Size() == fi.Size() && cached.fi.ModTime().Equal(fi.ModTime()) {
		return cached, nil
	}
	raw := make([]byte, 0, fi.Size()+1)
	for {
		n, err := f.Read(raw[len(raw):cap(raw)])
		raw = raw[:len(raw)+n]
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("read packed-refs: %w", err)
		}
		if len(raw) == cap(raw) {
			raw = slices.Grow(raw, 4096)
		}
	}
	p, err := parsePacked(string(raw))
	if err != nil {
		return nil, fmt.Errorf("read packed-refs: %w", err)
	}
	p.fi = fi
	r.refsMu.Lock()
	r.packed = p
	r.refsMu.Unlock()
	return p, nil
}

// parsePacked parses packed-refs: an optional "# pack-refs with:" header,
// then "<hex> <name>" lines, each possibly followed by a "^<hex>" line
// giving the object an annotated tag peels to.
func parsePacked(raw string) (*packedRefs, error) {
	p := &packedRefs{raw: raw, refs: make([]packedRef, 0, strings.Count(raw, "\n")+1)}
	pos := 0
	for pos < len(raw) {
		end := strings.IndexByte(raw[pos:], '\n')
		next := pos + end + 1
		if end < 0 {
			end, next = len(raw)-pos, len(raw)
		}
		line := raw[pos : pos+end]
		switch {
		case line == "" || line[0] == '#':
		case line[0] == '^':
			if len(p.refs) == 0 {
				return nil, fmt.Errorf("unexpected line %q", line)
			}
			p.refs[len(p.refs)-1].end = next
		default:
			var h plumbing.Hash
			if len(line) < 42 || line[40] != ' ' || !decodeHex(h[:], line[:40]) {
				return nil, fmt.Errorf("unexpected line %q", line)
			}
			p.refs = append(p.refs, packedRef{Ref{Name: line[41:], Hash: h}, pos, next})
		}
		pos = next
	}
	// git writes packed-refs sorted and says so in the header; checking
	// costs little and protects lookups from files other tools wrote.
	if !slices.IsSortedFunc(p.refs, comparePacked) {
		slices.SortStableFunc(p.refs, comparePacked)
	}
	return p, nil
}

func comparePacked(a, b packedRef) int { return strings.Compare(a.Name, b.Name) }

// find returns the index of name in p.refs, or -1.
func (p *packedRefs) find(name string) int {
	i, ok := slices.BinarySearchFunc(p.refs, name, func(e packedRef, n string) int {
		return strings.Compare(e.Name, n)
	})
	if !ok {
		return -1
	}
	return i
}

// withPrefix returns the packed refs whose names start with prefix.
func (p *packedRefs) withPrefix(prefix string) []packedRef {
	i, _ := slices.BinarySearchFunc(p.refs, prefix, func(e packedRef, n string) int {
		return strings.Compare(e.Name, n)
	})
	j := i
	for j < len(p.refs) && strings.HasPrefix(p.refs[j].Name, prefix) {
		j++
	}
	return p.refs[i:j]
}

// createPacked creates many refs at once by adding them to packed-refs in
// one write, as git does for a clone: writing thousands of loose ref files
// costs a lock file and a rename each. A ref that exists already, loose or
// packed, is left as it is and not returned. The loose lock of each ref
// is not taken, so this is for refs no other writer creates, such as runs
// fetched from a remote under ids made there.
func (r *Repo) createPacked(refs []Ref) ([]Ref, error) {
	return r.writeManyPacked(refs, false)
}

// setPacked points many refs at new values in one write of packed-refs,
// removing their loose files: for refs that only git-runs and git fetch
// write, such as the remote-tracking runs.
func (r *Repo) setPacked(refs []Ref) error {
	_, err := r.writeManyPacked(refs, true)
	return err
}

func (r *Repo) writeManyPacked(refs []Ref, replace bool) ([]Ref, error) {
	plock, err := r.lockPacked()
	if err != nil {
		return nil, err
	}
	defer plock.release()
	p, err := r.loadPacked()
	if err != nil {
		return nil, err
	}
	todo := make([]Ref, 0, len(refs))
	var loose []string
	for _, ref := range refs {
		if err := checkRefName(ref.Name); err != nil {
			return nil, fmt.Errorf("write ref %s: %w", ref.Name, err)
		}
		_, lerr := os.Lstat(r.refPath(ref.Name))
		packed := p.find(ref.Name) >= 0
		switch {
		case (lerr == nil || packed) && !replace:
			continue
		case !packed && checkConflicts(p, ref.Name) != nil:
			continue
		case lerr == nil:
			loose = append(loose, r.refPath(ref.Name))
		}
		todo = append(todo, ref)
	}
	if len(todo) == 0 {
		return nil, nil
	}
	slices.SortFunc(todo, func(a, b Ref) int { return strings.Compare(a.Name, b.Name) })
	var b strings.Builder
	b.Grow(len(p.raw) + len(todo)*(42+len(todo[0].Name)))
	if len(p.refs) == 0 {
		b.WriteString("# pack-refs with: peeled fully-peeled sorted \n")
	} else {
		b.WriteString(p.raw[:p.refs[0].start])
	}
	i := 0
	for _, e := range p.refs {
		for ; i < len(todo) && todo[i].Name < e.Name; i++ {
			b.WriteString(todo[i].Hash.String() + " " + todo[i].Name + "\n")
		}
		if i < len(todo) && todo[i].Name == e.Name {
			b.WriteString(todo[i].Hash.String() + " " + todo[i].Name + "\n")
			i++
			continue
		}
		b.WriteString(p.raw[e.start:e.end])
	}
	for ; i < len(todo); i++ {
		b.WriteString(todo[i].Hash.String() + " " + todo[i].Name + "\n")
	}
	if err := r.writePacked(b.String()); err != nil {
		return nil, err
	}
	for _, path := range loose {
		if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return todo, fmt.Errorf("write refs: %w", err)
		}
	}
	return todo, nil
}
