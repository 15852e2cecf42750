package secret

import (
	"slices"
	"strings"
	"unicode"
)

// Redacted replaces every secret that would otherwise be written to a run.
const Redacted = "[redacted]"

// minSecretLen is the shortest value treated as a secret: shorter values
// (ports, flags like "1" or "true", user names) would redact ordinary text
// everywhere, and are too short to be worth stealing.
const minSecretLen = 6

// secretWords are the parts of a variable or flag name that mark its value
// as a secret.
var secretWords = []string{
	"KEY", "TOKEN", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL",
	"AUTH", "COOKIE", "SESSION", "PRIVATE",
}

// IsSecretName reports whether a variable or flag named name probably holds
// a secret: whether name, upper-cased, contains KEY, TOKEN, SECRET,
// PASSWORD, PASSWD, CREDENTIAL, AUTH, COOKIE, SESSION or PRIVATE. The test
// is deliberately broad (MONKEY and AUTHOR match too): a harmless value
// hidden costs little, a leaked one cannot be taken back.
func IsSecretName(name string) bool {
	up := strings.ToUpper(name)
	for _, w := range secretWords {
		if strings.Contains(up, w) {
			return true
		}
	}
	return false
}

// secretEndings are the word endings that mark a flag or override name
// as naming a secret, in IsSecretFlag.
var secretEndings = []string{
	"KEY", "TOKEN", "SECRET", "SECRETS", "PASSWORD", "PASSWORDS", "PASSWD",
	"CREDENTIAL", "CREDENTIALS", "AUTH", "COOKIE", "COOKIES", "SESSION", "PRIVATE",
}

// IsSecretFlag reports whether a command-line flag or override named name
// ("api-key", "hf_token", "db.password", "apiKey") probably takes a secret:
// whether one of its words (split at '-', '_', '.', other punctuation and
// lower-to-upper case changes) ends with KEY, TOKEN, SECRET, PASSWORD,
// PASSWD, CREDENTIAL, AUTH, COOKIE, SESSION or PRIVATE (or SECRETS,
// PASSWORDS, CREDENTIALS, COOKIES). Narrower than IsSecretName, as flags
// carry the hyperparameters a run is for: max_tokens, tokenizer,
// num_keypoints and author are not secrets. A value that is the value of
// a secret variable is redacted whatever the flag's name.
func IsSecretFlag(name string) bool {
	for _, w := range words(name) {
		w = strings.ToUpper(w)
		for _, e := range secretEndings {
			if strings.HasSuffix(w, e) {
				return true
			}
		}
	}
	return false
}

// words splits a name into its words: at characters other than letters
// and digits, and where a lower-case letter is followed by an upper-case
// one.
func words(name string) []string {
	var out []string
	start := -1
	var prev rune
	for i, r := range name {
		alnum := unicode.IsLetter(r) || unicode.IsDigit(r)
		switch {
		case !alnum:
			if start >= 0 {
				out = append(out, name[start:i])
			}
			start = -1
		case start < 0:
			start = i
		case unicode.IsUpper(r) && unicode.IsLower(prev):
			out = append(out, name[start:i])
			start = i
		}
		prev = r
	}
	if start >= 0 {
		out = append(out, name[start:])
	}
	return out
}

// plainSessionVars name desktop-session variables that IsSecretName flags
// for SESSION but that hold ordinary words ("ubuntu", "x11", "user"):
// taking those as secrets would redact them from every path and log line.
var plainSessionVars = map[string]bool{
	"DESKTOP_SESSION":     true,
	"GDMSESSION":          true,
	"XDG_SESSION_CLASS":   true,
	"XDG_SESSION_DESKTOP": true,
	"XDG_SESSION_ID":      true,
	"XDG_SESSION_TYPE":    true,
}

// A Redactor replaces known secret values in text with Redacted. Its
// methods may be called from several goroutines at once, but Add must not
// run at the same time as any other method. A nil *Redactor knows no
// secrets.
type Redactor struct {
	secrets []string // unique, longest first
	// byFirst lists the secrets by their first byte, longest first, and
	// pairs has a bit set for the first two bytes of each, so that text is
	// scanned once whatever the number of secrets, and almost every
	// position is rejected by one bit test.
	byFirst [256][]string
	pairs   [1 << 16 / 64]uint64
	maxLen  int
}

// NewRedactor returns a Redactor that knows the values of the variables of
// environ ("NAME=value" entries, as from os.Environ) whose names
// IsSecretName, except for a few desktop-session variables that hold plain
// words (DESKTOP_SESSION, GDMSESSION, XDG_SESSION_CLASS, XDG_SESSION_DESKTOP,
// XDG_SESSION_ID, XDG_SESSION_TYPE). The rules of Add apply to each value.
func NewRedactor(environ []string) *Redactor {
	r := &Redactor{}
	for _, kv := range environ {
		name, value, ok := strings.Cut(kv, "=")
		if ok && name != "" && IsSecretName(name) && !plainSessionVars[name] {
			r.Add(value)
		}
	}
	return r
}

