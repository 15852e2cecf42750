package main

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rogpeppe/go-internal/testscript"
)

// TestSharpEdges runs testdata/script/*.txt of this package: the rough
// edges of issue 13 (help and manual pages, queries that match nothing,
// ls at a terminal's width, output and artifacts read back), each a
// terminal session against the real binary, git and man.
func TestSharpEdges(t *testing.T) {
	p := scriptParams(filepath.Join("testdata", "script"))
	p.Cmds["maxwidth"] = cmdMaxWidth
	testscript.Run(t, p)
}

// cmdMaxWidth fails unless every line of the last command's standard
// output is at most N characters wide, as a terminal counts them:
// "maxwidth 80". The widest line is named when one is wider.
func cmdMaxWidth(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 1 {
		ts.Fatalf("usage: maxwidth N")
	}
	n, err := strconv.Atoi(args[0])
	ts.Check(err)
	for _, line := range strings.Split(ts.ReadFile("stdout"), "\n") {
		if w := utf8.RuneCountInString(line); w > n {
			ts.Fatalf("a line %d wide, more than %d: %q", w, n, line)
		}
	}
}
