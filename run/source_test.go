package run

import (
	"strings"
	"testing"
)

func TestCheckSource(t *testing.T) {
	sha1 := strings.Repeat("ab", 20)
	sha256 := strings.Repeat("0f", 32)
	for _, tc := range []struct {
		src  Source
		want string // part of the error; "" for none
	}{
		{Source{}, ""},
		{Source{Commit: sha1, Dirty: true, Snapshot: sha1, Dir: "src/train"}, ""},
		{Source{Commit: sha256}, ""},
		{Source{Snapshot: sha1}, ""},
		{Source{Commit: sha1, Branch: "--orphan=x"}, ""}, // never given to git
		{Source{Commit: "--orphan=x"}, "invalid source commit"},
		{Source{Commit: "HEAD"}, "invalid source commit"},
		{Source{Commit: "main"}, "invalid source commit"},
		{Source{Commit: sha1[:7]}, "invalid source commit"},
		{Source{Commit: strings.ToUpper(sha1)}, "invalid source commit"},
		{Source{Commit: sha1 + "^"}, "invalid source commit"},
		{Source{Commit: sha1[:39] + "g"}, "invalid source commit"},
		{Source{Commit: sha1, Snapshot: "-b"}, "invalid source snapshot"},
		{Source{Snapshot: "refs/heads/main"}, "invalid source snapshot"},
		{Source{Dir: ".."}, "leads out"},
		{Source{Dir: "../outside"}, "leads out"},
		{Source{Dir: "a/../../b"}, "leads out"},
		{Source{Dir: "a/.."}, "leads out"},
		{Source{Dir: "/etc"}, "not relative"},
		{Source{Dir: "a\\..\\..\\b"}, "backslash"},
		{Source{Dir: "."}, "not a clean path"},
		{Source{Dir: "./src"}, "not a clean path"},
		{Source{Dir: "src/"}, "not a clean path"},
		{Source{Dir: "a//b"}, "not a clean path"},
		{Source{Dir: "src\x1b[8m"}, "control characters"},
		{Source{Dir: "src\x00"}, "control characters"},
		{Source{Dir: "\xff"}, "UTF-8"},
	} {
		err := CheckSource(tc.src)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%+v: %v", tc.src, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%+v: got %v, want an error saying %q", tc.src, err, tc.want)
		}
	}
}

func TestValidObjectID(t *testing.T) {
	for s, want := range map[string]bool{
		strings.Repeat("0", 40):       true,
		strings.Repeat("f", 64):       true,
		strings.Repeat("0", 41):       false,
		strings.Repeat("0", 63):       false,
		"":                            false,
		"-" + strings.Repeat("0", 39): false,
	} {
		if got := ValidObjectID(s); got != want {
			t.Errorf("ValidObjectID(%q) = %v", s, got)
		}
	}
}