// Add makes the Redactor replace more secrets. A value spanning several
// lines is taken line by line, as output is redacted a line at a time: a
// private key in PEM form is then hidden line by line. Values, or lines of
// them, shorter than 6 bytes are ignored.
func (r *Redactor) Add(values ...string) {
	changed := false
	for _, v := range values {
		for _, part := range strings.FieldsFunc(v, func(c rune) bool { return c == '\n' || c == '\r' }) {
			if len(part) < minSecretLen || slices.Contains(r.secrets, part) {
				continue
			}
			r.secrets = append(r.secrets, part)
			changed = true
		}
	}
	if !changed {
		return
	}
	slices.SortStableFunc(r.secrets, func(a, b string) int { return len(b) - len(a) })
	r.byFirst = [256][]string{}
	r.pairs = [len(r.pairs)]uint64{}
	for _, s := range r.secrets {
		r.byFirst[s[0]] = append(r.byFirst[s[0]], s)
		pair := uint(s[0])<<8 | uint(s[1])
		r.pairs[pair/64] |= 1 << (pair % 64)
	}
	r.maxLen = len(r.secrets[0])
}

// Redact returns s with every occurrence of every known secret replaced by
// Redacted. Where occurrences overlap, or one secret contains another, the
// whole stretch they cover becomes one Redacted, so that no part of any
// secret is left. When s holds no secret it is returned as is, without
// allocating.
func (r *Redactor) Redact(s string) string {
	spans := findSpans(r, s, nil)
	if spans == nil {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	last := 0
	for _, sp := range spans {
		b.WriteString(s[last:sp.Start])
		b.WriteString(Redacted)
		last = sp.End
	}
	b.WriteString(s[last:])
	return b.String()
}

// RedactBytes is Redact for byte slices. When b holds no secret, b itself
// is returned; otherwise the result is a new slice and b is not modified.
func (r *Redactor) RedactBytes(b []byte) []byte {
	spans := findSpans(r, b, nil)
	if spans == nil {
		return b
	}
	out := make([]byte, 0, len(b)+len(spans)*len(Redacted))
	last := 0
	for _, sp := range spans {
		out = append(out, b[last:sp.Start]...)
		out = append(out, Redacted...)
		last = sp.End
	}
	return append(out, b[last:]...)
}

// Contains reports whether s holds any known secret.
func (r *Redactor) Contains(s string) bool {
	if r == nil || len(r.secrets) == 0 {
		return false
	}
	for i := 0; i+minSecretLen <= len(s); i++ {
		if r.maybeAt(s[i], s[i+1]) && matchAt(r.byFirst[s[i]], s, i) > 0 {
			return true
		}
	}
	return false
}

// maybeAt reports whether a secret may start with the bytes a, b.
func (r *Redactor) maybeAt(a, b byte) bool {
	pair := uint(a)<<8 | uint(b)
	return r.pairs[pair/64]&(1<<(pair%64)) != 0
}

// Empty reports whether r knows no secret, so that callers can skip the
// work redaction needs, such as holding back partial lines.
func (r *Redactor) Empty() bool {
	return r == nil || len(r.secrets) == 0
}

// Span is a stretch [Start, End) of text covered by secrets.
type Span struct{ Start, End int }

// MaxLen is the length of the longest secret r knows; 0 when none.
func (r *Redactor) MaxLen() int {
	if r == nil {
		return 0
	}
	return r.maxLen
}

// Spans appends to dst the stretches of b covered by known secrets, in
// order, merged where they overlap; it returns nil when there are none.
func (r *Redactor) Spans(b []byte, dst []Span) []Span { return findSpans(r, b, dst) }

// findSpans appends to dst the stretches of s covered by known secrets, in
// order, merged where they overlap; it returns nil when there are none.
func findSpans[T string | []byte](r *Redactor, s T, dst []Span) []Span {
	if r == nil || len(r.secrets) == 0 {
		return nil
	}
	for i := 0; i+minSecretLen <= len(s); i++ {
		if !r.maybeAt(s[i], s[i+1]) {
			continue
		}
		n := matchAt(r.byFirst[s[i]], s, i)
		if n == 0 {
			continue
		}
		end := i + n
		if k := len(dst) - 1; k >= 0 && i < dst[k].End {
			dst[k].End = max(dst[k].End, end)
		} else {
			dst = append(dst, Span{i, end})
		}
	}
	return dst
}

// matchAt returns the length of the longest of cands (longest first) that
// occurs in s at i, or 0.
func matchAt[T string | []byte](cands []string, s T, i int) int {
	for _, c := range cands {
		if len(c) <= len(s)-i && string(s[i:i+len(c)]) == c {
			return len(c)
		}
	}
	return 0
}
