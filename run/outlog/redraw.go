package outlog

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strconv"
)

// A progress bar (tqdm, Keras, pip) redraws its line: it prints \r and
// the line's new state over the old one, ten times a second for hours.
// A Log stores what the user last saw of such a line, once: the text
// after its last \r, or before that \r when nothing came after it
// ("100%\r\n" keeps "100%", with its \r\n). Backspaces just before a \r,
// which Keras prints to go back over its line, are dropped with it, as
// they show nothing. Escape sequences are kept as printed and not
// interpreted (a line cleared with ESC [ K keeps the sequence), but for
// one: tqdm's nested bars draw the lower bar on the next row, going down
// with \n and back up with ESC [ A. So a line that was drawn over and
// ends is held until the next row shows whether the cursor comes back
// up to it; if it does, what was drawn below is not output, and the
// upper line goes on being redrawn. Only the last state of the upper
// bar is stored, then.
//
// Only the line being printed is held, up to maxPartial bytes and what a
// secret needs (see flushPartial): a longer line is partly stored, and
// from then on, up to its \n, stored as printed, redraws and all. So
// memory stays bounded however long a bar runs, and the output limit
// counts what is stored, not the redraws.
//
// The line's state as of its last \r (or the line held above a nested
// bar) is kept in PREFIX.line, redacted, rewritten in place at each
// Write that changes it: a reader (a watcher,
// a checkpoint, the recovery after the writer died) sees the bar as it
// stands, and a crash loses no more than the state being printed.

// redraw is the state of the line a writer is taking.
type redraw struct {
	shown   []byte // the line's state as of its last \r; unredacted
	redrawn bool   // the line had a \r: pending is its next state, shown the last
	cr      bool   // the last byte taken was \r
	through bool   // part of the line is stored: the rest goes as printed
	changed bool   // shown changed since the line file was written
	// A redrawn line that ended is held while the next row may be a
	// nested bar's, which goes back up to it (see endLine).
	held    bool
	above   []byte // the held line; unredacted
	heldEnd string // its line end
	afterCR bool   // the line has had text after a \r
}

// lineFile is a Log's line file. It holds the state of one line, that
// of the writer that redrew last.
type lineFile struct {
	line    *os.File
	lineAt  int64   // where the state in the file starts in the output
	drawing *writer // whose line is in the file; nil when none
	lineGen uint64
	lineBuf []byte
}

// Each line file holds a header, lineMagic and three numbers of 20
// digits, then the line's state: the offset in the stored output where
// the line starts, a count of the rewrites (so that a reader can tell a
// rewrite that changed nothing else), and the length of the state.
const (
	lineMagic     = "git-runs output line "
	lineHeaderLen = len(lineMagic) + 3*21
)

// condense takes p, output as printed, and stores the lines it
// finishes, each as its last state.
func (w *writer) condense(p []byte) error {
	for len(p) > 0 {
		if w.through {
			nl := bytes.IndexByte(p, '\n')
			if nl < 0 {
				return w.writeRaw(p)
			}
			if err := w.writeRaw(p[:nl+1]); err != nil {
				return err
			}
			w.through = false
			p = p[nl+1:]
			continue
		}
		r := bytes.IndexByte(p, '\r')
		if r < 0 {
			if err := w.plain(p); err != nil {
				return err
			}
			break
		}
		if err := w.plain(p[:r]); err != nil {
			return err
		}
		if w.through {
			p = p[r:] // the line outgrew what is held: its \r is stored
			continue
		}
		if err := w.carriageReturn(); err != nil {
			return err
		}
		p = p[r+1:]
	}
	return nil
}

// plain takes c, output without \r.
func (w *writer) plain(c []byte) error {
	for len(c) > 0 {
		if !w.redrawn && !w.cr && !w.held && !w.afterCR {
			return w.writeRaw(c) // the way of nearly every line
		}
		nl := bytes.IndexByte(c, '\n')
		if w.cr && nl != 0 {
			w.afterCR = true // the line is drawn over, not only ended by \r\n
		}
		if nl < 0 {
			w.cr = false
			w.pending = append(w.pending, c...)
			return w.flushPartial(false)
		}
		if err := w.endLine(c[:nl]); err != nil {
			return err
		}
		c = c[nl+1:]
	}
	return nil
}

