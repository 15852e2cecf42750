package secret

import (
	"bytes"
	"math"
	"strings"
	"unsafe"
)

// Secrets are also recognised by their shape, wherever they come from: a
// script that prints a token it read from a file, or a key passed under
// an innocent flag name, would otherwise put it in the run. The shapes are
// those of tokens whose issuers give them a fixed prefix (GitHub, OpenAI,
// Anthropic, Hugging Face, Slack, AWS, Google, Stripe, GitLab, npm), JSON
// Web Tokens, PEM private keys, passwords in URLs, Azure SAS signatures,
// and values assigned to a name that says it is a secret (password=...,
// "api_key": "...").
//
// Output passes through here at hundreds of megabytes a second, so the
// scan looks only at a few anchor bytes, found with the vectorised
// IndexByte: '_' and '-' (inside every prefix but AWS's and Google's),
// 'A' (AKIA..., AIza...), 'J' (eyJ, the start of every JWT), ':' and '='
// (assignments, URLs). Ordinary output has few of them, and each is
// rejected by a look at the bytes around it.

// Kinds of secrets found by their shape, as Finding.Kind tells them.
const (
	KindAWS         = "AWS access key"
	KindGitHub      = "GitHub token"
	KindOpenAI      = "OpenAI key"
	KindAnthropic   = "Anthropic key"
	KindHuggingFace = "Hugging Face token"
	KindSlack       = "Slack token"
	KindJWT         = "JSON Web Token"
	KindPrivateKey  = "private key"
	KindURLPassword = "password in URL"
	KindGoogle      = "Google API key"
	KindStripe      = "Stripe key"
	KindGitLab      = "GitLab token"
	KindNPM         = "npm token"
	KindAzureSAS    = "Azure SAS signature"
	KindAssigned    = "value of a secret-named key"
	KindKnown       = "value of a secret variable"
)

// A Finding is a secret found in text: the bytes [Start, End) and what it
// is. It never holds the secret itself, so that it can be shown.
type Finding struct {
	Start, End int
	Kind       string
}

// Find returns the secrets in text, by shape and, when r knows secret
// values, by value (KindKnown), in order of their start. r may be nil.
func (r *Redactor) Find(text string) []Finding {
	var out []Finding
	for _, h := range scanShapes(asBytes(text), false, nil) {
		out = append(out, Finding{h.start, h.end, kindNames[h.kind]})
	}
	if !r.Empty() {
		var known []Finding
		for i := 0; i+minSecretLen <= len(text); i++ {
			if r.maybeAt(text[i], text[i+1]) {
				if n := matchAt(r.byFirst[text[i]], text, i); n > 0 {
					known = append(known, Finding{i, i + n, KindKnown})
					i += n - 1
				}
			}
		}
		out = mergeFindings(out, known)
	}
	return out
}

func mergeFindings(a, b []Finding) []Finding {
	if len(b) == 0 {
		return a
	}
	if len(a) == 0 {
		return b
	}
	out := make([]Finding, 0, len(a)+len(b))
	for len(a) > 0 && len(b) > 0 {
		if a[0].Start <= b[0].Start {
			out, a = append(out, a[0]), a[1:]
		} else {
			out, b = append(out, b[0]), b[1:]
		}
	}
	return append(append(out, a...), b...)
}

// FindShapes returns the secrets text holds by their shape alone.
func FindShapes(text string) []Finding { return (*Redactor)(nil).Find(text) }

// asBytes views s as bytes, to be read only: the scan is written once, for
// byte slices, and runs over strings without copying them.
func asBytes(s string) []byte {
	return unsafe.Slice(unsafe.StringData(s), len(s))
}

// kind numbers the kinds, so that a hit is three words without pointers.
type kind uint8

const (
	kAWS kind = iota
	kGitHub
	kOpenAI
	kAnthropic
	kHuggingFace
	kSlack
	kJWT
	kPrivateKey
	kURLPassword
	kGoogle
	kStripe
	kGitLab
	kNPM
	kAzureSAS
	kAssigned
	// kOpenKey is a private key whose END line is not in the text: it
	// covers the text to its end, and a Stream goes on hiding what
	// follows until the END line.
	kOpenKey
)

