package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// write passes in through w whole, then through a fresh one a byte a
// write (sequences and characters cut between writes are judged whole),
// and returns both outputs.
func write(t *testing.T, mk func(*bytes.Buffer) *termWriter, in string) (whole, bytewise string) {
	t.Helper()
	var out bytes.Buffer
	w := mk(&out)
	if n, err := w.Write([]byte(in)); err != nil || n != len(in) {
		t.Fatalf("%q: wrote %d, %v", in, n, err)
	}
	whole = out.String()
	out.Reset()
	w = mk(&out)
	for i := range len(in) {
		w.Write([]byte{in[i]})
	}
	return whole, out.String()
}

func TestTermWriter(t *testing.T) {
	own := func(p string) string { return ownSGR(p) }
	for _, tc := range []struct{ name, in, want string }{
		{"plain", "plain text\tand tabs\n", "plain text\tand tabs\n"},
		{"unicode", "unicode: é ● 日本 🙂", "unicode: é ● 日本 🙂"},
		{"own colours", own("1") + "bold" + own("0") + " " + own("33") + "running" + own("0"), "\x1b[1mbold\x1b[0m \x1b[33mrunning\x1b[0m"},
		{"record colour", "\x1b[31mred\x1b[0m", "^[[31mred^[[0m"},
		{"conceal", "ok \x1b[8mhidden\x1b[28m", "ok ^[[8mhidden^[[28m"},
		{"black on black", "\x1b[30;40mhidden", "^[[30;40mhidden"},
		{"forged key", "\x1b[12345678901234567890;8mhidden", "^[[12345678901234567890;8mhidden"},
		{"carriage return", "innocent\rrm -rf ~", "innocent^Mrm -rf ~"},
		{"backspace", "safe\b\b\b\bevil", "safe^H^H^H^Hevil"},
		{"bell, del, nul", "bell\x07 del\x7f nul\x00", "bell^G del^? nul^@"},
		{"cursor", "up \x1b[2A home \x1b[H left \x1b[5D", "up ^[[2A home ^[[H left ^[[5D"},
		{"erase", "line \x1b[2K screen \x1b[2J", "line ^[[2K screen ^[[2J"},
		{"title", "title \x1b]0;pwned\x07 after", "title ^[]0;pwned^G after"},
		{"clipboard", "clip \x1b]52;c;ZXZpbA==\x1b\\", "clip ^[]52;c;ZXZpbA==^[\\"},
		{"hyperlink", "\x1b]8;;https://evil.example\x1b\\docs\x1b]8;;\x1b\\", "^[]8;;https://evil.example^[\\docs^[]8;;^[\\"},
		{"dcs apc pm sos", "\x1bPq#0\x1b\\ \x1b_apc\x1b\\ \x1b^pm\x1b\\ \x1bXsos\x1b\\", "^[Pq#0^[\\ ^[_apc^[\\ ^[^pm^[\\ ^[Xsos^[\\"},
		{"c1 as utf-8", "c1 \u009b31m \u0085 \u009d", `c1 \u009b31m \u0085 \u009d`},
		{"c1 as a byte", "c1 \x9b31m", `c1 \x9b31m`},
		{"invalid utf-8", "bad \xff\xfe end", "bad \xff\xfe end"},
		{"bidi override", "file\u202egpj.exe", `file\u202egpj.exe`},
		{"bidi isolates and marks", "\u2066a\u2069 \u2067b\u2068c \u200e\u200f\u061c \u202a\u202b\u202c\u202d", `\u2066a\u2069 \u2067b\u2068c \u200e\u200f\u061c \u202a\u202b\u202c\u202d`},
		{"dangling escape", "dangling \x1b", "dangling "},
	} {
		whole, bytewise := write(t, func(b *bytes.Buffer) *termWriter { return newTermWriter(b) }, tc.in)
		if whole != tc.want {
			t.Errorf("%s: %q: got %q, want %q", tc.name, tc.in, whole, tc.want)
		}
		if bytewise != tc.want {
			t.Errorf("%s: %q byte by byte: got %q, want %q", tc.name, tc.in, bytewise, tc.want)
		}
		if strings.ContainsAny(strings.ReplaceAll(whole, "\x1b[", ""), "\x1b\r\b\x07\u009b\u202e\u2066") {
			t.Errorf("%s: a control reached the terminal: %q", tc.name, whole)
		}
	}
}

