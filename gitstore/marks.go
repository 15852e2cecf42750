package gitstore

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gitruns/gitruns/run"
)

// The marks of runs and commits, private to .git/runs (docs/FORMAT.md,
// "Private files"; docs/DESIGN.md, "Marks that cost what is asked"):
//
//   - came-from: every run ever fetched, "<id> <remote>" a line;
//   - fetched: the fetched runs nobody had looked at when it was written,
//     in the same form, less the ids listed in fetched.seen;
//   - scanned: run commits a push found no secret in, or sent with secrets
//     allowed, one hex id a line, plus those in scanned.new.
//
// Each base file is sorted, so that the marks of one run or one commit
// are found by a binary search in a mapping of the file, reading a few
// pages of it. A base is only ever replaced whole (a rename), by a fold
// under runs/marks.lock. What a command adds between folds (a run looked
// at, a commit scanned) it appends to the small log beside the base, under
// the same lock; the log is folded in when it passes a bound, or, for
// fetched.seen, at the next MarkFetched.

func (r *Repo) fetchedPath() string    { return r.privateDir() + "/fetched" }
func (r *Repo) seenPath() string       { return r.privateDir() + "/fetched.seen" }
func (r *Repo) cameFromPath() string   { return r.privateDir() + "/came-from" }
func (r *Repo) scannedPath() string    { return r.privateDir() + "/scanned" }
func (r *Repo) scannedNewPath() string { return r.privateDir() + "/scanned.new" }

// seenHeader is the first line of fetched.seen: which version of fetched
// its clears apply to.
func seenHeader(base fileID) string { return "git-runs seen " + base.String() + "\n" }