var kindNames = [...]string{
	kAWS: KindAWS, kGitHub: KindGitHub, kOpenAI: KindOpenAI, kAnthropic: KindAnthropic,
	kHuggingFace: KindHuggingFace, kSlack: KindSlack, kJWT: KindJWT, kPrivateKey: KindPrivateKey,
	kURLPassword: KindURLPassword, kGoogle: KindGoogle, kStripe: KindStripe, kGitLab: KindGitLab,
	kNPM: KindNPM, kAzureSAS: KindAzureSAS, kAssigned: KindAssigned, kOpenKey: KindPrivateKey,
}

// A hit is a secret found by shape: the bytes [start, end), and from ctx
// (ctx <= start) the text needed to recognise it, such as the key of an
// assignment, which must not be cut from it when text is written in parts.
type hit struct {
	start, end, ctx int
	kind            kind
}

// anchors are the bytes the scan stops at; see the comment at the top.
var anchors = [...]byte{'_', '-', 'A', 'J', ':', '='}

// scanShapes appends to dst the secrets b holds by shape, in order and not
// overlapping. more tells that b may continue: a secret that may go on past
// its end is then taken to reach it, as is an assignment whose value is
// still to come.
func scanShapes(b []byte, more bool, dst []hit) []hit {
	var next [len(anchors)]int
	for k := range next {
		next[k] = -1
	}
	for pos := 0; pos < len(b); {
		first := len(b)
		for k, c := range anchors {
			if next[k] < pos {
				next[k] = len(b)
				if j := bytes.IndexByte(b[pos:], c); j >= 0 {
					next[k] = pos + j
				}
			}
			first = min(first, next[k])
		}
		if first == len(b) {
			break
		}
		pos = first + 1
		if !maybeShape(b, first) {
			continue
		}
		h, ok := shapeAt(b, first, more)
		if !ok {
			continue
		}
		if n := len(dst); n > 0 && h.start < dst[n-1].end {
			// An assignment's key may be found after a token that ends
			// inside its value: the two become one.
			dst[n-1].end = max(dst[n-1].end, h.end)
		} else {
			dst = append(dst, h)
		}
		pos = max(h.end, pos)
	}
	return dst
}

// maybeShape rejects most anchors at once by the byte before or after
// them: in ordinary output they are rarely what a secret needs.
func maybeShape(b []byte, i int) bool {
	var prev, next byte = ' ', ' '
	if i > 0 {
		prev = b[i-1]
	}
	if i+1 < len(b) {
		next = b[i+1]
	}
	switch b[i] {
	case '_':
		return underPrev[prev]
	case '-':
		return dashPrev[prev] || next == '-'
	case 'A':
		return next == 'K' || next == 'S' || next == 'B' || next == 'C' || next == 'I'
	case 'J':
		return prev == 'y'
	case '=':
		return prev != '=' && next != '='
	}
	return next != ':' // ':'
}

var underPrev, dashPrev [256]bool

func init() {
	for _, c := range "pousrfbmk" { // ghp_ hf_ github_ npm_ sk_ rk_
		underPrev[c] = true
	}
	for _, c := range "ktabposr" { // sk- glpat- xoxb-
		dashPrev[c] = true
	}
}

// shapeAt looks for a secret around the anchor byte at b[i].
func shapeAt(b []byte, i int, more bool) (hit, bool) {
	switch b[i] {
	case '_':
		return underscoreAt(b, i, more)
	case '-':
		return dashAt(b, i, more)
	case 'A':
		return capitalAAt(b, i, more)
	case 'J':
		return jwtAt(b, i, more)
	case ':':
		if i+2 < len(b) && b[i+1] == '/' && b[i+2] == '/' {
			return urlPasswordAt(b, i, more)
		}
		return assignedAt(b, i, more)
	case '=':
		return assignedAt(b, i, more)
	}
	return hit{}, false
}

// Character classes.
const (
	cLower = 1 << iota
	cUpper
	cDigit
	cUnder // _
	cDash  // -
	cB64   // + / =
)

var class = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = cLower
	}
	for c := 'A'; c <= 'Z'; c++ {
		t[c] = cUpper
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = cDigit
	}
	t['_'], t['-'] = cUnder, cDash
	t['+'], t['/'], t['='] = cB64, cB64, cB64
	return t
}()

const alnum = cLower | cUpper | cDigit

// boundaryBefore reports whether a token may start at b[i]: it does not
// continue a word.
func boundaryBefore(b []byte, i int) bool {
	return i == 0 || class[b[i-1]]&alnum == 0
}

