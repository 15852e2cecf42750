package outlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"strconv"
	"sync"

	"github.com/gitruns/gitruns/run/secret"
)

// DefaultLimit is the default number of bytes of a command's output
// kept with its run: the first and the last half of it.
const DefaultLimit = 10 << 20

// maxPartial is how much of an unfinished line an Log holds back to
// redact it whole, beyond the length of the longest secret.
const maxPartial = 4 << 10

// Each tail file starts with a header line, tailMagic and the offset in the
// whole output of the file's first byte of output, in 20 digits. It lets a
// reader that is not the writer — another process, or one reading after a
// crash — order the two tails and count the bytes that were cut.
const (
	tailMagic     = "git-runs output tail "
	tailHeaderLen = len(tailMagic) + 20 + 1
)

// A Log keeps the output of a command on disk, redacted, condensed and
// bounded, as it is printed: of a line redrawn after \r (a progress bar)
// only the last state is stored (see redraw.go); the first limit/2 bytes
// stored go in PREFIX.head, and the last ones in two tail files,
// PREFIX.tail0 and PREFIX.tail1, used in turn; when the current tail has
// limit/2 bytes, the other one is truncated and becomes current. The
// files thus never hold much more than 1.5×limit bytes, and always at
// least the last limit/2 bytes stored. Bytes are written to the files as
// they come, and the state of a line being redrawn to PREFIX.line, so a
// killed command loses at most the unfinished line a Log holds back to
// redact.
//
// Its methods may be called from several goroutines at once, so that one
// Log can take both stdout and stderr.
type Log struct {
	mu      sync.Mutex
	prefix  string
	half    int64
	red     *secret.Redactor
	head    *os.File
	tails   [2]*os.File
	cur     int   // index of the current tail, -1 until one is used
	headLen int64 // bytes in head
	tailLen int64 // bytes in the current tail, after its header
	total   int64 // bytes written, all files together
	out     *writer
	others  []*writer // from NewWriter
	lineFile
	err    error // the first write error: the files are unusable after it
	closed bool
	full   func() // called once the head is full, see WhenHeadFull
}

// A writer takes one stream of output into its Log: the line it is
// printing is its own, so that two streams (standard output and error
// read apart) do not write into each other's lines.
type writer struct {
	log     *Log
	stream  *secret.Stream // red's view of the stream, across writes
	pending []byte         // the line being printed, held back; unredacted
	redraw                 // the state of a line redrawn after \r
}

// Create creates the files of an Log that keeps limit bytes
// (DefaultLimit when limit is 0 or less) of output named by prefix,
// replacing any files of that name, and redacts with red, which may be
// nil. The directory of prefix must exist.
//
// Secrets known to red, and those recognised by their shape (see
// secret.Redactor.Find; red may be nil for those alone), never reach the
// files, even when split across writes: the Log redacts output a line at
// a time (up to \n or \r) and so holds back the text after the last line
// end, up to 4 KiB more than the longest secret; beyond that it writes
// what it holds, keeping back only what may be the start of a secret or
// of the text it is recognised by. A private key is hidden from its BEGIN
// line through its END line, in however many writes it comes.
func Create(prefix string, limit int64, red *secret.Redactor) (*Log, error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	head, err := os.OpenFile(prefix+".head", os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
	if err != nil {
		return nil, fmt.Errorf("create output log: %w", err)
	}
	for _, name := range []string{prefix + ".tail0", prefix + ".tail1", prefix + ".line"} {
		if err := os.Remove(name); err != nil && !errors.Is(err, fs.ErrNotExist) {
			head.Close()
			return nil, fmt.Errorf("create output log: %w", err)
		}
	}
	o := &Log{prefix: prefix, half: max(limit/2, 1), red: red, head: head, cur: -1}
	o.out = o.newWriter()
	return o, nil
}

func (o *Log) newWriter() *writer {
	return &writer{log: o, stream: o.red.NewStream()}
}

// NewWriter returns a writer of another stream of output into the log,
// such as standard error read apart from standard output: each stream's
// lines are stored whole, in the order they end, and the line each is
// printing is its own. The writer may be used with the Log's Write and
// other writers at once; Close finishes its line too.
func (o *Log) NewWriter() io.Writer {
	o.mu.Lock()
	defer o.mu.Unlock()
	w := o.newWriter()
	o.others = append(o.others, w)
	return w
}

// WhenHeadFull arranges for f to be called, once, when the head has all
// the bytes it keeps: from then on the head file, PREFIX.head, does not
// change. f is called with the log locked, and must not block.
func (o *Log) WhenHeadFull(f func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.full = f
}

// Write writes p, redacted and condensed, to the log: of a line that
// is redrawn after \r, only its last state is stored (see redraw.go). It
// returns len(p) unless the files cannot be written, in which case it
// returns the error, and so does every later call.
func (o *Log) Write(p []byte) (int, error) { return o.out.Write(p) }

// Write is Log.Write for the writer's stream.
func (w *writer) Write(p []byte) (int, error) {
	o := w.log
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return 0, fmt.Errorf("write output log: %w", fs.ErrClosed)
	}
	if o.err != nil {
		return 0, o.err
	}
	// Another stream's line held for a nested bar (see endLine) has
	// ended: it is stored before anything of this one.
	if len(o.others) > 0 {
		if err := o.storeHeldBut(w); err != nil {
			return o.result(0, err)
		}
	}
	return o.result(len(p), o.afterWrite(w, w.condense(p)))
}