// commitLine reports whether s is a commit id as the marks hold them: 40
// lower-case hex digits.
func commitLine(s string) bool {
	if len(s) != 40 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// The bounds of the logs beside the marks; variables for the tests.
var (
	// maxSeenLog is the size of fetched.seen (about 1,200 runs looked
	// at) past which MarkSeen folds it into fetched: a lookup of one run
	// reads the whole log, so it stays small.
	maxSeenLog = 32 << 10
	// maxScannedNew is the size of scanned.new (about 25,000 commits)
	// past which MarkScanned folds it into scanned, dropping the commits
	// no run is at any more. A push reads the whole log.
	maxScannedNew = 1 << 20
)

const (
	// marksLockTimeout is how long a writer waits for another: a clear
	// holds the lock for well under a millisecond, a fold of a million
	// marks for a tenth of a second or so.
	marksLockTimeout = 5 * time.Second
	// scannedLen is the length of a line of scanned: 40 hex digits and
	// a newline.
	scannedLen = 41
)

// MarksOf returns the marks of run id: the remote it was fetched from
// while nobody here has looked at it, and the remote it came from, which
// stays. It reads a few pages of the marks, whatever their number.
func (r *Repo) MarksOf(id string) (fetchedFrom, cameFrom string) {
	st, err := r.loadMarks()
	if err != nil {
		r.warn(err)
		return "", ""
	}
	return st.of(id)
}

// AllMarks returns MarksOf for a listing: the marks as they were when it
// was called, each page of them read at most once, fastest when asked in
// order of id (either way round). Making it costs what MarksOf does.
func (r *Repo) AllMarks() func(id string) (fetchedFrom, cameFrom string) {
	st, err := r.loadMarks()
	if err != nil {
		r.warn(err)
		return func(string) (string, string) { return "", "" }
	}
	st.seen = st.seenSet()
	return func(id string) (string, string) {
		st.mu.Lock()
		defer st.mu.Unlock()
		return st.of(id)
	}
}

// MarkFetched marks runs as fetched from remote, and as having come from
// there; an empty remote clears the fetched marks, as MarkSeen does. It
// rewrites both files, folding in the runs looked at since: a fetch reads
// every ref anyway.
func (r *Repo) MarkFetched(remote string, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if remote == "" {
		return r.MarkSeen(ids...)
	}
	if strings.ContainsAny(remote, " \n\r") {
		return fmt.Errorf("mark runs fetched from %q: not a remote name", remote)
	}
	adds := slices.Clone(ids)
	slices.Sort(adds)
	adds = slices.Compact(adds)
	for _, id := range adds {
		if !run.ValidID(id) {
			return fmt.Errorf("mark run %q fetched: not a run id", id)
		}
	}
	lock, err := r.lockMarks()
	if err != nil {
		return err
	}
	defer lock.release()
	st, err := r.loadMarks()
	if err != nil {
		return fmt.Errorf("mark runs fetched: %w", err)
	}
	seen := st.seenSet()
	if err := writeFileAtomic(r.cameFromPath(), mergeMarks(st.came.data, adds, remote, nil)); err != nil {
		return fmt.Errorf("mark runs fetched: %w", err)
	}
	return r.writeFetched(mergeMarks(st.fetched.data, adds, remote, seen))
}

// MarkSeen clears the fetched marks of runs. Clearing one run costs what
// looking it up does, and a line appended to fetched.seen.
func (r *Repo) MarkSeen(ids ...string) error {
	if st, err := r.loadMarks(); err == nil && !st.anyFetched(ids) {
		return nil
	}
	lock, err := r.lockMarks()
	if err != nil {
		return err
	}
	defer lock.release()
	// Again under the lock: another process may have cleared them, or
	// folded the log.
	st, err := r.loadMarks()
	if err != nil {
		return fmt.Errorf("mark runs seen: %w", err)
	}
	var clear []string
	fold := false
	for _, id := range ids {
		if from, _ := st.of(id); from != "" && !slices.Contains(clear, id) {
			clear = append(clear, id)
			// Only ids can be lines of the log: anything else a fetched
			// file holds (written by hand) is folded out at once.
			fold = fold || !run.ValidID(id)
		}
	}
	if len(clear) == 0 {
		return nil
	}
	if fold || len(st.rawSeen)+len(clear)*(len(clear[0])+1) > maxSeenLog {
		seen := st.seenSet()
		for _, id := range clear {
			seen[id] = struct{}{}
		}
		return r.writeFetched(mergeMarks(st.fetched.data, nil, "", seen))
	}
	return r.appendSeen(st, clear)
}

// writeFetched replaces fetched, and then drops the log of runs seen,
// folded into it. A crash between the two leaves a log whose header names
// the fetched file before, which readers therefore ignore.
func (r *Repo) writeFetched(data []byte) error {
	if err := writeFileAtomic(r.fetchedPath(), data); err != nil {
		return fmt.Errorf("write fetched marks: %w", err)
	}
	if err := os.Remove(r.seenPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("write fetched marks: %w", err)
	}
	return nil
}

// appendSeen adds ids to the log of runs seen, with one write. A log that
// does not apply to fetched as it is now (none yet, or one left beside a
// fetched file rewritten since) is started anew, with a header naming
// that file, by a rename: a reader sees it whole or not at all. The
// caller holds the marks lock.
func (r *Repo) appendSeen(st *markState, ids []string) error {
	var b []byte
	fresh := st.seenLog == nil
	if fresh {
		b = append(b, seenHeader(st.fm.id)...)
	} else if !bytes.HasSuffix(st.rawSeen, []byte("\n")) {
		// A write cut short by a crash: end its line, so that the
		// piece stays a line of its own, which no reader takes for an id.
		b = append(b, '\n')
	}
	for _, id := range ids {
		b = append(append(b, id...), '\n')
	}
	if fresh {
		return writeFileAtomic(r.seenPath(), b)
	}
	return appendFile(r.seenPath(), b, false)
}

// appendFile appends b to path with one write(2) on an O_APPEND
// descriptor.
func appendFile(path string, b []byte, create bool) error {
	flags := os.O_WRONLY | os.O_APPEND
	if create {
		flags |= os.O_CREATE
	}
	f, err := os.OpenFile(path, flags, 0o666)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// marksLock is runs/marks.lock, held by every writer of marks: without
// it a fold could drop a clear appended while it ran. It is an flock on a
// file that stays, not git's create-and-rename lock: nothing of git reads
// these files, an flock ends with its process however it dies (no lock is
// ever left behind), and taking it costs about a seventh of creating a
// file (18 µs against 124 µs on this machine, loaded).
type marksLock struct{ f *os.File }

// marksMu makes the lock exclusive within a process too: over NFS, Linux
// emulates flock with POSIX locks, which a process holds for all its
// descriptors.
var marksMu sync.Mutex

func (r *Repo) lockMarks() (*marksLock, error) {
	marksMu.Lock()
	l, err := r.flockMarks()
	if err != nil {
		marksMu.Unlock()
		return nil, err
	}
	return l, nil
}

func (r *Repo) flockMarks() (*marksLock, error) {
	path := r.privateDir() + "/marks.lock"
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if errors.Is(err, fs.ErrNotExist) {
		if err = os.MkdirAll(r.privateDir(), 0o777); err == nil {
			f, err = os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("lock run marks: %w", err)
	}
	deadline := time.Now().Add(marksLockTimeout)
	for attempt := 0; ; attempt++ {
		err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			return &marksLock{f}, nil
		}
		if err != unix.EWOULDBLOCK && err != unix.EINTR || time.Now().After(deadline) {
			f.Close()
			if err == unix.EWOULDBLOCK {
				return nil, fmt.Errorf("lock run marks: another git-runs process has held runs/marks.lock for %s", marksLockTimeout)
			}
			return nil, fmt.Errorf("lock run marks: %w", err)
		}
		backoff(attempt)
	}
}

// release drops the lock.
func (l *marksLock) release() {
	l.f.Close() // the flock goes with the descriptor
	marksMu.Unlock()
}

// markState is the fetched and came-from marks as one reader found them.
type markState struct {
	mu            sync.Mutex // guards the searches' positions and remotes, for AllMarks
	fm, cm        *mapped    // kept here so that the mappings stay alive
	fetched, came sortedLines
	rawSeen       []byte              // fetched.seen as read
	seenLog       []byte              // its lines from the newline before the first id, when it applies to fm
	seen          map[string]struct{} // seenLog's ids, built for many lookups
	remotes       interned
}

// loadMarks reads the log of runs seen before it maps fetched: a fold
// between the two then pairs a log already folded in with the fetched
// file it went into, whose header it does not match, so it is ignored,
// rightly. The other way round, the log would be lost, and marks cleared
// would show again.
func (r *Repo) loadMarks() (*markState, error) {
	raw, err := readFileIfExists(r.seenPath())
	if err != nil {
		return nil, err
	}
	fm, err := mapFile(r.fetchedPath())
	if err != nil {
		return nil, err
	}
	cm, err := mapFile(r.cameFromPath())
	if err != nil {
		return nil, err
	}
	st := &markState{fm: fm, cm: cm, fetched: sortedLines{data: fm.data}, came: sortedLines{data: cm.data}, rawSeen: raw}
	if h := seenHeader(fm.id); fm.ok && bytes.HasPrefix(raw, []byte(h)) {
		st.seenLog = raw[len(h)-1:]
	}
	return st, nil
}

// of answers MarksOf from st.
func (st *markState) of(id string) (fetchedFrom, cameFrom string) {
	if v, ok := st.fetched.find(id); ok && !st.isSeen(id) {
		fetchedFrom = st.remotes.str(v)
	}
	if v, ok := st.came.find(id); ok {
		cameFrom = st.remotes.str(v)
	}
	return fetchedFrom, cameFrom
}

func (st *markState) isSeen(id string) bool {
	if st.seen != nil {
		_, ok := st.seen[id]
		return ok
	}
	return len(st.seenLog) > 0 && bytes.Contains(st.seenLog, []byte("\n"+id+"\n"))
}

func (st *markState) anyFetched(ids []string) bool {
	for _, id := range ids {
		if from, _ := st.of(id); from != "" {
			return true
		}
	}
	return false
}

// seenSet returns the ids of the log of runs seen. A line that is not an
// id (the piece of a write a crash cut short) is no id.
func (st *markState) seenSet() map[string]struct{} {
	m := map[string]struct{}{}
	s := string(st.seenLog)
	for len(s) > 0 {
		line, rest, ok := strings.Cut(s, "\n")
		if !ok {
			break // the piece of a write cut short
		}
		if run.ValidID(line) {
			m[line] = struct{}{}
		}
		s = rest
	}
	return m
}

// interned keeps the few remote names marks hold, so that a listing of a
// million marks makes a string of each once.
type interned []string

func (in *interned) str(b []byte) string {
	for _, s := range *in {
		if string(b) == s {
			return s
		}
	}
	s := string(b)
	if len(*in) < 16 {
		*in = append(*in, s)
	}
	return s
}

// mergeMarks returns base, lines "<id> <value>" sorted by id, with a line
// for each of adds (sorted, unique) with value, replacing any base had for
// it, and without the lines of ids in drop. It goes through base once; a
// base out of order (written by hand) is sorted first. Lines with no
// value are dropped, as every reader ignores them; of lines with one id,
// the last is kept, as readers before the sorted files did.
func mergeMarks(base []byte, adds []string, value string, drop map[string]struct{}) []byte {
	out := make([]byte, 0, len(base)+len(adds)*(len(value)+28))
	add := func(id string) { out = append(append(append(append(out, id...), ' '), value...), '\n') }
	var prev []byte
	lastStart := -1 // where the line of prev starts in out, if it was kept
	for s := 0; s < len(base); {
		key, val, next := lineAt(base, s)
		if prev != nil && bytes.Compare(key, prev) < 0 {
			return mergeMarks(sortMarks(base), adds, value, drop)
		}
		for len(adds) > 0 && adds[0] < string(key) {
			add(adds[0])
			adds = adds[1:]
		}
		if prev != nil && bytes.Equal(key, prev) && lastStart >= 0 {
			out = out[:lastStart] // a later line for the same id wins
		}
		lastStart = -1
		_, dropped := drop[string(key)]
		switch {
		case len(adds) > 0 && adds[0] == string(key), dropped, val == nil:
		default:
			lastStart = len(out)
			out = append(append(append(append(out, key...), ' '), val...), '\n')
		}
		prev, s = key, next
	}
	for _, id := range adds {
		add(id)
	}
	return out
}

// sortMarks returns the lines of base sorted by id, stably, so that of
// lines for one id the last stays last.
func sortMarks(base []byte) []byte {
	var lines [][]byte
	for s := 0; s < len(base); {
		key, val, next := lineAt(base, s)
		if val != nil {
			lines = append(lines, base[s:s+len(key)+1+len(val)])
		}
		s = next
	}
	slices.SortStableFunc(lines, func(a, b []byte) int {
		ka, _, _ := bytes.Cut(a, []byte(" "))
		kb, _, _ := bytes.Cut(b, []byte(" "))
		return bytes.Compare(ka, kb)
	})
	out := make([]byte, 0, len(base)+1)
	for _, l := range lines {
		out = append(append(out, l...), '\n')
	}
	return out
}

// sortedLines searches lines "<key> <value>", sorted by key, in place.
// at remembers the line of the last answer, from which the next search
// gallops out: a listing asking in order of id reads each line about once.
type sortedLines struct {
	data []byte
	at   int // a line start
}

// find returns the value of the line whose key is key. The value of a
// line with no space is nil, and found is then false.
func (s *sortedLines) find(key string) (value []byte, found bool) {
	d := s.data
	if len(d) == 0 {
		return nil, false
	}
	lo, hi := 0, len(d)
	k, v, next := lineAt(d, s.at)
	switch {
	case string(k) == key:
		return v, v != nil
	case string(k) < key:
		lo = next
		for step := 64; lo+step < len(d); step *= 2 {
			p := lineStart(d, lo, lo+step)
			pk, _, pn := lineAt(d, p)
			if string(pk) >= key {
				hi = p
				break
			}
			lo = pn
		}
	default:
		hi = s.at
		for step := 64; hi-step > 0; step *= 2 {
			p := lineStart(d, 0, hi-step)
			pk, _, pn := lineAt(d, p)
			if string(pk) < key {
				lo = pn
				break
			}
			hi = p
		}
	}
	p := lowerBound(d, lo, hi, key)
	if p >= len(d) {
		return nil, false
	}
	s.at = p
	if k, v, _ = lineAt(d, p); string(k) == key && v != nil {
		return v, true
	}
	return nil, false
}

// lowerBound returns the first line start in [lo, hi] whose key is not
// below key, given that lo and hi are line starts (or hi the end), the
// keys before lo are below key and hi's is not.
func lowerBound(d []byte, lo, hi int, key string) int {
	for lo < hi {
		p := lineStart(d, lo, lo+(hi-lo)/2)
		k, _, next := lineAt(d, p)
		if string(k) < key {
			lo = next
		} else {
			hi = p
		}
	}
	return lo
}

// lineStart returns the start of the line holding byte i, or lo if that
// line starts before lo.
func lineStart(d []byte, lo, i int) int {
	if j := bytes.LastIndexByte(d[lo:i], '\n'); j >= 0 {
		return lo + j + 1
	}
	return lo
}

// lineAt returns the key and value of the line starting at s (value nil
// when it has no space) and the start of the next line.
func lineAt(d []byte, s int) (key, value []byte, next int) {
	line := d[s:]
	next = len(d)
	if e := bytes.IndexByte(line, '\n'); e >= 0 {
		line, next = line[:e], s+e+1
	}
	if sp := bytes.IndexByte(line, ' '); sp >= 0 {
		return line[:sp], line[sp+1:], next
	}
	return line, nil, next
}

// Scanned returns a lookup of the run commits marked as scanned (clean,
// or accepted), as they were when called. Each question reads a page or
// two of the marks: their commits, sorted and evenly spread, are found
// where their value says.
func (r *Repo) Scanned() func(commit string) bool {
	added, base, err := r.loadScanned()
	if err != nil {
		r.warn(err)
		return func(string) bool { return false }
	}
	recs := base.data
	if len(recs)%scannedLen != 0 {
		recs = nil // not written by a fold: asked again, and folded at the next mark
	}
	return func(c string) bool {
		if _, ok := added[c]; ok {
			return true
		}
		return len(c) == 40 && findCommit(recs, c)
	}
}

// loadScanned reads scanned.new before it maps scanned, for the reason
// loadMarks gives.
func (r *Repo) loadScanned() (map[string]struct{}, *mapped, error) {
	raw, err := readFileIfExists(r.scannedNewPath())
	if err != nil {
		return nil, nil, err
	}
	base, err := mapFile(r.scannedPath())
	if err != nil {
		return nil, nil, err
	}
	added := map[string]struct{}{}
	for s := string(raw); len(s) > 0; {
		line, rest, ok := strings.Cut(s, "\n")
		if !ok {
			break
		}
		if commitLine(line) {
			added[line] = struct{}{}
		}
		s = rest
	}
	return added, base, nil
}

// findCommit reports whether c is a line of recs, sorted lines of
// scannedLen bytes. Hex commit ids are evenly spread, so the search
// starts where c's first 64 bits put it, and gallops out from there.
func findCommit(recs []byte, c string) bool {
	n := len(recs) / scannedLen
	if n == 0 {
		return false
	}
	var top [8]byte
	if !decodeHex(top[:], c[:16]) {
		return false
	}
	x := uint64(top[0])<<56 | uint64(top[1])<<48 | uint64(top[2])<<40 | uint64(top[3])<<32 |
		uint64(top[4])<<24 | uint64(top[5])<<16 | uint64(top[6])<<8 | uint64(top[7])
	// below tells whether line i is below c; the comparison of a
	// conversion makes no string.
	below := func(i int) bool { return string(recs[i*scannedLen:i*scannedLen+40]) < c }
	i := int(float64(x) / (1 << 64) * float64(n))
	i = min(max(i, 0), n-1)
	lo, hi := 0, n // the first line not below c is in [lo, hi]
	if below(i) {
		lo = i + 1
		for step := 1; lo+step-1 < n; step *= 2 {
			if !below(lo + step - 1) {
				hi = lo + step - 1
				break
			}
			lo += step
		}
	} else {
		hi = i
		for step := 1; hi-step >= 0; step *= 2 {
			if below(hi - step) {
				lo = hi - step + 1
				break
			}
			hi -= step
		}
	}
	for lo < hi {
		if m := lo + (hi-lo)/2; below(m) {
			lo = m + 1
		} else {
			hi = m
		}
	}
	return lo < n && string(recs[lo*scannedLen:lo*scannedLen+40]) == c
}

// MarkScanned marks run commits as scanned (clean, or accepted): one
// write appended to scanned.new, folded into scanned when it passes
// maxScannedNew.
func (r *Repo) MarkScanned(commits []string) error {
	if len(commits) == 0 {
		return nil
	}
	var b []byte
	for _, c := range commits {
		if !commitLine(c) {
			return fmt.Errorf("mark commit %q scanned: not a commit id", c)
		}
	}
	lock, err := r.lockMarks()
	if err != nil {
		return err
	}
	defer lock.release()
	raw, err := readFileIfExists(r.scannedNewPath())
	if err != nil {
		return fmt.Errorf("mark commits scanned: %w", err)
	}
	base, err := mapFile(r.scannedPath())
	if err != nil {
		return fmt.Errorf("mark commits scanned: %w", err)
	}
	if len(base.data)%scannedLen != 0 || len(raw)+len(commits)*scannedLen > maxScannedNew {
		return r.foldScanned(base.data, raw, commits)
	}
	if len(raw) > 0 && !bytes.HasSuffix(raw, []byte("\n")) {
		b = append(b, '\n') // end the piece a crash left, as appendSeen does
	}
	for _, c := range commits {
		b = append(append(b, c...), '\n')
	}
	if err := appendFile(r.scannedNewPath(), b, true); err != nil {
		return fmt.Errorf("mark commits scanned: %w", err)
	}
	return nil
}

// foldScanned writes scanned anew: what it held, what scanned.new held
// and commits, less the commits no run is at any more, sorted; then drops
// scanned.new. The caller holds the marks lock.
func (r *Repo) foldScanned(base, added []byte, commits []string) error {
	live, err := r.runRefs()
	if err != nil {
		return fmt.Errorf("mark commits scanned: %w", err)
	}
	keep := make(map[string]bool, len(live))
	for _, h := range live {
		keep[h.String()] = true
	}
	all := make([]string, 0, len(commits)+len(added)/scannedLen)
	for _, src := range [][]byte{base, added} {
		for _, line := range strings.Split(string(src), "\n") {
			if keep[line] {
				all = append(all, line)
			}
		}
	}
	for _, c := range commits {
		if keep[c] {
			all = append(all, c)
		}
	}
	slices.Sort(all)
	all = slices.Compact(all)
	out := make([]byte, 0, len(all)*scannedLen)
	for _, c := range all {
		out = append(append(out, c...), '\n')
	}
	if err := writeFileAtomic(r.scannedPath(), out); err != nil {
		return fmt.Errorf("mark commits scanned: %w", err)
	}
	if err := os.Remove(r.scannedNewPath()); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("mark commits scanned: %w", err)
	}
	return nil
}

// mapped is one version of a file, mapped into memory. A mapping outlives
// a rename of another file over its path: it stays the version it was.
// The files it maps are only ever replaced by rename, never changed in
// place, which would fault a reader past a cut.
type mapped struct {
	data []byte
	id   fileID
	ok   bool // the file was there
}

// fileID tells versions of a file apart: a rename over it makes a new
// inode, and its size and time change with its content.
type fileID struct {
	ino         uint64
	size, mtime int64
}

func (id fileID) String() string { return fmt.Sprintf("%d %d %d", id.ino, id.size, id.mtime) }

func idOf(fi os.FileInfo) fileID {
	id := fileID{size: fi.Size(), mtime: fi.ModTime().UnixNano()}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		id.ino = uint64(st.Ino)
	}
	return id
}