// hasPrefixAt reports whether b[i:] starts with p.
func hasPrefixAt(b []byte, i int, p string) bool {
	return i >= 0 && len(b)-i >= len(p) && string(b[i:i+len(p)]) == p
}

// body returns the end of the run of bytes of classes set starting at
// b[i], and the classes seen in it.
func body(b []byte, i int, set uint8) (end int, seen uint8) {
	for end = i; end < len(b) && class[b[end]]&set != 0; end++ {
		seen |= class[b[end]]
	}
	return end, seen
}

// mixed reports whether a token's body has at least two of lower case,
// upper case and digits, as random tokens do and words and names do not.
func mixed(seen uint8) bool {
	n := 0
	for _, c := range [...]uint8{cLower, cUpper, cDigit} {
		if seen&c != 0 {
			n++
		}
	}
	return n >= 2
}

// token matches a prefixed token starting at start whose body, from i, is
// at least minLen bytes of classes set and mixed.
func token(b []byte, start, i int, set uint8, minLen int, k kind, more bool) (hit, bool) {
	if !boundaryBefore(b, start) {
		return hit{}, false
	}
	end, seen := body(b, i, set)
	if end == len(b) && more {
		return hit{start: start, end: end, ctx: start, kind: k}, true // may be a token still arriving
	}
	if end-i < minLen || !mixed(seen) {
		return hit{}, false
	}
	return hit{start: start, end: end, ctx: start, kind: k}, true
}

func underscoreAt(b []byte, i int, more bool) (hit, bool) {
	switch {
	case i >= 3 && b[i-3] == 'g' && b[i-2] == 'h' && bytes.IndexByte([]byte("pousr"), b[i-1]) >= 0:
		return token(b, i-3, i+1, alnum, 30, kGitHub, more)
	case hasPrefixAt(b, i-6, "github_pat_"):
		return token(b, i-6, i+5, alnum|cUnder, 22, kGitHub, more)
	case i >= 2 && b[i-2] == 'h' && b[i-1] == 'f':
		return token(b, i-2, i+1, alnum, 30, kHuggingFace, more)
	case hasPrefixAt(b, i-3, "npm_"):
		return token(b, i-3, i+1, alnum, 36, kNPM, more)
	case i >= 2 && (b[i-2] == 's' || b[i-2] == 'r') && b[i-1] == 'k' &&
		(hasPrefixAt(b, i+1, "live_") || hasPrefixAt(b, i+1, "test_")):
		return token(b, i-2, i+6, alnum, 10, kStripe, more)
	}
	return hit{}, false
}

func dashAt(b []byte, i int, more bool) (hit, bool) {
	switch {
	case hasPrefixAt(b, i, "-----BEGIN "):
		return privateKeyAt(b, i)
	case i >= 2 && b[i-2] == 's' && b[i-1] == 'k':
		k := kOpenAI
		if hasPrefixAt(b, i+1, "ant-") {
			k = kAnthropic
		}
		return token(b, i-2, i+1, alnum|cUnder|cDash, 20, k, more)
	case hasPrefixAt(b, i-5, "glpat-"):
		return token(b, i-5, i+1, alnum|cUnder|cDash, 20, kGitLab, more)
	case i >= 4 && hasPrefixAt(b, i-4, "xox") && bytes.IndexByte([]byte("abposr"), b[i-1]) >= 0:
		return token(b, i-4, i+1, alnum|cDash, 10, kSlack, more)
	}
	return hit{}, false
}

func capitalAAt(b []byte, i int, more bool) (hit, bool) {
	if len(b)-i < 4 || !boundaryBefore(b, i) {
		return hit{}, false
	}
	switch string(b[i : i+4]) {
	case "AKIA", "ASIA", "ABIA", "ACCA":
		end, seen := body(b, i+4, cUpper|cDigit)
		if end == len(b) && more {
			return hit{start: i, end: end, ctx: i, kind: kAWS}, true
		}
		if end-i != 20 || seen&cLower != 0 || (end < len(b) && class[b[end]]&alnum != 0) {
			return hit{}, false
		}
		return hit{start: i, end: end, ctx: i, kind: kAWS}, true
	case "AIza":
		end, _ := body(b, i+4, alnum|cUnder|cDash)
		if end == len(b) && more {
			return hit{start: i, end: end, ctx: i, kind: kGoogle}, true
		}
		if end-i < 39 {
			return hit{}, false
		}
		return hit{start: i, end: end, ctx: i, kind: kGoogle}, true
	}
	return hit{}, false
}

