package mlflow

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidArtifactPath is matched, through errors.Is, by every error the
// artifact path functions return, so that handlers can answer
// INVALID_PARAMETER_VALUE without looking at message text.
var ErrInvalidArtifactPath = errors.New("invalid artifact path")

const (
	// maxArtifactPathLen bounds a whole path; well below PATH_MAX, so a
	// client mirroring artifacts to disk below some directory can still
	// create them.
	maxArtifactPathLen = 1024
	// maxArtifactSegmentLen is NAME_MAX of common filesystems.
	maxArtifactSegmentLen = 255
)

// artifactPathError quotes the path with %q, so the message stays one line
// whatever bytes the client sent.
type artifactPathError struct {
	path   string
	reason string
}

func (e *artifactPathError) Error() string {
	return fmt.Sprintf("invalid artifact path %q: %s", e.path, e.reason)
}

func (e *artifactPathError) Is(target error) bool { return target == ErrInvalidArtifactPath }

// artifactPathRule is one reason to refuse a path: bad reports whether its
// argument breaks the rule.
type artifactPathRule struct {
	bad    func(string) bool
	reason string
}

// artifactPathRules apply to the path as a whole, in order; the first rule
// broken names the error. Rules refuse rather than repair: a path that is
// accepted is returned unchanged, so one stored artifact has exactly one
// spelling and no layer behind this one can read a path differently.
var artifactPathRules = []artifactPathRule{
	// Bounds the work per request and keeps paths creatable on disk.
	{func(s string) bool { return len(s) > maxArtifactPathLen }, "it is longer than 1024 bytes"},
	// Listings go back to clients as JSON text; bytes that are not UTF-8
	// would be mangled there, and overlong forms ("\xc0\xae" for ".") are
	// a classic way to smuggle dots and slashes past byte-wise checks.
	{func(s string) bool { return !utf8.ValidString(s) }, "it is not valid UTF-8"},
	// NUL truncates paths in C code (and git trees); other control
	// characters, C1 included, forge log lines and drive terminals.
	{func(s string) bool { return strings.IndexFunc(s, unicode.IsControl) >= 0 }, "it contains a control character"},
	// A backslash is a separator on Windows: "a\..\..\x" and UNC paths
	// ("\\server\share") would mean something else on a Windows client.
	{func(s string) bool { return strings.Contains(s, `\`) }, "it contains a backslash"},
	// The caller decoded once; a %XX that survives is double encoding
	// ("%252e%252e" arrives as "%2e%2e"), which any layer decoding again
	// would turn into "..".
	{hasPercentEscape, "it is still percent-encoded after one decoding"},
	// In a URL these start the fragment and the query. Inside an artifact
	// path they can only come from a client that wants two parsers to cut
	// the same URL differently, as in MLflow's traversal CVEs.
	{func(s string) bool { return strings.Contains(s, "#") }, `it contains "#"`},
	{func(s string) bool { return strings.Contains(s, "?") }, `it contains "?"`},
	// Joined naively ("artifacts" + p, or filepath.Join on some clients),
	// an absolute path escapes the run's artifacts.
	{func(s string) bool { return strings.HasPrefix(s, "/") }, "it is absolute"},
	// A blob has no trailing slash; accepting one would give a second
	// spelling of the same name.
	{func(s string) bool { return strings.HasSuffix(s, "/") }, "it ends with a slash"},
}

// artifactSegmentRules apply to each slash-separated segment, in order, after all
// of artifactPathRules passed.
var artifactSegmentRules = []artifactPathRule{
	// Repeated slashes are refused, not merged, so that "a//b" is never a
	// second spelling of "a/b" (git trees cannot hold an empty name).
	{func(seg string) bool { return seg == "" }, "it contains an empty segment"},
	// "." is harmless to git but is a second spelling of its parent.
	{func(seg string) bool { return seg == "." }, `it contains a "." segment`},
	// ".." is the traversal itself. Longer runs of dots ("...") stay:
	// they are ordinary names to POSIX and to git.
	{func(seg string) bool { return seg == ".." }, "it leaves the run's artifacts"},
	// "C:", "c:/x" or "C:x" is a drive (or a drive-relative path) on a
	// Windows client, wherever the segment sits.
	{looksLikeDrive, "it contains a Windows drive letter"},
	// NAME_MAX of common filesystems.
	{func(seg string) bool { return len(seg) > maxArtifactSegmentLen }, "it has a segment longer than 255 bytes"},
	// git treats ".git" specially in any case, and so do NTFS and HFS+
	// for names they read as ".git"; git's fsck flags such trees, so one
	// artifact would make the whole run unfetchable where fsck is on.
	{isDotGit, `it contains a ".git" segment`},
}

// CleanArtifactPath checks p, an artifact path below a run's artifacts/
// that has been percent-decoded exactly once (a query or JSON value, or
// what ArtifactPathFromURL decoded), and returns it unchanged when it is a
// clean relative slash-separated path. It does not repair paths: it
// refuses ".", ".." and empty segments, leading and trailing slashes,
// backslashes, control characters, invalid UTF-8, a remaining %XX, "#",
// "?", Windows drive letters, ".git" segments and overlong paths.
// allowEmpty accepts "" (the artifacts root, for listings).
func CleanArtifactPath(p string, allowEmpty bool) (string, error) {
	if reason := artifactPathProblem(p, allowEmpty); reason != "" {
		return "", &artifactPathError{path: p, reason: reason}
	}
	return p, nil
}

// ArtifactPathFromURL reads an artifact path from escapedRest, the part of
// r.URL.EscapedPath() after the route prefix and its slash. It decodes it
// once and applies CleanArtifactPath without allowEmpty. Handlers should
// use it rather than r.URL.Path, which net/http has already decoded, so
// that an encoded "%2F" or "%252e" can still be told from the real thing.
func ArtifactPathFromURL(escapedRest string) (string, error) {
	decoded, err := url.PathUnescape(escapedRest)
	if err != nil {
		return "", &artifactPathError{path: escapedRest, reason: "it has a malformed percent-escape"}
	}
	reason := artifactPathProblem(decoded, false)
	if reason == "" {
		return decoded, nil
	}
	if decoded != escapedRest {
		reason += fmt.Sprintf(" (decoded %q)", decoded)
	}
	return "", &artifactPathError{path: escapedRest, reason: reason}
}

// JoinArtifactPath joins dir, an artifact directory ("" for the root), and
// name, a client-given relative path such as a multipart filename or the
// file below an artifact_path. Both parts and the result must pass
// CleanArtifactPath; the error quotes the part that did not.
func JoinArtifactPath(dir, name string) (string, error) {
	if reason := artifactPathProblem(dir, true); reason != "" {
		return "", &artifactPathError{path: dir, reason: reason}
	}
	if reason := artifactPathProblem(name, false); reason != "" {
		return "", &artifactPathError{path: name, reason: reason}
	}
	if dir == "" {
		return name, nil
	}
	// Both parts are clean, so only the length limit can still fail.
	return CleanArtifactPath(dir+"/"+name, false)
}

// artifactPathProblem returns why p is refused, or "" when it is not.
func artifactPathProblem(p string, allowEmpty bool) string {
	if p == "" {
		if allowEmpty {
			return ""
		}
		return "it is empty"
	}
	if reason := firstBrokenRule(artifactPathRules, p); reason != "" {
		return reason
	}
	for seg := range strings.SplitSeq(p, "/") {
		if reason := firstBrokenRule(artifactSegmentRules, seg); reason != "" {
			return reason
		}
	}
	return ""
}

func firstBrokenRule(rules []artifactPathRule, s string) string {
	for _, r := range rules {
		if r.bad(s) {
			return r.reason
		}
	}
	return ""
}

const percentHexDigits = "0123456789abcdefABCDEF"

func hasPercentEscape(s string) bool {
	for i := 0; i+2 < len(s); i++ {
		if s[i] == '%' && strings.IndexByte(percentHexDigits, s[i+1]) >= 0 && strings.IndexByte(percentHexDigits, s[i+2]) >= 0 {
			return true
		}
	}
	return false
}

func looksLikeDrive(seg string) bool {
	return len(seg) >= 2 && seg[1] == ':' && ('a' <= seg[0] && seg[0] <= 'z' || 'A' <= seg[0] && seg[0] <= 'Z')
}

// isDotGit follows git's is_ntfs_dotgit and is_hfs_dotgit: HFS+ ignores
// some invisible code points, and NTFS ignores case, trailing dots and
// spaces, an alternate data stream (":..."), and reaches ".git" through
// its 8.3 short name "git~1".
func isDotGit(seg string) bool {
	name := strings.ToLower(strings.Map(dropHFSIgnorable, seg))
	for _, prefix := range []string{".git", "git~1"} {
		rest, ok := strings.CutPrefix(name, prefix)
		if !ok {
			continue
		}
		rest, _, _ = strings.Cut(rest, ":")
		if strings.Trim(rest, ". ") == "" {
			return true
		}
	}
	return false
}

// dropHFSIgnorable maps the code points HFS+ ignores in names (the list in
// git's utf8.c) to -1, which strings.Map drops.
func dropHFSIgnorable(r rune) rune {
	switch {
	case r >= 0x200c && r <= 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x206a && r <= 0x206f, r == 0xfeff:
		return -1
	}
	return r
}
