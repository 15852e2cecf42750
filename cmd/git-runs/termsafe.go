package main

import (
	"crypto/rand"
	"fmt"
	"io"
	"math/big"
	"strings"
	"unicode/utf8"
)

// What reaches a terminal from a record (names, tags, params, commands,
// metric keys, output, code, errors quoting any of them) must not act on
// the terminal: runs are fetched from other people's repositories, and an
// escape that hides text (SGR 8, black on black), moves the cursor,
// erases, sets the title, writes the clipboard or links text to a hidden
// address could make a row say what it does not. So everything written to
// a terminal passes through a termWriter, which shows every control
// visibly, in one notation throughout:
//
//   - a one-byte control (C0, DEL) in caret notation, as cat -v and less
//     show it: ESC as ^[, CR as ^M, BEL as ^G, backspace as ^H;
//   - a Unicode control that is no byte of ASCII (the C1 controls
//     U+0080–U+009F, the bidi embeddings, overrides, isolates and marks
//     that reorder text) as its escape \uXXXX, which a JSON reader reads
//     back as the same character, so --json on a terminal stays exact data;
//   - a byte that is no UTF-8 and would be a C1 control in an 8-bit
//     terminal as \xXX.
//
// Only line ends and tabs pass, and git-runs' own colours: painter marks
// them with a key drawn at random for this process (ownSGR), which no
// record can know, so a record's "ESC [ 31 m" shows as text however
// harmless it looks. A program's output replayed (watch) is the one
// exception, an outputWriter: its carriage returns (progress bars redraw
// their line) and its plain colours pass, filtered to a whitelist that
// cannot hide text (keepSGR).

// ownKey is the first parameter of every SGR sequence git-runs writes
// itself, 20 random decimal digits; termWriter drops it and passes the
// rest. Digits keep the marked sequence a valid SGR, zero width for table.
var ownKey = func() string {
	n, err := rand.Int(rand.Reader, new(big.Int).Exp(big.NewInt(10), big.NewInt(20), nil))
	if err != nil {
		panic(err) // crypto/rand does not fail on the systems Go supports
	}
	return fmt.Sprintf("%020d", n)
}()

// ownSGR returns the colour sequence ESC [ params m marked as git-runs'
// own.
func ownSGR(params string) string { return "\x1b[" + ownKey + ";" + params + "m" }

// termWriter passes text to a terminal with every control that could act
// on it made visible (see above).
type termWriter struct {
	w io.Writer
	// output tells that the text is a program's output, replayed: its
	// carriage returns pass, and its colours when colour is on.
	output, color bool
	// painted tells that a colour of the program's output is in effect,
	// for End to reset.
	painted bool
	held    []byte // the start of a sequence or character cut by the end of a write
	buf     []byte
}

// newTermWriter returns a termWriter for text from git-runs and from
// records.
func newTermWriter(w io.Writer) *termWriter { return &termWriter{w: w} }

// newOutputWriter returns a termWriter for a program's output, keeping
// its harmless colours when color.
func newOutputWriter(w io.Writer, color bool) *termWriter {
	return &termWriter{w: w, output: true, color: color}
}

// maxSeq bounds the length of an escape sequence held across writes to
// be judged whole: git-runs' own are far shorter, and a longer one is
// shown as text.
const maxSeq = 64

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
			params, end, complete := sgr(p[i:])
			if !complete {
				t.held = append([]byte(nil), p[i:]...)
				i = len(p)
				continue
			}
			if end > 0 {
				if own, ok := strings.CutPrefix(params, ownKey+";"); ok {
					b = append(append(append(b, "\x1b["...), own...), 'm')
					i += end - 1
					continue
				}
				if t.output {
					if keep := keepSGR(params); keep != "" && t.color {
						b = append(append(append(b, "\x1b["...), keep...), 'm')
						t.painted = true
					}
					i += end - 1
					continue
				}
			}
			// Anything else shows as text: ^[ and what follows.
			b = append(b, '^', '[')
		case c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7f):
			b = append(b, c)
		case c == '\r' && t.output:
			b = append(b, c)
		case c == 0x7f:
			b = append(b, '^', '?')
		case c < 0x20:
			b = append(b, '^', c+'@')
		default:
			if !utf8.FullRune(p[i:]) && len(p)-i < utf8.UTFMax {
				t.held = append([]byte(nil), p[i:]...) // the next write tells
				i = len(p)
				continue
			}
			r, size := utf8.DecodeRune(p[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				if c <= 0x9f {
					b = fmt.Appendf(b, `\x%02x`, c)
				} else {
					b = append(b, c) // shown by the terminal as not UTF-8
				}
			case hidesText(r):
				b = fmt.Appendf(b, `\u%04x`, r)
			default:
				b = append(b, p[i:i+size]...)
			}
			i += size - 1
		}
	}
	t.buf = b
	if _, err := t.w.Write(b); err != nil {
		return 0, err
	}
	return n, nil
}

// End resets the colour a program's output left in effect, so that what
// the terminal shows next is not painted with it.
func (t *termWriter) End() error {
	if !t.painted {
		return nil
	}
	t.painted = false
	_, err := io.WriteString(t.w, "\x1b[0m")
	return err
}

// hidesText reports whether r is a Unicode control beyond ASCII: a C1
// control (CSI among them), or a bidi control, which reorders the text
// around it so that a row reads otherwise than it is.
func hidesText(r rune) bool {
	switch {
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f: // ALM, LRM, RLM
		return true
	case r >= 0x202a && r <= 0x202e: // LRE, RLE, PDF, LRO, RLO
		return true
	case r >= 0x2066 && r <= 0x2069: // LRI, RLI, FSI, PDI
		return true
	}
	return false
}

// sgr reads the colour sequence ESC [ [0-9;:]* m that p starts with: its
// parameters and length, or end 0 when p starts with another sequence;
// complete is false when p ends before it could tell.
func sgr(p []byte) (params string, end int, complete bool) {
	if len(p) < 2 {
		return "", 0, false
	}
	if p[1] != '[' {
		return "", 0, true
	}
	for i := 2; i < len(p) && i < maxSeq; i++ {
		switch c := p[i]; {
		case c == 'm':
			return string(p[2:i]), i + 1, true
		case c >= '0' && c <= '9' || c == ';' || c == ':':
		default:
			return "", 0, true
		}
	}
	return "", 0, len(p) >= maxSeq
}

// keepSGR returns the parameters of a program's colour sequence that
// cannot hide text: reset, bold, italic, underline and their ends, and
// the foreground colours red to cyan, plain and bright. Black and white
// (the colour of some terminal's background), background colours (the
// same as the text's), 256-colour and true colour (either), dim, blink,
// reverse, conceal and strike-through are dropped, and with them the
// colour: the text shows in the terminal's own.
func keepSGR(params string) string {
	if params == "" {
		return "0"
	}
	var keep []string
	ps := strings.Split(params, ";")
	for i := 0; i < len(ps); i++ {
		p := ps[i]
		switch p {
		case "", "0", "00":
			keep = append(keep, "0")
		case "1", "3", "4", "22", "23", "24", "39", "49",
			"31", "32", "33", "34", "35", "36", "91", "92", "93", "94", "95", "96":
			keep = append(keep, p)
		case "38", "48", "58":
			// Extended colours: 5;N or 2;R;G;B follow, dropped with them.
			if i+1 < len(ps) && ps[i+1] == "5" {
				i += 2
			} else if i+1 < len(ps) && ps[i+1] == "2" {
				i += 4
			}
		}
	}
	return strings.Join(keep, ";")
}