// endLine takes the \n that ends the line, after seg.
func (w *writer) endLine(seg []byte) error {
	w.pending = append(w.pending, seg...)
	w.upInPending()
	if w.held {
		// The row below the held line ends: it is no nested bar's.
		if err := w.storeHeld(); err != nil {
			return err
		}
	}
	end := "\n"
	if w.cr && len(seg) == 0 {
		end = "\r\n" // a Windows line end, not a redraw
	}
	if w.redrawn && len(w.pending) == 0 {
		w.pending = append(w.pending, w.shown...)
	}
	if w.redrawn || w.afterCR {
		// The upper of two bars, perhaps: held until the next row
		// shows whether the cursor comes back up to it.
		w.held, w.heldEnd = true, end
		w.above, w.pending = w.pending, w.above[:0]
		w.redrawn, w.afterCR, w.cr, w.changed = false, false, false, true
		return nil
	}
	w.pending = append(w.pending, end...)
	if err := w.log.store(w.stream.Redact(w.pending)); err != nil {
		return err
	}
	w.pending = w.pending[:0]
	w.cr = false
	return nil
}

// cursorUp is how tqdm's nested bars go back up a row.
var cursorUp = []byte("\x1b[A")

// upInPending takes the cursor back up to the held line when what is
// printed on the row below goes up (ESC [ A): what was drawn below is
// not output, and what follows is drawn over the held line, which is
// being redrawn again.
func (w *writer) upInPending() {
	if !w.held {
		return
	}
	i := bytes.Index(w.pending, cursorUp)
	if i < 0 {
		return
	}
	w.shown, w.above = w.above, w.shown[:0]
	w.held, w.redrawn, w.changed = false, true, true
	w.pending = w.pending[:copy(w.pending, w.pending[i+len(cursorUp):])]
}

// storeHeld stores the line held above the one being printed.
func (w *writer) storeHeld() error {
	w.held = false
	w.above = append(w.above, w.heldEnd...)
	err := w.log.store(w.stream.Redact(w.above))
	w.above = w.above[:0]
	return err
}

// carriageReturn takes a \r: what was printed since the last one is the
// line's state, unless it is nothing.
func (w *writer) carriageReturn() error {
	w.upInPending()
	state := bytes.TrimRight(w.pending, "\b")
	if w.held && len(bytes.TrimSpace(state)) > 0 {
		// A state drawn on the next row that does not go back up: the
		// held line is done. (Blanks alone may be a nested bar cleared
		// before the cursor goes up.)
		if err := w.storeHeld(); err != nil {
			return err
		}
	}
	if len(state) > 0 {
		w.shown, w.pending = state, w.shown[:0]
		w.redrawn, w.changed = true, true
	} else {
		w.pending = w.pending[:0]
	}
	w.cr = true
	return nil
}

// finishHeld stores the line held above the one being printed, for
// Close; a row drawn below it that went back up is not output.
func (w *writer) finishHeld() error {
	if !w.held {
		return nil
	}
	if bytes.HasSuffix(w.pending, cursorUp) {
		// Back up on the held line at the end: it ended as it is.
		w.pending = w.pending[:0]
		w.redrawn = false
	}
	w.upInPending()
	if !w.held {
		return nil
	}
	return w.storeHeld()
}

// finishLine makes the line held back its last state, for Close.
func (w *writer) finishLine() {
	if w.redrawn && len(w.pending) == 0 {
		w.pending = append(w.pending, w.shown...)
	}
	w.redrawn, w.afterCR = false, false
}

// afterWrite brings the line file up to date after a write by w that
// returned err: a line redrawn is saved, and so is the line another
// writer is redrawing when w's lines moved the end of the output.
func (o *Log) afterWrite(w *writer, err error) error {
	if err != nil {
		return err
	}
	if w.changed {
		w.changed = false
		if w.redrawn || w.held {
			return o.saveLine(w)
		}
	}
	if d := o.drawing; d != nil && (d.redrawn || d.held) && o.lineAt != o.total {
		return o.saveLine(d)
	}
	return nil
}