// storeHeldBut stores the lines the writers other than w hold.
func (o *Log) storeHeldBut(w *writer) error {
	if o.out != w && o.out.held {
		if err := o.out.storeHeld(); err != nil {
			return err
		}
	}
	for _, x := range o.others {
		if x != w && x.held {
			if err := x.storeHeld(); err != nil {
				return err
			}
		}
	}
	return nil
}

// writers returns the writers of the log, the Log's own first.
func (o *Log) writers() []*writer {
	if len(o.others) == 0 {
		return []*writer{o.out}
	}
	return append([]*writer{o.out}, o.others...)
}

// writeRaw writes p, redacted, as it comes: \r ends a line like \n. It
// is how a line too long to be held back is stored.
func (w *writer) writeRaw(p []byte) error {
	end := lastLineEnd(p) + 1
	if end == 0 {
		w.pending = append(w.pending, p...)
		return w.flushPartial(false)
	}
	if err := w.storeLines(p[:end]); err != nil {
		return err
	}
	w.pending = append(w.pending[:0], p[end:]...)
	return w.flushPartial(false)
}

// storeLines stores lines, whole lines, after the line held back, which
// the first of them finishes.
func (w *writer) storeLines(lines []byte) error {
	if len(w.pending) > 0 {
		// The line held back is finished by the first line: redacted
		// alone, so that the rest is not copied.
		first := IndexLineEnd(lines) + 1
		w.pending = append(w.pending, lines[:first]...)
		if err := w.log.store(w.stream.Redact(w.pending)); err != nil {
			return err
		}
		w.pending = w.pending[:0]
		lines = lines[first:]
	}
	return w.log.store(w.stream.Redact(lines))
}

// IndexLineEnd finds the first \n or \r in b, or returns -1, with the
// vectorised IndexByte: it runs over every byte a command prints.
func IndexLineEnd(b []byte) int {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return bytes.IndexByte(b, '\r')
	}
	if j := bytes.IndexByte(b[:i], '\r'); j >= 0 {
		return j
	}
	return i
}

// result records err, the first error of the log, and returns the values
// Write returns.
func (o *Log) result(n int, err error) (int, error) {
	if err != nil {
		o.err = fmt.Errorf("write output log: %w", err)
		return 0, o.err
	}
	return n, nil
}

// flushPartial writes the unfinished line held back, all of it when final,
// otherwise only when it has grown too long, and then not its end, which
// may hold the beginning of a secret whose rest is still to come.
func (w *writer) flushPartial(final bool) error {
	if final {
		err := w.log.store(w.stream.Redact(w.pending))
		w.pending = w.pending[:0]
		return err
	}
	keep := max(w.log.red.MaxLen()-1, minKeep)
	if len(w.pending) <= maxPartial+keep {
		return nil
	}
	cut := w.log.red.SafeCut(w.pending, len(w.pending)-keep)
	if cut == 0 {
		return nil
	}
	if w.held {
		if err := w.storeHeld(); err != nil {
			return err
		}
	}
	if err := w.log.store(w.stream.Redact(w.pending[:cut])); err != nil {
		return err
	}
	w.pending = w.pending[:copy(w.pending, w.pending[cut:])]
	// Part of the line is stored: the rest of it, up to its \n, is
	// stored as printed, redraws and all.
	w.through, w.redrawn, w.afterCR = true, false, false
	return nil
}