// mappings keeps the version of each marks file last mapped, reused while
// the file is the same, so that a long-lived process asking again and
// again maps each version once. Versions replaced stay mapped while a
// lookup holds them, and are unmapped when the collector finds them
// unused.
var mappings struct {
	sync.Mutex
	byPath map[string]*mapped
}

// mapFile returns the content of path as it is now: nothing when it is
// not there. A file as it was mapped last costs one stat.
func mapFile(path string) (*mapped, error) {
	path = filepath.Clean(path)
	fi, err := os.Stat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &mapped{}, nil
	}
	if err != nil {
		return nil, err
	}
	mappings.Lock()
	defer mappings.Unlock()
	if m := mappings.byPath[path]; m != nil && m.id == idOf(fi) {
		return m, nil
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return &mapped{}, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	m := &mapped{id: idOf(fi), ok: true}
	if fi.Size() > 0 {
		data, err := unix.Mmap(int(f.Fd()), 0, int(fi.Size()), unix.PROT_READ, unix.MAP_SHARED)
		if err != nil {
			return nil, fmt.Errorf("map %s: %w", path, err)
		}
		m.data = data
		runtime.AddCleanup(m, func(d []byte) { unix.Munmap(d) }, data)
	}
	if mappings.byPath == nil {
		mappings.byPath = map[string]*mapped{}
	}
	mappings.byPath[path] = m
	return m, nil
}
