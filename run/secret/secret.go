package secret

import (
	"bytes"
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

// Redact returns s with every secret replaced by Redacted: every
// occurrence of every known secret, and every secret recognised by its
// shape (see Find). Where secrets overlap, or one contains another, the
// whole stretch they cover becomes one Redacted, so that no part of any
// secret is left. When s holds no secret it is returned as is, without
// allocating. A nil *Redactor knows no values, but still recognises
// shapes.
func (r *Redactor) Redact(s string) string {
	spans, _ := findSpans(r, asBytes(s), nil, false)
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
	spans, _ := findSpans(r, b, nil, false)
	return replaceSpans(b, spans)
}

// replaceSpans returns b with each span replaced by Redacted; b itself
// when there is none.
func replaceSpans(b []byte, spans []Span) []byte {
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

// Contains reports whether s holds any secret, known or by shape.
func (r *Redactor) Contains(s string) bool {
	if len(scanShapes(asBytes(s), false, nil)) > 0 {
		return true
	}
	if r.Empty() {
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

// Empty reports whether r knows no secret value. Secrets recognised by
// their shape are looked for all the same.
func (r *Redactor) Empty() bool {
	return r == nil || len(r.secrets) == 0
}

// Span is a stretch [Start, End) of text covered by secrets.
type Span struct{ Start, End int }

// MaxLen is the length of the longest secret value r knows; 0 when none.
func (r *Redactor) MaxLen() int {
	if r == nil {
		return 0
	}
	return r.maxLen
}

// Spans appends to dst the stretches of b covered by secrets, known or by
// shape, in order, merged where they overlap; it returns nil when there
// are none. b is taken to be text that may go on: a secret that may
// continue past its end, or an assignment whose value is still to come,
// is taken to reach it.
func (r *Redactor) Spans(b []byte, dst []Span) []Span {
	spans, _ := findSpans(r, b, dst, true)
	return spans
}

// SafeCut returns the largest position at or before cut where b, text
// that goes on, may be cut in two parts redacted separately without
// missing a secret: no secret, known or by shape, nor the text it is
// recognised by (the key of password=..., the scheme of a URL), crosses
// it. The cut must leave room after it for any secret's context to be
// whole: a key or prefix that starts before the end of b is judged with
// what has come of it.
func (r *Redactor) SafeCut(b []byte, cut int) int {
	cut = min(cut, len(b))
	hits := scanShapes(b, true, nil)
	var values []Span
	if !r.Empty() {
		values = valueSpans(r, b, nil)
	}
	for changed := true; changed; {
		changed = false
		for _, h := range hits {
			if h.ctx < cut && cut < h.end {
				cut, changed = h.ctx, true
			}
		}
		for _, sp := range values {
			if sp.Start < cut && cut < sp.End {
				cut, changed = sp.Start, true
			}
		}
	}
	return cut
}

// findSpans appends to dst the stretches of b covered by secrets, in
// order, merged where they overlap; it returns nil when there are none.
// open tells that the last of them is a private key whose END line is
// not in b. more is as for scanShapes.
func findSpans(r *Redactor, b []byte, dst []Span, more bool) (spans []Span, open bool) {
	var stack [8]hit
	hits := scanShapes(b, more, stack[:0])
	if len(hits) > 0 {
		open = hits[len(hits)-1].kind == kOpenKey
	}
	if r.Empty() {
		for _, h := range hits {
			dst = append(dst, Span{h.start, h.end})
		}
		return dst, open
	}
	base := len(dst)
	dst = valueSpans(r, b, dst)
	if len(hits) == 0 {
		return dst, open
	}
	// Merge the two ordered lists.
	values := append([]Span(nil), dst[base:]...)
	dst = dst[:base]
	add := func(sp Span) {
		if k := len(dst) - 1; k >= base && sp.Start < dst[k].End {
			dst[k].End = max(dst[k].End, sp.End)
		} else {
			dst = append(dst, sp)
		}
	}
	for len(values) > 0 || len(hits) > 0 {
		if len(hits) == 0 || (len(values) > 0 && values[0].Start <= hits[0].start) {
			add(values[0])
			values = values[1:]
		} else {
			add(Span{hits[0].start, hits[0].end})
			hits = hits[1:]
		}
	}
	return dst, open
}

// valueSpans appends to dst the stretches of b covered by known secrets,
// in order, merged where they overlap.
func valueSpans(r *Redactor, s []byte, dst []Span) []Span {
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

// A Stream redacts text that arrives in parts, such as a command's
// output, with r: each part is whole lines (or the last of the text), and
// a private key whose BEGIN line is in one part is hidden through its END
// line, however many parts later. A Stream is not safe for use by several
// goroutines at once.
type Stream struct {
	r     *Redactor
	inKey bool // inside a private key whose END line is still to come
}

// NewStream returns a Stream that redacts with r, which may be nil.
func (r *Redactor) NewStream() *Stream { return &Stream{r: r} }

// Redact returns b, whole lines, redacted: b itself, or a part of it, when
// it holds no secret, else a new slice; b is not modified.
func (s *Stream) Redact(b []byte) []byte {
	if s.inKey {
		b = s.skipKey(b)
		if s.inKey {
			return b[:0]
		}
	}
	spans, open := findSpans(s.r, b, nil, false)
	s.inKey = open
	return replaceSpans(b, spans)
}

// skipKey drops the lines of a private key at the start of b, through its
// END line, and returns the rest. A line that cannot be part of a key
// ends it too, so that a key left unfinished hides little else.
func (s *Stream) skipKey(b []byte) []byte {
	for len(b) > 0 {
		e := bytes.IndexAny(b, "\n\r")
		line := b
		if e >= 0 {
			line = b[:e]
		}
		if k := bytes.Index(line, []byte("-----END ")); k >= 0 {
			s.inKey = false
			if c := bytes.Index(line[k+9:], []byte("-----")); c >= 0 {
				return b[k+9+c+5:]
			}
			return b[len(line):]
		}
		if !keyLine(line) {
			s.inKey = false
			return b
		}
		if e < 0 {
			return b[:0]
		}
		b = b[e+1:]
	}
	return b
}

// keyLine reports whether line may be inside a PEM block: base64, a
// header ("Proc-Type: 4,ENCRYPTED") or empty.
func keyLine(line []byte) bool {
	line = bytes.TrimSpace(line)
	if len(line) > 128 {
		return false
	}
	if k := bytes.Index(line, []byte(": ")); k > 0 && bytes.IndexByte(line[:k], ' ') < 0 {
		return true
	}
	for _, c := range line {
		if class[c]&(alnum|cB64) == 0 {
			return false
		}
	}
	return true
}
