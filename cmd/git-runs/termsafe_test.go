package main

import (
	"bytes"
	"testing"
)

func TestTermWriter(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"plain text\tand tabs\n", "plain text\tand tabs\n"},
		{"\x1b[1mbold\x1b[0m \x1b[38;5;208mcolour\x1b[0m", "\x1b[1mbold\x1b[0m \x1b[38;5;208mcolour\x1b[0m"},
		{"10%\r50%\r100%\n", "10%\r50%\r100%\n"},
		{"title \x1b]0;pwned\x07 after", "title ^[]0;pwned^G after"},
		{"clip \x1b]52;c;ZXZpbA==\x1b\\", "clip ^[]52;c;ZXZpbA==^[\\"},
		{"up \x1b[2A and clear \x1b[2J", "up ^[[2A and clear ^[[2J"},
		{"bell\x07 del\x7f nul\x00", "bell^G del^? nul^@"},
		{"c1 \u009b31m", "c1 <U+009B>31m"},
		{"unicode: é ● 日本", "unicode: é ● 日本"},
		{"dangling \x1b", "dangling "},
	} {
		var out bytes.Buffer
		w := newTermWriter(&out)
		if n, err := w.Write([]byte(tc.in)); err != nil || n != len(tc.in) {
			t.Fatalf("%q: wrote %d, %v", tc.in, n, err)
		}
		if out.String() != tc.want {
			t.Errorf("%q: got %q, want %q", tc.in, out.String(), tc.want)
		}
		// The same, one byte a write: sequences cut between writes are
		// judged whole.
		out.Reset()
		w = newTermWriter(&out)
		for i := range len(tc.in) {
			w.Write([]byte{tc.in[i]})
		}
		if out.String() != tc.want {
			t.Errorf("%q byte by byte: got %q, want %q", tc.in, out.String(), tc.want)
		}
	}
}