// minKeep is the least an unfinished line keeps back when it is written
// in part: room for a secret's key and separator, or a token's prefix,
// to stay with what follows.
const minKeep = 256

// lastLineEnd finds the last \n or \r in b, or returns -1: from the end,
// as output comes in lines and the last line end is near it.
func lastLineEnd(b []byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == '\n' || b[i] == '\r' {
			return i
		}
	}
	return -1
}

// store writes b to the head, then to the tails.
func (o *Log) store(b []byte) error {
	for len(b) > 0 {
		if o.headLen < o.half {
			n := min(o.half-o.headLen, int64(len(b)))
			if _, err := o.head.WriteAt(b[:n], o.headLen); err != nil {
				return err
			}
			o.headLen += n
			o.total += n
			b = b[n:]
			if o.headLen == o.half && o.full != nil {
				o.full()
				o.full = nil
			}
			continue
		}
		if o.cur < 0 || o.tailLen >= o.half {
			if err := o.rotate(); err != nil {
				return err
			}
		}
		n := min(o.half-o.tailLen, int64(len(b)))
		if _, err := o.tails[o.cur].WriteAt(b[:n], int64(tailHeaderLen)+o.tailLen); err != nil {
			return err
		}
		o.tailLen += n
		o.total += n
		b = b[n:]
	}
	return nil
}

