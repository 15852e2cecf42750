package mlflow

import (
	"errors"
	"strconv"
	"strings"
	"testing"
)

// artifactPathCase is one path as a client may send it. fromURL cases go
// through ArtifactPathFromURL, the others through CleanArtifactPath.
type artifactPathCase struct {
	in         string
	fromURL    bool
	allowEmpty bool
	want       string // the result when reason is ""
	reason     string // a part of the error; "" when the path is accepted
}

const (
	whyLeaves    = "it leaves the run's artifacts"
	whyDotSeg    = `it contains a "." segment`
	whyEmptySeg  = "it contains an empty segment"
	whyAbsolute  = "it is absolute"
	whyTrailing  = "it ends with a slash"
	whyBackslash = "it contains a backslash"
	whyControl   = "it contains a control character"
	whyNotUTF8   = "it is not valid UTF-8"
	whyEncoded   = "it is still percent-encoded"
	whyFragment  = `it contains "#"`
	whyQuery     = `it contains "?"`
	whyDrive     = "it contains a Windows drive letter"
	whyDotGit    = `it contains a ".git" segment`
	whyBadEscape = "it has a malformed percent-escape"
)

var artifactPathCorpus = []artifactPathCase{
	// Accepted, as sent in JSON bodies and query values.
	{in: "model/MLmodel", want: "model/MLmodel"},
	{in: "a/b/c.txt", want: "a/b/c.txt"},
	{in: "plots/loss curve.png", want: "plots/loss curve.png"},
	{in: "日本語/ファイル.txt", want: "日本語/ファイル.txt"},
	{in: "x..y", want: "x..y"},
	{in: "..a", want: "..a"},
	{in: "a..", want: "a.."},
	// Three or more dots are ordinary names to POSIX and git; only "."
	// and ".." mean something to a path walker.
	{in: "...", want: "..."},
	{in: "a/..../b", want: "a/..../b"},
	{in: ".hidden", want: ".hidden"},
	// Only ".git" itself is special; its neighbours are plain files.
	{in: "src/.gitignore", want: "src/.gitignore"},
	{in: ".github/workflows/ci.yml", want: ".github/workflows/ci.yml"},
	{in: "git/config", want: "git/config"},
	// Lookalikes such as the fullwidth full stop U+FF0E or the one dot
	// leader U+2024 are plain names: git stores bytes and nothing between
	// here and the tree applies Unicode normalization, so they can never
	// become "." or "..".
	{in: "\uff0e\uff0e/x", want: "\uff0e\uff0e/x"},
	{in: "\u2024\u2024/x", want: "\u2024\u2024/x"},
	{in: "a\uff0fb", want: "a\uff0fb"},
	// A colon is only a drive when it follows a single leading letter.
	{in: "logs/2024-01-01T12:00:00.json", want: "logs/2024-01-01T12:00:00.json"},
	{in: "ab:c", want: "ab:c"},
	{in: "1:x", want: "1:x"},
	// A "%" that does not start %XX is not an encoding.
	{in: "100%.txt", want: "100%.txt"},
	{in: "a%zz", want: "a%zz"},
	{in: "a%2", want: "a%2"},
	{in: "~/x;y=z+w", want: "~/x;y=z+w"},
	{in: "", allowEmpty: true, want: ""},
	{in: strings.Repeat("s", 255), want: strings.Repeat("s", 255)},
	{in: strings.Repeat("s/", 511) + "ss", want: strings.Repeat("s/", 511) + "ss"},

	// Accepted, as the escaped rest of a URL.
	{in: "model/MLmodel", fromURL: true, want: "model/MLmodel"},
	{in: "plots/loss%20curve.png", fromURL: true, want: "plots/loss curve.png"},
	{in: "%E6%97%A5%E6%9C%AC%E8%AA%9E/x", fromURL: true, want: "日本語/x"},
	{in: "100%25.txt", fromURL: true, want: "100%.txt"},
	{in: "x..y", fromURL: true, want: "x..y"},
	// After the one decoding an encoded slash is a slash like any other.
	{in: "a%2Fb", fromURL: true, want: "a/b"},
	{in: "a+b", fromURL: true, want: "a+b"},

	// Refused, raw.
	{in: "", reason: "it is empty"},
	{in: "..", reason: whyLeaves},
	{in: "../x", reason: whyLeaves},
	{in: "a/../../x", reason: whyLeaves},
	{in: "a/..", reason: whyLeaves},
	{in: ".", reason: whyDotSeg},
	{in: "./a", reason: whyDotSeg},
	{in: "a/./b", reason: whyDotSeg},
	{in: "a/.", reason: whyDotSeg},
	{in: "/etc/passwd", reason: whyAbsolute},
	{in: "/", reason: whyAbsolute},
	{in: "/", allowEmpty: true, reason: whyAbsolute},
	{in: "a/", reason: whyTrailing},
	{in: "....//", reason: whyTrailing},
	{in: "a//b", reason: whyEmptySeg},
	{in: "....//x", reason: whyEmptySeg},
	{in: `\\server\share`, reason: whyBackslash},
	{in: `a\..\b`, reason: whyBackslash},
	{in: `..\x`, reason: whyBackslash},
	{in: "a\x00b", reason: whyControl},
	{in: "a\nb", reason: whyControl},
	{in: "a\rb", reason: whyControl},
	{in: "a\tb", reason: whyControl},
	{in: "a\x7fb", reason: whyControl},
	{in: "a\u0085b", reason: whyControl},
	{in: "a\u009b31m", reason: whyControl},
	{in: "\xff\xfe", reason: whyNotUTF8},
	{in: "a\xc0\xafb", reason: whyNotUTF8},
	{in: "\xc0\xae\xc0\xae/x", reason: whyNotUTF8},
	{in: "%2e%2e/x", reason: whyEncoded},
	{in: "%2E%2E", reason: whyEncoded},
	{in: "a%5cb", reason: whyEncoded},
	{in: "a%2fb", reason: whyEncoded},
	{in: "a%00", reason: whyEncoded},
	{in: "a#b", reason: whyFragment},
	{in: "#/../x", reason: whyFragment},
	{in: "a?b", reason: whyQuery},
	{in: "?path=..", reason: whyQuery},
	{in: "C:", reason: whyDrive},
	{in: "c:/x", reason: whyDrive},
	{in: "C:x", reason: whyDrive},
	{in: "a/D:/x", reason: whyDrive},
	{in: "z:", reason: whyDrive},
	{in: `C:\x`, reason: whyBackslash},
	{in: strings.Repeat("s", 256), reason: "it has a segment longer than 255 bytes"},
	{in: strings.Repeat("s/", 512) + "s", reason: "it is longer than 1024 bytes"},
	{in: ".git", reason: whyDotGit},
	{in: ".GIT/config", reason: whyDotGit},
	{in: "a/.Git/hooks/pre-commit", reason: whyDotGit},
	{in: ".git.", reason: whyDotGit},
	{in: ".git ", reason: whyDotGit},
	{in: ".git. . ", reason: whyDotGit},
	{in: "GIT~1/config", reason: whyDotGit},
	{in: ".git::$INDEX_ALLOCATION", reason: whyDotGit},
	{in: ".g\u200cit", reason: whyDotGit},
	{in: "\ufeff.git", reason: whyDotGit},

	// Refused, as the escaped rest of a URL.
	{in: "", fromURL: true, reason: "it is empty"},
	{in: "%2e%2e/x", fromURL: true, reason: whyLeaves},
	{in: "%2E%2E%2Fetc%2Fpasswd", fromURL: true, reason: whyLeaves},
	{in: "..%2fetc", fromURL: true, reason: whyLeaves},
	{in: "a/%2e%2e", fromURL: true, reason: whyLeaves},
	{in: "%252e%252e%252f", fromURL: true, reason: whyEncoded},
	{in: "%252e%252e/x", fromURL: true, reason: whyEncoded},
	{in: "%2F..", fromURL: true, reason: whyAbsolute},
	{in: "/etc/passwd", fromURL: true, reason: whyAbsolute},
	{in: "a%00b", fromURL: true, reason: whyControl},
	{in: "a%0Ab", fromURL: true, reason: whyControl},
	{in: "a%5c..%5cb", fromURL: true, reason: whyBackslash},
	{in: `\\server\share`, fromURL: true, reason: whyBackslash},
	{in: "%5C%5Cserver%5Cshare", fromURL: true, reason: whyBackslash},
	{in: "C%3A/x", fromURL: true, reason: whyDrive},
	{in: "c%3a%5cx", fromURL: true, reason: whyBackslash},
	{in: "a%23b", fromURL: true, reason: whyFragment},
	{in: "a%3Fb", fromURL: true, reason: whyQuery},
	{in: "%ff", fromURL: true, reason: whyNotUTF8},
	{in: "%c0%ae%c0%ae/x", fromURL: true, reason: whyNotUTF8},
	{in: "%2egit/config", fromURL: true, reason: whyDotGit},
	{in: "....//", fromURL: true, reason: whyTrailing},
	{in: "./a", fromURL: true, reason: whyDotSeg},
	{in: "a/./b", fromURL: true, reason: whyDotSeg},
	{in: "a//b", fromURL: true, reason: whyEmptySeg},
	{in: "a%2F%2Fb", fromURL: true, reason: whyEmptySeg},
	{in: "a/", fromURL: true, reason: whyTrailing},
	{in: "a/..", fromURL: true, reason: whyLeaves},
	{in: "%zz", fromURL: true, reason: whyBadEscape},
	{in: "%", fromURL: true, reason: whyBadEscape},
	{in: "a%2", fromURL: true, reason: whyBadEscape},
}

