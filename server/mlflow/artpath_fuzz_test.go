package mlflow

import (
	"io/fs"
	"net/url"
	"path"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/gitruns/gitruns/run"
)

func FuzzCleanArtifactPath(f *testing.F) {
	for _, tc := range artifactPathCorpus {
		f.Add(tc.in, tc.allowEmpty)
	}
	f.Fuzz(func(t *testing.T, p string, allowEmpty bool) {
		got, err := CleanArtifactPath(p, allowEmpty)
		if err != nil {
			checkArtifactPathError(t, err, p)
			return
		}
		// Paths are refused, never repaired, so what passes comes back as is.
		if got != p {
			t.Fatalf("CleanArtifactPath(%q) = %q, want it unchanged", p, got)
		}
		checkCleanArtifactPath(t, got, allowEmpty)
	})
}

func FuzzArtifactPathFromURL(f *testing.F) {
	for _, tc := range artifactPathCorpus {
		f.Add(tc.in)
		f.Add(url.PathEscape(tc.in))
	}
	f.Fuzz(func(t *testing.T, escaped string) {
		got, err := ArtifactPathFromURL(escaped)
		if err != nil {
			checkArtifactPathError(t, err, escaped)
			return
		}
		if decoded, err := url.PathUnescape(escaped); err != nil || got != decoded {
			t.Fatalf("ArtifactPathFromURL(%q) = %q, want the one decoding %q (%v)", escaped, got, decoded, err)
		}
		checkCleanArtifactPath(t, got, false)
	})
}

func FuzzJoinArtifactPath(f *testing.F) {
	f.Add("", "MLmodel")
	f.Add("model", "../x")
	for _, tc := range artifactPathCorpus {
		f.Add("model", tc.in)
		f.Add(tc.in, "x")
	}
	f.Fuzz(func(t *testing.T, dir, name string) {
		got, err := JoinArtifactPath(dir, name)
		if err != nil {
			checkJoinError(t, err, dir, name)
			return
		}
		if want := path.Join(dir, name); got != want {
			t.Fatalf("JoinArtifactPath(%q, %q) = %q, want %q", dir, name, got, want)
		}
		checkCleanArtifactPath(t, got, false)
	})
}

// checkJoinError checks err like checkArtifactPathError, for whichever of
// dir, name or their join it quotes.
func checkJoinError(t *testing.T, err error, dir, name string) {
	t.Helper()
	for _, quoted := range []string{dir, name, dir + "/" + name} {
		if strings.HasPrefix(err.Error(), "invalid artifact path "+strconv.Quote(quoted)+":") {
			checkArtifactPathError(t, err, quoted)
			return
		}
	}
	t.Fatalf("error %q quotes neither %q nor %q nor their join", err, dir, name)
}

var percentEscapeRE = regexp.MustCompile(`%[0-9A-Fa-f]{2}`)

// checkCleanArtifactPath checks the properties that every accepted path
// must have, independently of how CleanArtifactPath is written.
func checkCleanArtifactPath(t *testing.T, got string, allowEmpty bool) {
	t.Helper()
	if got == "" {
		if !allowEmpty {
			t.Fatal("accepted an empty path without allowEmpty")
		}
		return
	}
	switch {
	case !utf8.ValidString(got):
		t.Fatalf("accepted %q: not UTF-8", got)
	case strings.ContainsAny(got, "\\\x00#?"):
		t.Fatalf("accepted %q: backslash, NUL, # or ?", got)
	case strings.IndexFunc(got, unicode.IsControl) >= 0:
		t.Fatalf("accepted %q: control character", got)
	case percentEscapeRE.MatchString(got):
		t.Fatalf("accepted %q: percent-encoded", got)
	case strings.HasPrefix(got, "/"):
		t.Fatalf("accepted %q: absolute", got)
	case path.Clean(got) != got || !fs.ValidPath(got):
		t.Fatalf("accepted %q: not clean", got)
	case !strings.HasPrefix(path.Join("artifacts", got), "artifacts/"):
		t.Fatalf("accepted %q: leaves artifacts/", got)
	}
	for seg := range strings.SplitSeq(got, "/") {
		if seg == "." || seg == ".." || strings.EqualFold(seg, ".git") {
			t.Fatalf("accepted %q: segment %q", got, seg)
		}
	}
	if again, err := CleanArtifactPath(got, allowEmpty); err != nil || again != got {
		t.Fatalf("CleanArtifactPath(%q) = %q, %v; not idempotent", got, again, err)
	}
	// The store must take what the server accepts, unchanged.
	if stored, err := run.CleanArtifactPath(got); err != nil || stored != got {
		t.Fatalf("run.CleanArtifactPath(%q) = %q, %v", got, stored, err)
	}
}
