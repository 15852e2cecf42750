package main

import (
	"fmt"
	"io"
)

// termWriter passes text to a terminal with every control character that
// could act on the terminal made visible, as less -R does: only line
// ends, tabs, carriage returns (progress bars) and colour sequences
// (ESC [ digits m) go through. Runs are fetched from other people's
// repositories, and a run name, tag or output line holding, say, an
// escape that sets the window title or writes the clipboard must show as
// text, not act.
type termWriter struct {
	w    io.Writer
	held []byte // the start of an escape sequence cut by the end of a write
	buf  []byte
}

func newTermWriter(w io.Writer) *termWriter { return &termWriter{w: w} }

func (t *termWriter) Write(p []byte) (int, error) {
	n := len(p)
	if len(t.held) > 0 {
		p = append(t.held, p...)
		t.held = nil
	}
	b := t.buf[:0]
	for i := 0; i < len(p); i++ {
		c := p[i]
		switch {
		case c == 0x1b:
			end, complete := sgrEnd(p[i:])
			if end > 0 {
				b = append(b, p[i:i+end]...)
				i += end - 1
				continue
			}
			if !complete {
				t.held = append([]byte(nil), p[i:]...)
				i = len(p)
				continue
			}
			b = append(b, '^', '[')
		case c == '\n' || c == '\t' || c == '\r' || (c >= 0x20 && c < 0x7f):
			b = append(b, c)
		case c == 0x7f:
			b = append(b, '^', '?')
		case c < 0x20:
			b = append(b, '^', c+'@')
		case c == 0xc2 && i+1 == len(p):
			t.held = []byte{c} // a C1 control, or not: the next write tells
		case c == 0xc2 && p[i+1] >= 0x80 && p[i+1] <= 0x9f:
			// U+0080 to U+009F, the C1 controls: CSI among them.
			b = fmt.Appendf(b, "<U+%04X>", p[i+1])
			i++
		default:
			b = append(b, c) // the rest of UTF-8, shown as it is
		}
	}
	t.buf = b
	if _, err := t.w.Write(b); err != nil {
		return 0, err
	}
	return n, nil
}

// sgrEnd returns the length of the colour sequence ESC [ [0-9;]* m that
// p starts with, or 0; complete is false when p ends before it could
// tell.
func sgrEnd(p []byte) (end int, complete bool) {
	if len(p) < 2 {
		return 0, false
	}
	if p[1] != '[' {
		return 0, true
	}
	for i := 2; i < len(p) && i < 64; i++ {
		switch c := p[i]; {
		case c == 'm':
			return i + 1, true
		case c >= '0' && c <= '9' || c == ';':
		default:
			return 0, true
		}
	}
	return 0, len(p) >= 64
}