// saveLine writes the state of w's line to the line file, redacted.
func (o *Log) saveLine(w *writer) error {
	if o.line == nil {
		f, err := os.OpenFile(o.prefix+".line", os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
		if err != nil {
			return err
		}
		o.line = f
	}
	// Redacted with a copy of the stream: the state may never be output,
	// so it must not move the stream on.
	preview := *w.stream
	state := w.shown
	if w.held {
		state = w.above
	}
	state = preview.Redact(state)
	o.drawing, o.lineAt = w, o.total
	// A seqlock in the file: a header of odd generation says the state is
	// being written, and an even one after it says it is whole. One write
	// of header and state together was not enough: a reader could take
	// the new header with the state half copied behind it.
	if err := o.writeLineHeader(len(state)); err != nil {
		return err
	}
	if _, err := o.line.WriteAt(state, int64(lineHeaderLen)); err != nil {
		return err
	}
	return o.writeLineHeader(len(state))
}

// writeLineHeader writes the line file's header of the next generation
// for a state of n bytes.
func (o *Log) writeLineHeader(n int) error {
	o.lineGen++
	b := append(o.lineBuf[:0], lineMagic...)
	b = append(appendDigits(b, uint64(o.total)), ' ')
	b = append(appendDigits(b, o.lineGen), ' ')
	b = append(appendDigits(b, uint64(n)), '\n')
	o.lineBuf = b
	_, err := o.line.WriteAt(b, 0)
	return err
}

// appendDigits appends n in 20 decimal digits, without fmt: a bar
// redrawn in every write of a fast program costs no allocation.
func appendDigits(b []byte, n uint64) []byte {
	var d [20]byte
	for i := len(d) - 1; i >= 0; i-- {
		d[i] = byte('0' + n%10)
		n /= 10
	}
	return append(b, d[:]...)
}

// closeLine closes and removes the line file, whose state Close stored.
func (o *Log) closeLine() error {
	if o.line == nil {
		return nil
	}
	err := o.line.Close()
	if rerr := os.Remove(o.prefix + ".line"); rerr != nil && !errors.Is(rerr, fs.ErrNotExist) {
		err = errors.Join(err, rerr)
	}
	return err
}

// ReadLine returns the state of the line being redrawn in the output
// kept by the Log named by prefix, redacted, and the offset in the
// output where it starts; at is -1 when there is none. The line is not
// part of what ReadFrom returns until it ends: it is current when at is
// the offset ReadFrom returned as next.
func ReadLine(prefix string) (line []byte, at int64, err error) {
	f, err := os.Open(prefix + ".line")
	if errors.Is(err, fs.ErrNotExist) {
		return nil, -1, nil
	}
	if err != nil {
		return nil, -1, fmt.Errorf("read output line: %w", err)
	}
	defer f.Close()
	// The writer rewrites the file in place, header first: a header
	// read again unchanged after the state proves the state whole.
	head := make([]byte, lineHeaderLen)
	again := make([]byte, lineHeaderLen)
	for range 20 {
		if _, err := f.ReadAt(head, 0); errors.Is(err, io.EOF) {
			return nil, -1, nil
		} else if err != nil {
			return nil, -1, fmt.Errorf("read output line: %w", err)
		}
		at, n, ok := lineHeader(head)
		if !ok {
			return nil, -1, nil
		}
		if head[lineHeaderLen-23]%2 == 1 { // the generation's last digit: odd while written
			continue
		}
		line = make([]byte, n)
		if _, err := f.ReadAt(line, int64(lineHeaderLen)); err != nil && !errors.Is(err, io.EOF) {
			return nil, -1, fmt.Errorf("read output line: %w", err)
		}
		if _, err := f.ReadAt(again, 0); err != nil && !errors.Is(err, io.EOF) {
			return nil, -1, fmt.Errorf("read output line: %w", err)
		}
		if bytes.Equal(head, again) {
			return line, at, nil
		}
	}
	return nil, -1, nil // redrawn faster than we read: none this time
}

// lineHeader reads a line file's header: where the line starts and the
// length of its state.
func lineHeader(b []byte) (at int64, n int, ok bool) {
	if !bytes.HasPrefix(b, []byte(lineMagic)) || b[len(b)-1] != '\n' {
		return 0, 0, false
	}
	nums := bytes.Fields(b[len(lineMagic):])
	if len(nums) != 3 {
		return 0, 0, false
	}
	at, err1 := strconv.ParseInt(string(nums[0]), 10, 64)
	size, err2 := strconv.ParseInt(string(nums[2]), 10, 64)
	if err1 != nil || err2 != nil || at < 0 || size < 0 || size > maxLineState {
		return 0, 0, false
	}
	return at, int(size), true
}

// maxLineState bounds the state a reader takes from a line file: far
// above what a Log holds back (maxPartial and the longest secret), far
// below what would hurt.
const maxLineState = 16 << 20