// jwtAt matches header.payload.signature, the first two base64url JSON
// objects, which always start "eyJ" ({").
func jwtAt(b []byte, i int, more bool) (hit, bool) {
	start := i - 2
	if start < 0 || b[start] != 'e' || b[start+1] != 'y' || (start > 0 && class[b[start-1]]&(alnum|cUnder|cDash) != 0) {
		return hit{}, false
	}
	const b64url = alnum | cUnder | cDash
	end, _ := body(b, i+1, b64url)
	if end-start < 10 {
		if end == len(b) && more {
			return hit{start: start, end: end, ctx: start, kind: kJWT}, true
		}
		return hit{}, false
	}
	if end == len(b) {
		return hit{start: start, end: end, ctx: start, kind: kJWT}, more
	}
	if b[end] != '.' || !hasPrefixAt(b, end+1, "eyJ") {
		return hit{}, false
	}
	end2, _ := body(b, end+1, b64url)
	if end2-end < 10 {
		return hit{start: start, end: end2, ctx: start, kind: kJWT}, end2 == len(b) && more
	}
	if end2 < len(b) && b[end2] == '.' {
		end2, _ = body(b, end2+1, b64url)
	}
	return hit{start: start, end: end2, ctx: start, kind: kJWT}, true
}

// privateKeyAt matches a PEM block of a private key, from its BEGIN line
// through its END line; without an END line, to the end of the text.
func privateKeyAt(b []byte, i int) (hit, bool) {
	const begin = "-----BEGIN "
	lim := min(len(b), i+len(begin)+64)
	close := bytes.Index(b[i+len(begin):lim], []byte("-----"))
	if close < 0 {
		return hit{}, false
	}
	label := b[i+len(begin) : i+len(begin)+close]
	if !bytes.Contains(label, []byte("PRIVATE KEY")) {
		return hit{}, false
	}
	rest := i + len(begin) + close + 5
	end := bytes.Index(b[rest:], []byte("-----END "))
	if end < 0 {
		return hit{start: i, end: len(b), ctx: i, kind: kOpenKey}, true
	}
	end += rest
	if c := bytes.Index(b[end+9:min(len(b), end+9+64)], []byte("-----")); c >= 0 {
		return hit{start: i, end: end + 9 + c + 5, ctx: i, kind: kPrivateKey}, true
	}
	return hit{start: i, end: min(len(b), end+9+64), ctx: i, kind: kPrivateKey}, true
}

// urlPasswordAt matches the password of scheme://user:password@host, the
// ':' of "://" being at b[i]: the password only, as the user and host tell
// a reader where the run connected.
func urlPasswordAt(b []byte, i int, more bool) (hit, bool) {
	if i == 0 || class[b[i-1]]&(cLower|cUpper|cDigit) == 0 {
		return hit{}, false
	}
	from := i + 3
	colon := -1
	for j := from; j < len(b) && j < from+256; j++ {
		switch c := b[j]; c {
		case ':':
			if colon < 0 {
				colon = j
			}
		case '@':
			if colon < 0 || j == colon+1 || placeholder(b[colon+1:j]) {
				return hit{}, false
			}
			return hit{start: colon + 1, end: j, ctx: schemeStart(b, i), kind: kURLPassword}, true
		case '/', ' ', '\t', '\n', '\r', '"', '\'', '<', '>', '?', '#':
			return hit{}, false
		}
	}
	if more && colon >= 0 && len(b)-from < 256 {
		return hit{start: colon + 1, end: len(b), ctx: schemeStart(b, i), kind: kURLPassword}, true
	}
	return hit{}, false
}

// schemeStart returns where the scheme of a URL whose "://" is at b[i]
// starts.
func schemeStart(b []byte, i int) int {
	j := i
	for j > 0 && i-j < 32 && (class[b[j-1]]&alnum != 0 || b[j-1] == '+' || b[j-1] == '.' || b[j-1] == '-') {
		j--
	}
	return j
}

// How strongly a key's name says its value is a secret.
const (
	notSecret = iota
	weak      // key, token, auth, ...: a secret only when it looks random
	strong    // password, secret: a secret whatever it looks like
	sasSig    // sig= in a URL's query
)