func TestArtifactPathCorpus(t *testing.T) {
	for _, tc := range artifactPathCorpus {
		name := "clean/"
		got, err := CleanArtifactPath(tc.in, tc.allowEmpty)
		if tc.fromURL {
			name = "url/"
			got, err = ArtifactPathFromURL(tc.in)
		}
		t.Run(name+artifactCaseName(tc.in), func(t *testing.T) {
			if tc.reason == "" {
				if err != nil || got != tc.want {
					t.Fatalf("got %q, %v; want %q", got, err, tc.want)
				}
				return
			}
			if err == nil {
				t.Fatalf("got %q, want an error containing %q", got, tc.reason)
			}
			checkArtifactPathError(t, err, tc.in)
			if !strings.Contains(err.Error(), tc.reason) {
				t.Errorf("error %q does not say %q", err, tc.reason)
			}
		})
	}
}

func TestJoinArtifactPath(t *testing.T) {
	longDir, longName := strings.Repeat("s/", 450)+"s", strings.Repeat("t/", 100)+"t"
	for _, tc := range []struct {
		dir, name string
		want      string
		quoted    string // the part the error must quote; "" when accepted
	}{
		{dir: "", name: "MLmodel", want: "MLmodel"},
		{dir: "model", name: "MLmodel", want: "model/MLmodel"},
		{dir: "a/b", name: "c/d.txt", want: "a/b/c/d.txt"},
		{dir: "", name: "", quoted: ""},
		{dir: "model", name: "", quoted: ""},
		{dir: "model", name: "../x", quoted: "../x"},
		{dir: "model", name: "..", quoted: ".."},
		{dir: "model", name: "/etc/passwd", quoted: "/etc/passwd"},
		{dir: "model", name: `C:\Users\me\x.txt`, quoted: `C:\Users\me\x.txt`},
		{dir: "model", name: "a#b", quoted: "a#b"},
		{dir: "model/", name: "x", quoted: "model/"},
		{dir: "../model", name: "x", quoted: "../model"},
		{dir: "a", name: ".git/config", quoted: ".git/config"},
		// Each part is short enough, their join is not.
		{dir: longDir, name: longName, quoted: longDir + "/" + longName},
	} {
		got, err := JoinArtifactPath(tc.dir, tc.name)
		if tc.want != "" {
			if err != nil || got != tc.want {
				t.Errorf("JoinArtifactPath(%q, %q) = %q, %v; want %q", tc.dir, tc.name, got, err, tc.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("JoinArtifactPath(%q, %q) = %q, want an error", tc.dir, tc.name, got)
			continue
		}
		checkArtifactPathError(t, err, tc.quoted)
	}
}

// artifactCaseName keeps subtest names of the long cases readable.
func artifactCaseName(s string) string {
	if len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// checkArtifactPathError checks that err is one line, quotes in and
// matches ErrInvalidArtifactPath.
func checkArtifactPathError(t *testing.T, err error, in string) {
	t.Helper()
	msg := err.Error()
	if strings.ContainsAny(msg, "\n\r") {
		t.Errorf("error is not one line: %q", msg)
	}
	if !strings.Contains(msg, strconv.Quote(in)) {
		t.Errorf("error %q does not quote the input %q", msg, in)
	}
	if !errors.Is(err, ErrInvalidArtifactPath) {
		t.Errorf("error %q does not match ErrInvalidArtifactPath", msg)
	}
}