// rotate empties the tail file not in use and makes it current.
func (o *Log) rotate() error {
	next := 0
	if o.cur == 0 {
		next = 1
	}
	f := o.tails[next]
	if f == nil {
		var err error
		f, err = os.OpenFile(o.prefix+".tail"+strconv.Itoa(next), os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
		if err != nil {
			return err
		}
		o.tails[next] = f
	} else if err := f.Truncate(0); err != nil {
		return err
	}
	if _, err := f.WriteAt(fmt.Appendf(nil, "%s%020d\n", tailMagic, o.total), 0); err != nil {
		return err
	}
	o.cur, o.tailLen = next, 0
	return nil
}

// Close writes the unfinished line held back, if any (the last state of
// a line being redrawn), and closes the files. Closing a closed Log does nothing.
func (o *Log) Close() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return nil
	}
	o.closed = true
	var errs []error
	// The lines ended first, then those unfinished.
	for _, w := range o.writers() {
		if err := w.finishHeld(); o.err == nil && err != nil {
			errs = append(errs, fmt.Errorf("write output log: %w", err))
			break
		}
	}
	for _, w := range o.writers() {
		if o.err != nil || len(errs) > 0 {
			break
		}
		if w.finishLine(); len(w.pending) > 0 {
			if err := w.flushPartial(true); err != nil {
				errs = append(errs, fmt.Errorf("write output log: %w", err))
			}
		}
	}
	if o.err == nil && len(errs) == 0 {
		// Kept when the line could not be stored: Read still finds it.
		if err := o.closeLine(); err != nil {
			errs = append(errs, fmt.Errorf("close output log: %w", err))
		}
	} else if o.line != nil {
		o.line.Close()
	}
	for _, f := range []*os.File{o.head, o.tails[0], o.tails[1]} {
		if f != nil {
			if err := f.Close(); err != nil {
				errs = append(errs, fmt.Errorf("close output log: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

// Read reads the output kept by the Log named by prefix,
// created with limit (DefaultLimit when 0 or less): the head, then,
// if output was cut, a line "[git-runs: N bytes of output cut here]" (after
// a line end when the head does not end with one), then the last bytes of
// the tails, at most limit/2, starting after a line end when there is one
// among their first 4 KiB, so that a cut line is not shown in part. total is the
// number of bytes of output in all, as written to the files: a redacted
// secret counts as the length of [redacted].
//
// The Log may be live, in this process or another, or may have died
// with its command; missing files are empty output. The output of a live
// or dead Log ends with the state of the line it was redrawing, if any
// (see ReadLine), counted in total.
func Read(prefix string, limit int64) (data []byte, total int64, err error) {
	// The line being redrawn is read first: once the Log stores it, the
	// stored output no longer ends where it starts.
	line, at, err := ReadLine(prefix)
	if err != nil {
		return nil, 0, fmt.Errorf("read output log: %w", err)
	}
	data, total, err = readStored(prefix, limit)
	if err != nil || at != total || len(line) == 0 {
		return data, total, err
	}
	return append(data, line...), total + int64(len(line)), nil
}

// readStored is Read without the line being redrawn.
func readStored(prefix string, limit int64) (data []byte, total int64, err error) {
	if limit <= 0 {
		limit = DefaultLimit
	}
	half := max(limit/2, 1)
	// The output is assembled in one buffer, the head read last into the
	// room left before the tail: a run's end reads up to 10 MiB here
	// while the user waits, and copying it again would cost as much.
	headFile, err := os.Open(prefix + ".head")
	if errors.Is(err, fs.ErrNotExist) {
		headFile = nil
	} else if err != nil {
		return nil, 0, fmt.Errorf("read output log: %w", err)
	} else {
		defer headFile.Close()
	}
	hl, err := fileSize(headFile)
	if err != nil {
		return nil, 0, fmt.Errorf("read output log: %w", err)
	}
	room := hl + int64(len(noteLine(math.MaxInt64)))
	// The tails are read first: the head is full before any tail exists,
	// so a live log cannot then seem to have lost bytes between them. One
	// byte more than is kept tells whether the kept part starts a line.
	buf, start, end, err := readTails(prefix, half+1, room)
	if err != nil {
		return nil, 0, fmt.Errorf("read output log: %w", err)
	}
	if buf == nil {
		head, err := readAll(headFile)
		if err != nil {
			return nil, 0, fmt.Errorf("read output log: %w", err)
		}
		return head, int64(len(head)), nil
	}
	tail := buf[room:]
	// A live head may have grown while the tails were read, if it
	// filled just then: the head is read whole.
	if hl, err = fileSize(headFile); err != nil {
		return nil, 0, fmt.Errorf("read output log: %w", err)
	}
	if hl+int64(len(noteLine(math.MaxInt64))) > room {
		buf = append(make([]byte, hl+room), tail...)
		tail, room = buf[hl+room:], hl+room
	}
	from := max(0, len(tail)-int(half))
	if start+int64(from) > hl && (from == 0 || tail[from-1] != '\n') {
		// A live writer may just have rotated, leaving a few bytes of a
		// line in the current tail: those are dropped too, rather than
		// shown as a fragment.
		near := min(maxPartial, len(tail)-from)
		if i := bytes.IndexAny(tail[from:from+near], "\n\r"); i >= 0 {
			from += i + 1
		}
	}
	tail = tail[from:]
	tailAt := room + int64(from)
	note := ""
	if cut := end - hl - int64(len(tail)); cut > 0 {
		note = noteLine(cut)
		var last [1]byte
		if hl == 0 {
			note = note[1:]
		} else if _, err := headFile.ReadAt(last[:], hl-1); err == nil && last[0] == '\n' {
			note = note[1:] // no line end to add before it
		}
	}
	at := tailAt - int64(len(note)) - hl
	head := buf[at : at+hl]
	n := 0
	if hl > 0 {
		if n, err = headFile.ReadAt(head, 0); err != nil && !errors.Is(err, io.EOF) {
			return nil, 0, fmt.Errorf("read output log: %w", err)
		}
	}
	if int64(n) < hl {
		// The head is shorter than it was a moment ago: damaged, since it
		// is full before any tail exists. Read what there is.
		return append(append(head[:n:n], note...), tail...), end, nil
	}
	copy(buf[at+hl:], note)
	return buf[at : tailAt+int64(len(tail))], end, nil
}

// noteLine is the line put where n bytes of output were cut, with a line
// end before it, to be dropped when the output before ends a line.
func noteLine(n int64) string {
	return fmt.Sprintf("\n[git-runs: %d bytes of output cut here]\n", n)
}

// fileSize returns the size of f; 0 when f is nil.
func fileSize(f *os.File) (int64, error) {
	if f == nil {
		return 0, nil
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}

// readAll reads the whole of f; nothing when f is nil.
func readAll(f *os.File) ([]byte, error) {
	if f == nil {
		return nil, nil
	}
	return io.ReadAll(f)
}

// readTails returns the last bytes, up to limit (all when 0), of the
// output kept in the tail files, after room bytes left free at the start
// of the slice, and their offsets in the whole output; tail is nil when
// there is none. Only what is returned is read: a tail file holds up to
// half the output limit, 5 MiB by default.
func readTails(prefix string, limit, room int64) (tail []byte, start, end int64, err error) {
	// A live writer may rotate while we read: the headers are read again
	// afterwards, and the reading repeated if either changed.
	var files [2]*os.File
	for i := range files {
		f, err := os.Open(prefix + ".tail" + strconv.Itoa(i))
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, 0, 0, err
		}
		if f != nil {
			defer f.Close()
		}
		files[i] = f
	}
	for attempt := 0; ; attempt++ {
		var heads [2][]byte
		var sizes [2]int64
		for i, f := range files {
			if heads[i], sizes[i], err = tailHeader(f); err != nil {
				return nil, 0, 0, err
			}
		}
		var complete bool
		tail, start, end, complete, err = readTailSpan(files, heads, sizes, limit, room)
		if err != nil {
			return nil, 0, 0, err
		}
		stable := complete
		for i, f := range files {
			again, _, err := tailHeader(f)
			if err != nil {
				return nil, 0, 0, err
			}
			if !bytes.Equal(again, heads[i]) {
				stable = false
			}
		}
		if stable {
			return tail, start, end, nil
		}
		if attempt == 20 {
			// Still rotating under us: a writer printing faster than we
			// can read. Better no tail this time than a wrong one.
			return nil, end, end, nil
		}
	}
}

// tailHeader reads the header of an open tail file, then its size; nil
// for a missing file. In that order: a header read again unchanged after
// the content then proves the size belonged to it, since rotating a file
// rewrites its header.
func tailHeader(f *os.File) ([]byte, int64, error) {
	if f == nil {
		return nil, 0, nil
	}
	b := make([]byte, tailHeaderLen)
	n, err := f.ReadAt(b, 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, err
	}
	fi, err := f.Stat()
	if err != nil {
		return nil, 0, err
	}
	return b[:n], fi.Size(), nil
}

// readTailSpan reads the last bytes, up to limit, of the output in the
// tail files with the given headers and sizes: the newer file's, preceded
// by the older one's when it ends where the newer one starts. complete is
// false when a file turned out shorter than its size said, as happens when
// the writer rotates meanwhile.
func readTailSpan(files [2]*os.File, heads [2][]byte, sizes [2]int64, limit, room int64) (tail []byte, start, end int64, complete bool, err error) {
	off0, ok0 := tailOffset(heads[0])
	off1, ok1 := tailOffset(heads[1])
	if !ok0 && !ok1 {
		return nil, 0, 0, true, nil
	}
	cur, prev := 0, 1
	if !ok0 || (ok1 && off1 > off0) {
		cur, prev = 1, 0
	}
	offs := [2]int64{off0, off1}
	curLen := max(0, sizes[cur]-int64(tailHeaderLen))
	end = offs[cur] + curLen
	n := curLen
	prevLen := max(0, sizes[prev]-int64(tailHeaderLen))
	contiguous := (ok0 && ok1) && offs[prev]+prevLen == offs[cur]
	if contiguous {
		n += prevLen
	}
	if limit > 0 {
		n = min(n, limit)
	}
	buf := make([]byte, room+n)
	tail = buf[room:]
	fromCur := min(n, curLen)
	if _, err := files[cur].ReadAt(tail[n-fromCur:], int64(tailHeaderLen)+curLen-fromCur); err != nil {
		if errors.Is(err, io.EOF) {
			return buf, end - n, end, false, nil
		}
		return nil, 0, 0, false, err
	}
	if rest := n - fromCur; rest > 0 {
		if _, err := files[prev].ReadAt(tail[:rest], int64(tailHeaderLen)+prevLen-rest); err != nil {
			if errors.Is(err, io.EOF) {
				return buf, end - n, end, false, nil
			}
			return nil, 0, 0, false, err
		}
	}
	return buf, end - n, end, true, nil
}

// tailOffset reads the header of a tail file's content.
func tailOffset(b []byte) (int64, bool) {
	if len(b) < tailHeaderLen || !bytes.HasPrefix(b, []byte(tailMagic)) || b[tailHeaderLen-1] != '\n' {
		return 0, false
	}
	n, err := strconv.ParseInt(string(b[len(tailMagic):tailHeaderLen-1]), 10, 64)
	return n, err == nil && n >= 0
}

func readIfExists(name string) ([]byte, error) {
	b, err := os.ReadFile(name)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	return b, err
}

// Remove removes the files of the Log named by prefix; files
// already gone are not an error.
func Remove(prefix string) error {
	var errs []error
	for _, ext := range []string{".head", ".tail0", ".tail1", ".line"} {
		if err := os.Remove(prefix + ext); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove output log: %w", err))
		}
	}
	return errors.Join(errs...)
}