// strongEndings and weakEndings end the last word of a key (upper case) that
// names a secret, in assignments found in text.
var (
	strongEndings = []string{"PASSWORD", "PASSWORDS", "PASSWD", "PASSPHRASE", "SECRET", "SECRETS"}
	weakEndings   = []string{"KEY", "TOKEN", "AUTH", "COOKIE", "SESSION", "CREDENTIAL", "CREDENTIALS", "PRIVATE", "AUTHORIZATION"}
)

// endPair holds the last two bytes, lower case, of the endings of
// strongEndings and weakEndings, and of "sig".
var endPairs = func() (t [1 << 16 / 64]uint64) {
	for _, e := range append(append([]string{"sig"}, strongEndings...), weakEndings...) {
		e = strings.ToLower(e)
		pair := uint(e[len(e)-2])<<8 | uint(e[len(e)-1])
		t[pair/64] |= 1 << (pair % 64)
	}
	return t
}()

// keyStrength says how strongly a key names a secret, by its last word.
func keyStrength(key []byte, sepAfterQuery bool) int {
	// The last two bytes of every ending, to turn most keys away at once.
	if len(key) < 3 {
		return notSecret
	}
	if pair := uint(key[len(key)-2]|0x20)<<8 | uint(key[len(key)-1]|0x20); endPairs[pair/64]&(1<<(pair%64)) == 0 {
		return notSecret
	}
	if sepAfterQuery && len(key) == 3 && string(key) == "sig" {
		return sasSig
	}
	// The last word: back to a non-alphanumeric or to a lower-case letter
	// before an upper-case one (apiKey).
	w := len(key) - 1
	for w > 0 && class[key[w-1]]&alnum != 0 && !(class[key[w-1]] == cLower && class[key[w]] == cUpper) {
		w--
	}
	word := key[w:]
	if len(word) < 3 || len(word) > 40 {
		return notSecret
	}
	var up [40]byte
	for j, c := range word {
		if class[c] == cLower {
			c -= 'a' - 'A'
		}
		up[j] = c
	}
	u := up[:len(word)]
	for _, e := range strongEndings {
		if bytes.HasSuffix(u, []byte(e)) {
			return strong
		}
	}
	for _, e := range weakEndings {
		if bytes.HasSuffix(u, []byte(e)) {
			return weak
		}
	}
	return notSecret
}

// isKeyByte reports whether c may be part of a key in an assignment.
func isKeyByte(c byte) bool { return class[c]&(alnum|cUnder|cDash) != 0 || c == '.' }

// assignedAt matches the value of an assignment to a key that names a
// secret, the separator (':' or '=') being at b[i]: password=X,
// api_key: X, "token": "X", 'secret' => X (not ==, <=, >=, !=, ::).
func assignedAt(b []byte, i int, more bool) (hit, bool) {
	sep := b[i]
	var next byte
	if i+1 < len(b) {
		next = b[i+1]
	}
	if next == sep || (sep == '=' && i > 0 && bytes.IndexByte([]byte("!<>=:"), b[i-1]) >= 0) {
		return hit{}, false
	}
	// The key: back over spaces, a closing quote, then key bytes.
	j := i
	for n := 0; j > 0 && (b[j-1] == ' ' || b[j-1] == '\t') && n < 4; n++ {
		j--
	}
	quoted := false
	if j > 0 && (b[j-1] == '"' || b[j-1] == '\'') {
		quoted = true
		j--
	}
	keyEnd := j
	for j > 0 && keyEnd-j < 64 && isKeyByte(b[j-1]) {
		j--
	}
	if j == keyEnd {
		return hit{}, false
	}
	key := b[j:keyEnd]
	ctx := j
	if quoted && j > 0 {
		ctx = j - 1
	}
	strength := keyStrength(key, j > 0 && (b[j-1] == '?' || b[j-1] == '&'))
	if strength == notSecret {
		return hit{}, false
	}
	// The value: after spaces, quoted or to the next space or delimiter.
	v := i + 1
	if sep == '=' && next == '>' {
		v++
	}
	if sep == ':' && !quoted && v < len(b) && b[v] != ' ' && b[v] != '\t' && b[v] != '"' && b[v] != '\'' {
		return hit{}, false // a:b, 10:30, not an assignment
	}
	for n := 0; v < len(b) && (b[v] == ' ' || b[v] == '\t') && n < 8; n++ {
		v++
	}
	if v == len(b) {
		return hit{start: i + 1, end: v, ctx: ctx, kind: kAssigned}, more
	}
	var end int
	if q := b[v]; q == '"' || q == '\'' || q == '`' {
		v++
		end = v
		for end < len(b) && end-v < 1024 && b[end] != q && b[end] != '\n' && b[end] != '\r' {
			end++
		}
	} else {
		// A scheme before a credential: "Authorization: Bearer X".
		for _, s := range [...]string{"Bearer ", "bearer ", "Basic ", "basic ", "Token ", "token "} {
			if hasPrefixAt(b, v, s) {
				v += len(s)
				break
			}
		}
		end = v
		for end < len(b) && end-v < 1024 && !valueEnds(b[end]) {
			end++
		}
	}
	if end == len(b) && more {
		return hit{start: v, end: end, ctx: ctx, kind: kAssigned}, true
	}
	val := b[v:end]
	if placeholder(val) {
		return hit{}, false
	}
	switch strength {
	case strong:
		if len(val) < minSecretLen {
			return hit{}, false
		}
	case weak:
		if !looksRandom(val) {
			return hit{}, false
		}
	case sasSig:
		if len(val) < 20 {
			return hit{}, false
		}
		return hit{start: v, end: end, ctx: ctx, kind: kAzureSAS}, true
	}
	return hit{start: v, end: end, ctx: ctx, kind: kAssigned}, true
}