// A program's output replayed keeps its line redraws and plain colours;
// anything that hides or moves text is dropped (colours) or shown.
func TestOutputWriter(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     string // colour on
		plain    string // colour off
	}{
		{"progress bar", "10%\r50%\r100%\n", "10%\r50%\r100%\n", "10%\r50%\r100%\n"},
		{"colours", "\x1b[1mbold\x1b[0m \x1b[31mred\x1b[m \x1b[92mgreen\x1b[39m", "\x1b[1mbold\x1b[0m \x1b[31mred\x1b[0m \x1b[92mgreen\x1b[39m", "bold red green"},
		{"conceal", "\x1b[8mhidden\x1b[0m", "hidden\x1b[0m", "hidden"},
		{"conceal among others", "\x1b[1;8;31mhidden", "\x1b[1;31mhidden", "hidden"},
		{"black on black", "\x1b[30;40mhidden", "hidden", "hidden"},
		{"white, backgrounds", "\x1b[37;97;47;107;44mhidden", "hidden", "hidden"},
		{"extended colours", "\x1b[38;5;16;48;2;0;0;0;1mhidden", "\x1b[1mhidden", "hidden"},
		{"colon form", "\x1b[38:5:16mhidden", "hidden", "hidden"},
		{"reverse, blink, dim, strike", "\x1b[7;5;6;2;9mx", "x", "x"},
		{"cursor", "a\x1b[1Ab\x1b[K", "a^[[1Ab^[[K", "a^[[1Ab^[[K"},
		{"title", "\x1b]2;pwned\x07", "^[]2;pwned^G", "^[]2;pwned^G"},
		{"bidi", "a\u202eb", `a\u202eb`, `a\u202eb`},
		{"backspace", "ab\bc", "ab^Hc", "ab^Hc"},
	} {
		for _, color := range []bool{true, false} {
			want := tc.want
			if !color {
				want = tc.plain
			}
			whole, bytewise := write(t, func(b *bytes.Buffer) *termWriter { return newOutputWriter(b, color) }, tc.in)
			if whole != want || bytewise != want {
				t.Errorf("%s (colour %v): %q: got %q and byte by byte %q, want %q", tc.name, color, tc.in, whole, bytewise, want)
			}
		}
	}
	// A colour left on is reset at the end, not carried into what follows.
	var out bytes.Buffer
	w := newOutputWriter(&out, true)
	w.Write([]byte("\x1b[31mred"))
	w.End()
	if got := out.String(); got != "\x1b[31mred\x1b[0m" {
		t.Errorf("colour left on: got %q", got)
	}
}

// JSON on a terminal stays the same data: a control JSON leaves as it is
// is shown as the JSON escape of the same character.
func TestTermWriterKeepsJSON(t *testing.T) {
	in := map[string]string{"name": "a\u202eb\u2066c\u0085d\u200f"}
	j, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	newTermWriter(&out).Write(j)
	var got map[string]string
	if err := json.Unmarshal(out.Bytes(), &got); err != nil {
		t.Fatalf("%q: %v", out.String(), err)
	}
	if got["name"] != in["name"] {
		t.Errorf("got %q, want %q", got["name"], in["name"])
	}
	if strings.ContainsAny(out.String(), "\u202e\u2066\u0085\u200f") {
		t.Errorf("a bidi or C1 control reached the terminal: %q", out.String())
	}
}
