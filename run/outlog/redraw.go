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
// interpreted: a line cleared with ESC [ K keeps the sequence, and bars
// drawn on several rows (tqdm's nested bars go down with \n and back up
// with ESC [ A) are condensed within each row only.
//
// Only the line being printed is held, up to maxPartial bytes and what a
// secret needs (see flushPartial): a longer line is partly stored, and
// from then on, up to its \n, stored as printed, redraws and all. So
// memory stays bounded however long a bar runs, and the output limit
// counts what is stored, not the redraws.
//
// The line's state as of its last \r is kept in PREFIX.line, redacted,
// rewritten in place at each Write that redraws it: a reader (a watcher,
// a checkpoint, the recovery after the writer died) sees the bar as it
// stands, and a crash loses no more than the state being printed.

// redraw is the state of the line a Log is taking.
type redraw struct {
	shown   []byte // the line's state as of its last \r; unredacted
	redrawn bool   // the line had a \r: pending is its next state, shown the last
	cr      bool   // the last byte taken was \r
	through bool   // part of the line is stored: the rest goes as printed
	changed bool   // shown changed since the line file was written
	line    *os.File
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
func (o *Log) condense(p []byte) error {
	for len(p) > 0 {
		if o.through {
			nl := bytes.IndexByte(p, '\n')
			if nl < 0 {
				return o.writeRaw(p)
			}
			if err := o.writeRaw(p[:nl+1]); err != nil {
				return err
			}
			o.through = false
			p = p[nl+1:]
			continue
		}
		r := bytes.IndexByte(p, '\r')
		if r < 0 {
			if err := o.plain(p); err != nil {
				return err
			}
			break
		}
		if err := o.plain(p[:r]); err != nil {
			return err
		}
		if o.through {
			p = p[r:] // the line outgrew what is held: its \r is stored
			continue
		}
		o.carriageReturn()
		p = p[r+1:]
	}
	if o.changed {
		o.changed = false
		return o.saveLine()
	}
	return nil
}

// plain takes c, output without \r.
func (o *Log) plain(c []byte) error {
	if len(c) == 0 {
		return nil
	}
	if !o.redrawn && !o.cr {
		return o.writeRaw(c) // the way of nearly every line
	}
	nl := bytes.IndexByte(c, '\n')
	if nl < 0 {
		o.cr = false
		o.pending = append(o.pending, c...)
		return o.flushPartial(false)
	}
	end := "\n"
	if o.cr && nl == 0 {
		end = "\r\n" // a Windows line end, not a redraw
	}
	if o.redrawn && len(o.pending)+nl == 0 {
		o.pending = append(o.pending, o.shown...)
	}
	o.pending = append(append(o.pending, c[:nl]...), end...)
	if err := o.store(o.stream.Redact(o.pending)); err != nil {
		return err
	}
	o.pending = o.pending[:0]
	o.redrawn, o.cr = false, false
	return o.writeRaw(c[nl+1:])
}

// carriageReturn takes a \r: what was printed since the last one is the
// line's state, unless it is nothing.
func (o *Log) carriageReturn() {
	if state := bytes.TrimRight(o.pending, "\b"); len(state) > 0 {
		o.shown, o.pending = state, o.shown[:0]
		o.redrawn, o.changed = true, true
	} else {
		o.pending = o.pending[:0]
	}
	o.cr = true
}

// finishLine makes the line held back its last state, for Close.
func (o *Log) finishLine() {
	if o.redrawn && len(o.pending) == 0 {
		o.pending = append(o.pending, o.shown...)
	}
	o.redrawn = false
}

// saveLine writes the line's state to the line file, redacted.
func (o *Log) saveLine() error {
	if !o.redrawn {
		return nil // stored meanwhile: the file's offset tells it is old
	}
	if o.line == nil {
		f, err := os.OpenFile(o.prefix+".line", os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o666)
		if err != nil {
			return err
		}
		o.line = f
	}
	// Redacted with a copy of the stream: the state may never be output,
	// so it must not move the stream on.
	preview := *o.stream
	state := preview.Redact(o.shown)
	o.lineGen++
	b := append(o.lineBuf[:0], lineMagic...)
	b = append(appendDigits(b, uint64(o.total)), ' ')
	b = append(appendDigits(b, o.lineGen), ' ')
	b = append(appendDigits(b, uint64(len(state))), '\n')
	o.lineBuf = append(b, state...)
	_, err := o.line.WriteAt(o.lineBuf, 0)
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