// valueEnds reports whether c ends an unquoted value.
func valueEnds(c byte) bool {
	switch c {
	case ' ', '\t', '\n', '\r', '"', '\'', ',', ';', '&', ')', ']', '}', '<', '>':
		return true
	}
	return false
}

// placeholder reports whether v stands for a secret rather than being one:
// empty, already redacted, a template (${VAR}, {{ x }}, <your-key>, %s),
// one character repeated (****, xxxx), or a word for nothing.
func placeholder(v []byte) bool {
	if len(v) == 0 || bytes.Contains(v, []byte(Redacted)) {
		return true
	}
	switch v[0] {
	case '$', '{', '<', '%', '*', '[', '(':
		return true
	}
	same := true
	for _, c := range v[1:] {
		if c != v[0] {
			same = false
			break
		}
	}
	if same {
		return true
	}
	switch string(bytes.ToLower(v)) {
	case "null", "none", "nil", "true", "false", "undefined", "required", "optional", "hidden", "redacted", "not set", "unset":
		return true
	}
	return false
}

// looksRandom reports whether v looks like a generated secret rather than
// a word, a name or a path: 16 to 1024 bytes of token characters, with
// letters and digits, and either all three of lower case, upper case and
// digits or the spread of characters random text has.
func looksRandom(v []byte) bool {
	if len(v) < 16 || len(v) > 1024 {
		return false
	}
	var seen uint8
	hex := true
	for _, c := range v {
		cl := class[c]
		if cl == 0 && c != '.' && c != '~' && c != '%' {
			return false
		}
		seen |= cl
		hex = hex && (cl == cDigit || (c|0x20) >= 'a' && (c|0x20) <= 'f')
	}
	if seen&cDigit == 0 || seen&(cLower|cUpper) == 0 {
		return false
	}
	if hex {
		return entropy(v) >= 3
	}
	if seen&cLower != 0 && seen&cUpper != 0 {
		return entropy(v) >= 3.5
	}
	return entropy(v) >= 4
}

// entropy is the Shannon entropy of v's bytes, in bits per byte.
func entropy(v []byte) float64 {
	var counts [256]int
	for _, c := range v {
		counts[c]++
	}
	var h float64
	n := float64(len(v))
	for _, c := range counts {
		if c > 0 {
			p := float64(c) / n
			h -= p * math.Log2(p)
		}
	}
	return h
}

// IsSecretKey reports whether a key written in text ("password",
// "api_key", "hfToken", "db.secret") names a secret, by its last word:
// whether that ends with PASSWORD, PASSWD, PASSPHRASE, SECRET, KEY,
// TOKEN, AUTH, COOKIE, SESSION, CREDENTIAL, PRIVATE or AUTHORIZATION (or
// a plural of some). Printed numbers under such keys are not metrics:
// "password: 987654" is a secret, not a measurement. Narrower than
// IsSecretFlag, as it looks at the last word only: token_accuracy and
// key_frames are metrics.
func IsSecretKey(key string) bool {
	return key != "" && keyStrength(asBytes(key), false) != notSecret
}
