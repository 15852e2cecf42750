package capture

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"sync"

	"github.com/gitruns/gitruns/run"
)

// Point is one metric value found in a line of output.
type Point struct {
	Key     string
	Value   float64
	Step    int64 // meaningful only when HasStep
	HasStep bool  // the line gave a step; without one the caller picks it
}

// maxLineLen is the longest line Parse looks at: longer ones are data
// dumps or binary noise, not progress reports, and scanning them would
// only cost time.
const maxLineLen = 64 << 10

// maxMetricKeyLen bounds keys found by the default rules: longer words are
// identifiers or paths, not metric names.
const maxMetricKeyLen = 64

// maxInterned bounds the Parser's cache of key strings, so that output
// with endless distinct keys cannot grow it without limit.
const maxInterned = 4096

// A Parser finds metric points in lines of output. Its methods may be
// called from several goroutines at once.
type Parser struct {
	re                  *regexp.Regexp
	keyIdx, valIdx, stp int // submatch indexes of the groups; stp is -1 without a step group

	mu sync.Mutex
	// keys maps each key seen to its string, or to "" when it is invalid,
	// so that a line of known keys allocates nothing and run.ValidateKey
	// runs once per key.
	keys map[string]string
}

// NewParser returns a Parser for pattern. The empty pattern selects the
// default rules, below. Any other pattern is a Go regular expression
// (https://pkg.go.dev/regexp/syntax) with the named groups key and value
// and optionally step; each match in a line (as found by FindAllSubmatch)
// gives one point, whose key is the text of the key group, whose value is
// the value group read as by run.ParseMetricValue, and whose step, when the
// step group matched, is that group read as a decimal integer. A match
// whose value or step does not read, or whose key run.ValidateKey refuses,
// is skipped. For example, `(?P<key>\w+)=(?P<value>\S+)` reads every
// word=value pair.
//
// # Default rules
//
// A metric is a KEY, a separator and a NUMBER:
//
//   - KEY is an ASCII letter followed by letters, digits and _ . / -, at
//     most 64 bytes, kept as written (Loss and loss differ). It begins the
//     line or follows a space, a tab or one of ( [ { , ; | < > : ' ".
//   - A KEY right after a word and one space ends a phrase and is not a
//     KEY ("Num Epochs = 3", "Model achieved accuracy: 0.9"), except after
//     a log level (debug, info, warning, warn, error, critical, fatal,
//     trace, notice), which is ignored ("INFO loss: 0.3" gives loss), or
//     after one of the words train, training, val, valid, validation,
//     test, eval, evaluation, dev, best, avg, average, mean, final,
//     running, total, min, max, objective, which then belongs to the KEY
//     ("Train Loss: 0.31 | Val Loss: 0.29" gives "Train Loss" and "Val
//     Loss"; "Avg. loss" too). These words are matched in any case. A
//     phrase of up to four words keeps its whole name when one of these
//     words, capitalised, leads it ("Best cross-validation score"), or
//     when it starts the line and holds one ("MLP test score").
//   - A KEY may also be quoted, 'loss' or "loss", as in Python dicts and
//     JSON.
//   - The separator is "=", with or without spaces around it but not part
//     of "==", "<=", ">=" or "!="; or ":" followed by at least one space or
//     tab. After a quoted KEY, ":" needs no space. After a KEY that holds
//     one of - _ / and begins the line or follows a tab, ":" needs no space
//     either, provided the NUMBER is followed by a space, a tab or the end
//     of the line: XGBoost's train-rmse:17.5 is a metric, but host:8080,
//     12:30:45, http://x:1 and C:\path are not.
//   - NUMBER is an optional sign, then digits with an optional fraction
//     and exponent (3, .5, 1., 0.31, 5e-05), or nan, inf or infinity in
//     any case. It may be wrapped as tensor(0.31, ...) or np.float64(0.31),
//     and after a quoted KEY it may be quoted too ("loss": "4.123").
//   - The NUMBER must end its word: it is followed by the end of the line,
//     a space, a tab, or one of ) ] } > | ' "; or by , or ; not followed by
//     a digit; or by . : ! ? followed by a space, a tab or the end of the
//     line. So 3.2s, 9.5it/s, 12.3MB, 2.1.0, 1,234, 00:12, 3/10 and
//     2024-01-15 are not NUMBERs. A % right after the NUMBER is allowed
//     and dropped (acc: 95.3% gives 95.3), except before | (a progress
//     bar) or after a KEY ending in "ing" (Downloading: 100%).
//   - With ":" and an unquoted KEY, the NUMBER must not be followed by a
//     space and a plain word, which would make it a count of things
//     ("using: 0 TPU cores", "Error: 404 Not Found", "Trainable params:
//     11.2 M"). A word that is the KEY of the next metric ("loss: 0.3 acc:
//     0.9") or a step word is fine, and so is anything after a tab.
//   - In a line holding |, a field between bars, or between a bar and
//     either end of the line, that is exactly a KEY, spaces and a NUMBER
//     is a metric too, as fairseq prints: "| loss 4.123 | ppl 14.9 |".
//   - LightGBM's "valid_0's l2: 0.5" gives the KEY valid_0/l2, so that
//     the curves of its data sets stay apart.
//   - In a line led by a step word and its integer (after a [tag] maybe),
//     with a ',' after the integer, the fields between commas that are
//     exactly a KEY and a NUMBER are metrics ("Iteration 3, inertia
//     81.33."); with blanks after it, three or more names and NUMBERs in
//     turn and nothing else are (LIBLINEAR's "iter 2 act 1.3e+02 pre
//     1.0e+02 f 2.4e+02 |g| 2.2e+02 CG 4", where |g| is passed over). In a
//     line led by a step word, its integer and ':', a KEY after a comma
//     and a lower-case word keeps the word ("gradient norm = 0.05").
//   - A KEY inside the parentheses of a call or repr is an argument, not
//     a metric ("Dropout(p=0.25)", "[Parallel(n_jobs=1)]"), and so is a
//     quoted KEY in a dict after "with" or "using" ("best score: 0.92
//     with {'C': 1}").
//   - In a line with ':' that gives no other point, a field between tabs
//     that is exactly a KEY, spaces and a NUMBER is a metric
//     (GaussianMixture's "... converged: True\t time lapse 0.09s\t ll
//     -4.23").
//
// Outside the lines led by a counter above, a word followed by a space
// and a number ("Loaded 50000 images", "Using 4 GPUs") is never a metric.
//
// The step words step, global_step, iter, iteration, it and epoch, in any
// case, followed by "=", by ":" and a space, or by spaces, then by a
// non-negative integer, optionally /TOTAL, or the same in brackets ("epoch
// 3", "Epoch 3/10", "step=1200", "Epoch [1/5]", "[epoch 3]", "'step': 100")
// give the step of every point of the line and are not metrics
// themselves. So does [N] or N: followed by a tab at the start of a line,
// as XGBoost, LightGBM and CatBoost number their iterations, or [N/TOTAL]
// and a space, as scikit-learn's HistGradientBoosting does. When a line
// has several, the first of step, global_step, iter, iteration, it or the
// start of the line wins over epoch. A step word with a value that is not
// an integer is an ordinary metric: Hugging Face's 'epoch': 0.5 is the
// metric epoch. Points of a line without a step have HasStep false; a step
// is never carried from one line to the next.
//
// Values that are not finite (nan, inf) count. These KEYs, in any case,
// name settings or identifiers and are never metrics: version, pid, port,
// seed, rank, local_rank, global_rank, node_rank, world_size, and KEYs
// starting with "n_", which size data or model (n_samples). KEYs that
// run.ValidateKey refuses are dropped, and so are those starting with
// "system/", the namespace of sampled system metrics (run.IsSystemMetric).
// Lines holding "Namespace(" (Python printing its parsed arguments),
// starting with "[LightGBM] [" (its information messages) or naming a
// position in C or C++ source ("updater_prune.cc:98:", a library's own
// log) give nothing.
//
// With the default rules and with a pattern alike, ANSI escape sequences
// (colours) are removed before a line is read, and lines longer than 64 KiB
// are ignored.
func NewParser(pattern string) (*Parser, error) {
	p := &Parser{keys: make(map[string]string)}
	if pattern == "" {
		return p, nil
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("metrics pattern: %w", err)
	}
	p.re = re
	p.keyIdx, p.valIdx, p.stp = re.SubexpIndex("key"), re.SubexpIndex("value"), re.SubexpIndex("step")
	if p.keyIdx < 0 || p.valIdx < 0 {
		return nil, errors.New("metrics pattern: needs the named groups (?P<key>...) and (?P<value>...)")
	}
	return p, nil
}

// Parse appends to dst the points found in line and returns the extended
// slice. line is one line of output without its line ending; callers split
// output at both \n and \r, as progress bars redraw themselves after \r.
// Parse neither keeps nor modifies line.
func (p *Parser) Parse(line []byte, dst []Point) []Point {
	if len(line) > maxLineLen {
		return dst
	}
	if p.re != nil {
		if bytes.IndexByte(line, 0x1b) < 0 {
			return p.parsePattern(line, dst)
		}
		buf := escBufs.Get().(*[]byte)
		*buf = stripEscapes((*buf)[:0], line)
		dst = p.parsePattern(*buf, dst)
		escBufs.Put(buf)
		return dst
	}
	if bytes.IndexByte(line, '=') < 0 && bytes.IndexByte(line, ':') < 0 && bytes.IndexByte(line, '|') < 0 {
		// The bulk of prose ends here: only a counter leads a line without
		// separators that has metrics, and escapes in its first two
		// bytes could hide one.
		if len(line) < 2 || line[0] != 0x1b && line[1] != 0x1b && !mayBeStepWord(line) {
			return dst
		}
		if bytes.IndexByte(line, 0x1b) < 0 {
			return p.bareCounterLine(line, dst)
		}
	}
	if bytes.IndexByte(line, 0x1b) >= 0 {
		buf := escBufs.Get().(*[]byte)
		*buf = stripEscapes((*buf)[:0], line)
		dst = p.parse(*buf, dst)
		escBufs.Put(buf)
		return dst
	}
	return p.parse(line, dst)
}

var escBufs = sync.Pool{New: func() any { return new([]byte) }}

// nextSep returns the index of the first '=', ':' or '|' in line from i
// on, or len(line). A loop of its own, so that parse's state stays out of
// the loop over every byte.
func nextSep(line []byte, i int) int {
	for j, c := range line[i:] {
		if class[c]&clSep != 0 {
			return i + j
		}
	}
	return len(line)
}

// parse reads line, without escapes, with the default rules.
func (p *Parser) parse(line []byte, dst []Point) []Point {
	if bytes.HasPrefix(line, []byte("[LightGBM] [")) {
		return dst
	}
	start := len(dst)
	pipes, colons := false, false
	words := 0 // values that are words or strings: settings, not metrics
	// Values inside a call's parentheses are its arguments, settings:
	// whether the line has any is looked for at its first '='.
	calls := -1
	facts := lineFacts{given: -2}
	equals := false // a point came from a '='
	for i := nextSep(line, 0); i < len(line); i = nextSep(line, i+1) {
		var word bool
		switch line[i] {
		case '=':
			if calls < 0 {
				calls = bytes.IndexByte(line, '(')
			}
			n := len(dst)
			dst, word = p.afterEquals(line, i, calls >= 0, dst)
			equals = equals || len(dst) > n
		case ':':
			colons = true
			dst, word = p.afterColon(line, i, &facts, dst)
		case '|':
			pipes = true
		}
		if word {
			words++
		}
	}
	if pipes {
		dst = p.fieldsBy(line, '|', dst)
	} else if colons {
		dst = p.counterFields(line, dst) // whose head ends in ':'
	}
	if len(dst) == start {
		if colons && !pipes && bytes.IndexByte(line, '\t') >= 0 {
			// GaussianMixture: "Initialization converged: True\t time
			// lapse 0.09s\t ll -4.23".
			if dst = p.fieldsBy(line, '\t', dst); len(dst) > start {
				return p.resolveSteps(line, dst, start)
			}
		}
		return p.counterLine(line, dst)
	}
	if isSettings(line, words, len(dst)-start, equals) {
		return dst[:start]
	}
	return p.resolveSteps(line, dst, start)
}

// resolveSteps gives the points of the line from start on the line's
// step. When that step is a finer counter than the epoch, the epoch is a
// metric too, as fairseq's "epoch 002 | ... | num_updates 1100" asks.
func (p *Parser) resolveSteps(line []byte, dst []Point, start int) []Point {
	c := lineStep(line)
	if c.cls == 0 {
		return dst
	}
	if c.cls == 2 && c.hasEpoch {
		dst = append(dst, Point{Key: "epoch", Value: float64(c.epoch)}) // a valid key
	}
	for i := start; i < len(dst); i++ {
		dst[i].Step, dst[i].HasStep = c.step, true
	}
	return dst
}

// isSettings reports whether line, which gave points of which words
// were words or strings, prints settings rather than metrics: Python's
// argparse Namespace, a line labelled as settings ("hyperparameters:
// lr0=0.01, ...", "Config: {...}"), a line of several settings with word
// values ("task=detect, mode=train, model=yolov8n.pt, ..."), or
// scikit-learn's "[CV] END max_depth=3, ...", or, when a point came
// from a '=' (equals), a library's log naming its source.
func isSettings(line []byte, words, points int, equals bool) bool {
	if words >= 3 && words > points || words >= 2 && hasPythonConstant(line) || bytes.Contains(line, []byte("Namespace(")) {
		return true
	}
	if bytes.HasPrefix(line, []byte("[CV")) {
		return true // scikit-learn's search, naming each candidate's settings
	}
	if equals && hasSourcePosition(line) {
		return true // a library's own log: XGBoost's "updater_prune.cc:98: ... max_depth=2"
	}
	for i := 0; i < len(line); i++ {
		if class[line[i]]&clLetter == 0 || (i > 0 && isKeyByte(line[i-1])) {
			continue
		}
		j := i
		for j < len(line) && isKeyByte(line[j]) {
			j++
		}
		k := skipBlanks(line, j)
		if k < len(line) && (line[k] == ':' || line[k] == '=') && isSettingsWord(line[i:j]) {
			return true
		}
		i = j
	}
	return false
}

// hasSourcePosition reports whether line names a position in C or C++
// source, file.cc:98, as the logs of libraries written in them do.
func hasSourcePosition(line []byte) bool {
	for i := bytes.IndexByte(line, ':'); i >= 0; {
		if sourcePosition(line, i) {
			return true
		}
		j := bytes.IndexByte(line[i+1:], ':')
		if j < 0 {
			return false
		}
		i += j + 1
	}
	return false
}

// sourcePosition reports whether the ':' at i follows the name of a C or
// C++ source file and precedes a line number.
func sourcePosition(line []byte, i int) bool {
	if i < 2 || i+1 >= len(line) || !isDigit(line[i+1]) {
		return false
	}
	switch line[i-1] {
	case 'c', 'h', 'p', 'u': // the last letter of each extension
	default:
		return false
	}
	for _, ext := range [...]string{".cc", ".cpp", ".cu", ".c", ".h"} {
		if bytes.HasSuffix(line[:i], []byte(ext)) {
			return true
		}
	}
	return false
}

// hasPythonConstant reports whether line gives a setting the value True,
// False or None, as Python prints settings and never metrics.
func hasPythonConstant(line []byte) bool {
	for _, c := range [...]string{"=True", "=False", "=None", ": True", ": False", ": None"} {
		if bytes.Contains(line, []byte(c)) {
			return true
		}
	}
	return false
}

// isSettingsWord reports whether w labels a dump of settings.
func isSettingsWord(w []byte) bool {
	switch lowerWord(w) {
	case "config", "configuration", "cfg", "hparams", "hyperparameters", "hyperparams", "hyp",
		"args", "arguments", "params", "parameters", "settings", "options", "overrides", "overriding", "optimizer",
		"importance", "importances": // of each feature, by its name
		return true
	}
	return false
}

// afterEquals reads the metric, if any, whose separator is the '=' at i.
// It also reports whether the value is a word or a string, as settings
// have. calls says whether line holds a '('.
func (p *Parser) afterEquals(line []byte, i int, calls bool, dst []Point) ([]Point, bool) {
	if i+1 < len(line) && line[i+1] == '=' {
		return dst, false
	}
	ke := i
	for ke > 0 && isBlank(line[ke-1]) {
		ke--
	}
	ks, ok := keyBefore(line, ke)
	if !ok {
		return dst, false
	}
	vs := skipBlanks(line, i+1)
	num, ok := readNumber(line, vs)
	if !ok {
		return dst, isWordValue(line, vs)
	}
	ps, ok := phraseStart(line, ks)
	if !ok {
		if ps, ok = fieldPhrase(line, ks); !ok {
			return dst, false
		}
	}
	if calls && inCall(line, ps) {
		return dst, false
	}
	num = fraction(line, num)
	if _, ok := numberEnd(line, num.end, line[ks:ke]); !ok {
		return dst, false
	}
	return p.add(dst, line[ps:ke], line[ks:ke], num), false
}

// inCall reports whether the key starting at ks is an argument of a call
// or a repr, inside "name(": joblib's "[Parallel(n_jobs=1)]: Done",
// torch's "Dropout(p=0.25, inplace=False)" are settings.
func inCall(line []byte, ks int) bool {
	depth := 0
	for i := ks - 1; i > 0; i-- {
		switch line[i] {
		case ')':
			depth++
		case '(':
			if depth == 0 {
				c := line[i-1]
				return isLetter(c) || isDigit(c) || c == '_'
			}
			depth--
		}
	}
	return false
}

// isWordValue reports whether a setting's value starts at i: a word
// (True, None, adam, a path) or a string.
func isWordValue(line []byte, i int) bool {
	return i < len(line) && (isLetter(line[i]) || line[i] == '\'' || line[i] == '"')
}

// fraction reads the N/M (P%) that PyTorch's MNIST example prints as an
// accuracy ("Accuracy: 9890/10000 (99%)") when it follows num, and
// returns N/M; otherwise num as it is.
func fraction(line []byte, num number) number {
	i := num.end
	if !num.integer || i+1 >= len(line) || line[i] != '/' || !isDigit(line[i+1]) {
		return num
	}
	den, ok := scanNumber(line, i+1)
	if !ok || !den.integer || den.value == 0 {
		return num
	}
	j := den.end
	if j+2 >= len(line) || line[j] != ' ' || line[j+1] != '(' {
		return num
	}
	pct, ok := scanNumber(line, j+2)
	if !ok || pct.end+1 >= len(line) || line[pct.end] != '%' || line[pct.end+1] != ')' {
		return num
	}
	return number{value: num.value / den.value, end: pct.end + 2}
}

// afterColon reads the metric, if any, whose separator is the ':' at i.
// It also reports whether the value is a word or a string, as settings
// have.
func (p *Parser) afterColon(line []byte, i int, facts *lineFacts, dst []Point) ([]Point, bool) {
	if i == 0 {
		return dst, false
	}
	if q := line[i-1]; q == '\'' || q == '"' {
		return p.quotedKey(line, i, facts, dst)
	}
	ks, ok := keyBefore(line, i)
	if !ok {
		return dst, false
	}
	if i+1 < len(line) && isBlank(line[i+1]) {
		return p.spacedColon(line, ks, i, dst), false
	}
	return p.tightColon(line, ks, i, dst), false
}

// quotedKey reads a metric of a Python dict or JSON object, whose quoted
// key ends before the ':' at i.
func (p *Parser) quotedKey(line []byte, i int, facts *lineFacts, dst []Point) ([]Point, bool) {
	q := line[i-1]
	ks, ok := keyBefore(line, i-1)
	if !ok || ks == 0 || line[ks-1] != q {
		return dst, false
	}
	if d := facts.givenSettings(line); d >= 0 && d < ks && bytes.IndexByte(line[d:ks], '}') < 0 {
		return dst, false
	}
	vs := skipBlanks(line, i+1)
	num, ok := readNumber(line, vs)
	if !ok {
		// fairseq's JSON log quotes numbers: "loss": "4.123".
		if vs >= len(line) || (line[vs] != '\'' && line[vs] != '"') {
			return dst, isWordValue(line, vs)
		}
		if num, ok = readNumber(line, vs+1); !ok || num.end >= len(line) || line[num.end] != line[vs] {
			return dst, true
		}
		num.end++
	}
	if _, ok := numberEnd(line, num.end, line[ks:i-1]); !ok {
		return dst, false
	}
	return p.add(dst, line[ks:i-1], line[ks:i-1], num), false
}

// lineFacts are facts about a line that parse looks for once, when a
// rule first needs them.
type lineFacts struct {
	given int // see givenSettings; -2 until looked for
}

// givenSettings returns the index of the '{' of a dict after "with" or
// "using", which holds the settings that gave a result ("best score:
// 0.92 with {'C': 1}", "Best: 0.92 using {'C': 1}"), or -1.
func (f *lineFacts) givenSettings(line []byte) int {
	if f.given == -2 {
		f.given = -1
		for i := bytes.IndexByte(line, '{'); i >= 0; {
			if b := line[:i]; bytes.HasSuffix(b, []byte(" with ")) || bytes.HasSuffix(b, []byte(" using ")) {
				f.given = i
				break
			}
			j := bytes.IndexByte(line[i+1:], '{')
			if j < 0 {
				break
			}
			i += j + 1
		}
	}
	return f.given
}

// spacedColon reads the metric whose key starts at ks and ends at the ':'
// at i, which a blank follows.
func (p *Parser) spacedColon(line []byte, ks, i int, dst []Point) []Point {
	key := line[ks:i]
	owner, hasOwner := possessive(line, ks)
	ps := ks
	if !hasOwner {
		var ok bool
		if ps, ok = capitalPhrase(line, ks); !ok {
			if ps, ok = phraseStart(line, ks); !ok {
				if ps, ok = fieldPhrase(line, ks); !ok {
					return dst
				}
			}
		}
		if afterCount(line, ps) {
			return dst
		}
	}
	num, ok := readNumber(line, skipBlanks(line, i+1))
	if !ok {
		return dst
	}
	num = fraction(line, num)
	end, ok := numberEnd(line, num.end, key)
	if !ok || countFollows(line, end) || lineNumbered(line, ps, end) {
		return dst
	}
	if hasOwner {
		return p.addOwned(dst, owner, key, num)
	}
	return p.add(dst, line[ps:i], key, num)
}

// lineNumbered tells a program's message about a line of a file, which
// leads with the file and the line's number (dash's "train.sh: 1: cannot
// open data.csv"), from a metric: the number ends with a colon before
// more text, and the key starts the line.
func lineNumbered(line []byte, ps, end int) bool {
	return end+1 < len(line) && line[end] == ':' && isBlank(line[end+1]) && ps == skipBlanks(line, 0)
}

// tightColon reads a metric whose ':' at i has no blank after it:
// XGBoost's train-rmse:17.5 after a tab or at the start of the line, and
// LightGBM's R package's train's l2:0.09. Their cross-validation prints
// the mean and the standard deviation, 17.5+0.1: the mean is the value.
func (p *Parser) tightColon(line []byte, ks, i int, dst []Point) []Point {
	key := line[ks:i]
	owner, hasOwner := possessive(line, ks)
	if !hasOwner && ((ks > 0 && line[ks-1] != '\t') || bytes.IndexAny(key, "-_/") < 0) {
		return dst
	}
	num, ok := readNumber(line, i+1)
	if !ok {
		return dst
	}
	if num.end < len(line) && line[num.end] == '+' {
		std, ok := scanNumber(line, num.end+1)
		if !ok {
			return dst
		}
		num.end, num.integer = std.end, false
	}
	if num.end < len(line) && !isBlank(line[num.end]) {
		return dst
	}
	if hasOwner {
		return p.addOwned(dst, owner, key, num)
	}
	return p.add(dst, key, key, num)
}

// addOwned adds the metric key of the data set owner as owner/key:
// LightGBM names the data set in the possessive, and the key alone would
// merge the curves of all data sets.
func (p *Parser) addOwned(dst []Point, owner, key []byte, num number) []Point {
	var buf [2*maxMetricKeyLen + 1]byte
	if len(owner)+1+len(key) > maxMetricKeyLen {
		return dst
	}
	n := copy(buf[:], owner)
	buf[n] = '/'
	n++
	n += copy(buf[n:], key)
	return p.add(dst, buf[:n], key, num)
}

// afterCount reports whether the key starting at ks follows a count, an
// integer and a space that no step word leads: in YOLO's "128 images, 0
// corrupt: 100%" the percentage is progress, not a metric named corrupt.
func afterCount(line []byte, ks int) bool {
	if ks < 2 || line[ks-1] != ' ' || !isDigit(line[ks-2]) {
		return false
	}
	ns := ks - 1
	for ns > 0 && isDigit(line[ns-1]) {
		ns--
	}
	if ns > 0 && isKeyByte(line[ns-1]) {
		return false // a word ending in digits, not a count
	}
	if ns == 0 {
		return true
	}
	if line[ns-1] != ' ' || ns >= 2 && line[ns-2] == ':' {
		// The value of something else: "epoch=2 val_loss: 0.29",
		// "best_iteration: 7 best_score: 0.99".
		return false
	}
	ws, ok := keyBefore(line, ns-1)
	return !ok || stepClass(line[ws:ns-1]) == 0
}

// fieldsBy reads the fields of a line split by sep that are exactly a
// key, spaces and a number, as fairseq prints them between '|'.
func (p *Parser) fieldsBy(line []byte, sep byte, dst []Point) []Point {
	for fs := 0; fs < len(line); {
		fe := fs + bytes.IndexByte(line[fs:], sep)
		if fe < fs {
			fe = len(line)
		}
		f := line[fs:fe]
		f = f[skipBlanks(f, 0):]
		fs = fe + 1
		if len(f) == 0 || !isLetter(f[0]) {
			continue // most fields of progress bars end here
		}
		for len(f) > 0 && isBlank(f[len(f)-1]) {
			f = f[:len(f)-1]
		}
		ke := 0
		for ke < len(f) && isKeyByte(f[ke]) {
			ke++
		}
		if ke > maxMetricKeyLen || ke == len(f) || !isBlank(f[ke]) {
			continue
		}
		num, ok := readNumber(f, skipBlanks(f, ke))
		if !ok || num.end != len(f) {
			continue
		}
		dst = p.add(dst, f[:ke], f[:ke], num)
	}
	return dst
}

// counterFields reads the "name value" fields of a line led by a
// counter, as nanoGPT prints them: "iter 100: loss 4.2, time 93.1ms, mfu
// 12.3%". After the step word, its integer (and /TOTAL) and a ':', at the
// start of the line or after a ';' (minGPT's "iter_dt 12.34ms; iter 100:
// train loss 2.34"), each
// field between commas or semicolons that is exactly a KEY (with one
// qualifier word before it, "train loss"), spaces and a NUMBER with an
// optional unit ms, s or % is a metric; the unit is dropped.
func (p *Parser) counterFields(line []byte, dst []Point) []Point {
	for hs := 0; ; {
		if k, ok := counterHead(line, hs); ok {
			return p.fieldsAfter(line, k, dst)
		}
		semi := bytes.IndexByte(line[hs:], ';')
		if semi < 0 {
			return dst
		}
		hs += semi + 1
	}
}

// bareCounterLine reads line, which holds none of = : |, as counterLine
// does when it starts with a step word, and gives nothing otherwise.
func (p *Parser) bareCounterLine(line []byte, dst []Point) []Point {
	if len(line) == 0 || line[0] == '[' {
		return dst
	}
	return p.counterLine(line, dst)
}

// counterLine reads a line led by a step word and its integer, maybe
// after a [tag], whose fields have no separator: after a ',', fields as
// counterFields reads them (scikit-learn's KMeans: "Iteration 3, inertia
// 81.33."); after blanks, names and numbers in turn, at least three
// pairs and nothing else (LIBLINEAR: "iter  2 act 1.321e+02 pre
// 1.044e+02 ... f 2.476e+02 |g| 2.298e+02 CG   4", where |g| is no KEY
// and is passed over). The points are at the step of the head.
func (p *Parser) counterLine(line []byte, dst []Point) []Point {
	hs := 0
	if len(line) > 0 && line[0] == '[' {
		if hs = bytes.IndexByte(line, ']') + 1; hs == 0 {
			return dst
		}
	}
	if hs == len(line) {
		return dst
	}
	if !mayBeStepWord(line[hs:]) {
		return dst
	}
	we := hs
	for we < len(line) && isLetter(line[we]) {
		we++
	}
	if we == len(line) || !isBlank(line[we]) || stepClass(line[hs:we]) == 0 {
		return dst
	}
	step, k, ok := readStepInt(line, skipBlanks(line, we))
	if !ok || k == len(line) {
		return dst
	}
	start := len(dst)
	switch {
	case line[k] == ',':
		end := len(line)
		if line[end-1] == '.' {
			end-- // the end of the sentence
		}
		dst = p.fieldsAfter(line[:end], k, dst)
	case isBlank(line[k]):
		dst = p.pairs(line, k, dst)
	}
	if len(dst) > start && lineStep(line).cls > 0 {
		// A finer step word on the line wins, as elsewhere: "Epoch 5
		// step 3 lr 0.1 ..." is at step 3.
		return p.resolveSteps(line, dst, start)
	}
	for i := start; i < len(dst); i++ {
		dst[i].Step, dst[i].HasStep = step, true
	}
	return dst
}

// mayBeStepWord is a quick look at the first two letters of b, which
// every step word's match, so that counterLine passes over most lines
// at once.
func mayBeStepWord(b []byte) bool {
	if len(b) < 2 {
		return false
	}
	var want byte
	switch lower(b[0]) {
	case 's', 'i':
		want = 't'
	case 'g':
		want = 'l'
	case 'e':
		want = 'p'
	case 'n':
		want = 'u'
	case 'r':
		want = 'o'
	default:
		return false
	}
	return lower(b[1]) == want
}

// pairs reads the names and numbers in turn from k on for counterLine.
func (p *Parser) pairs(line []byte, k int, dst []Point) []Point {
	start, n := len(dst), 0
	for i := skipBlanks(line, k); i < len(line); n++ {
		ne := i
		for ne < len(line) && !isBlank(line[ne]) {
			ne++
		}
		name := line[i:ne]
		vs := skipBlanks(line, ne)
		num, ok := readNumber(line, vs)
		if !ok || vs == ne || (num.end < len(line) && !isBlank(line[num.end])) {
			return dst[:start]
		}
		i = skipBlanks(line, num.end)
		if len(name) > 2 && name[0] == '|' && name[len(name)-1] == '|' {
			continue // a norm, |g|: no KEY
		}
		ke := 0
		for ke < len(name) && isKeyByte(name[ke]) {
			ke++
		}
		if ke != len(name) || !isLetter(name[0]) || ke > maxMetricKeyLen {
			return dst[:start]
		}
		dst = p.add(dst, name, name, num)
	}
	if n < 3 {
		return dst[:start]
	}
	return dst
}

// fieldPhrase accepts the key starting at ks after one or two lower-case
// words when they follow ", " or ": " in a line led by a counter: t-SNE's
// "[t-SNE] Iteration 50: error = 56.43, gradient norm = 0.0566" gives
// "gradient norm", MiniBatchKMeans' "Minibatch step 3/23: mean batch
// inertia: 2.26, ewa inertia: 2.25" gives "mean batch inertia" and "ewa
// inertia". It returns where the phrase starts.
func fieldPhrase(line []byte, ks int) (int, bool) {
	ws := ks - 1
	for n := 0; n < 2; n++ {
		we := ws
		for ws > 0 && 'a' <= line[ws-1] && line[ws-1] <= 'z' {
			ws--
		}
		if ws == we || ws < 2 || line[ws-1] != ' ' {
			return 0, false
		}
		if c := line[ws-2]; c == ',' || c == ':' {
			return ws, counterLed(line)
		}
		ws--
	}
	return 0, false
}

// counterLed reports whether line starts with a counter, a step word, its
// integer and a ':', maybe after a [tag] and a space.
func counterLed(line []byte) bool {
	hs := 0
	if len(line) > 0 && line[0] == '[' {
		j := bytes.IndexByte(line, ']')
		if j < 0 || j+1 >= len(line) || line[j+1] != ' ' {
			return false
		}
		hs = j + 2
	}
	_, ok := counterHead(line, hs)
	return ok
}

// counterHead reads a step word, maybe after one other word, its integer
// and a ':' at the start of line[hs:], blanks aside, and returns the
// index of the ':'.
func counterHead(line []byte, hs int) (int, bool) {
	i := skipBlanks(line, hs)
	j := i
	for j < len(line) && isLetter(line[j]) {
		j++
	}
	if j == i || j >= len(line) || line[j] != ' ' {
		return 0, false
	}
	if stepClass(line[i:j]) == 0 {
		// One word may name the counter: MiniBatchKMeans' "Minibatch
		// step 3/23:".
		i = j + 1
		for j = i; j < len(line) && isLetter(line[j]); j++ {
		}
		if j == i || j >= len(line) || line[j] != ' ' || stepClass(line[i:j]) == 0 {
			return 0, false
		}
	}
	_, k, ok := readStepInt(line, skipBlanks(line, j))
	if ok && k < len(line) && line[k] == '/' {
		_, k, ok = readStepInt(line, k+1)
	}
	return k, ok && k < len(line) && line[k] == ':'
}

// fieldsAfter reads the fields of counterFields after the ':' at k.
func (p *Parser) fieldsAfter(line []byte, k int, dst []Point) []Point {
	for fs := k + 1; fs < len(line); {
		fe := fs
		for fe < len(line) && line[fe] != ',' && line[fe] != ';' {
			fe++
		}
		dst = p.nameValue(line[fs:fe], dst)
		fs = fe + 1
	}
	return dst
}

// nameValue reads f, one field of counterFields.
func (p *Parser) nameValue(f []byte, dst []Point) []Point {
	f = f[skipBlanks(f, 0):]
	for len(f) > 0 && isBlank(f[len(f)-1]) {
		f = f[:len(f)-1]
	}
	if len(f) == 0 || !isLetter(f[0]) {
		return dst
	}
	ke := 0
	for ke < len(f) && isKeyByte(f[ke]) {
		ke++
	}
	ks := 0
	if ke+1 < len(f) && f[ke] == ' ' && isQualifier(f[:ke]) && isLetter(f[ke+1]) {
		ks = ke + 1
		for ke = ks; ke < len(f) && isKeyByte(f[ke]); ke++ {
		}
	}
	if ke > maxMetricKeyLen || ke == len(f) || !isBlank(f[ke]) {
		return dst
	}
	num, ok := readNumber(f, skipBlanks(f, ke))
	if !ok {
		return dst
	}
	switch string(f[num.end:]) {
	case "", "ms", "s", "%":
	default:
		return dst
	}
	return p.add(dst, f[:ke], f[ks:ke], num)
}

// add appends the point key=num to dst unless the last word of key,
// word, is a step with an integer (which lineStep reads) or an ignored
// key, or key is invalid.
func (p *Parser) add(dst []Point, key, word []byte, num number) []Point {
	if num.integer && stepClass(word) > 0 {
		return dst
	}
	if ignoredKey(word) {
		return dst
	}
	k := p.intern(key)
	if k == "" {
		return dst
	}
	return append(dst, Point{Key: k, Value: num.value})
}

// intern returns key as a string, or "" when run.ValidateKey refuses it
// or it names a system metric: those are sampled, never read from what a
// program prints.
func (p *Parser) intern(key []byte) string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if s, ok := p.keys[string(key)]; ok {
		return s
	}
	s := string(key)
	v := s
	if run.ValidateKey("metric", s) != nil || run.IsSystemMetric(s) {
		v = ""
	}
	if len(p.keys) < maxInterned {
		p.keys[s] = v
	}
	return v
}

// parsePattern applies a custom pattern to line.
func (p *Parser) parsePattern(line []byte, dst []Point) []Point {
	for _, m := range p.re.FindAllSubmatchIndex(line, -1) {
		ki, vi := 2*p.keyIdx, 2*p.valIdx
		if m[ki] < 0 || m[vi] < 0 {
			continue
		}
		v, err := run.ParseMetricValue(string(line[m[vi]:m[vi+1]]))
		if err != nil {
			continue
		}
		pt := Point{Value: v}
		if si := 2 * p.stp; p.stp >= 0 && m[si] >= 0 {
			step, err := strconv.ParseInt(string(line[m[si]:m[si+1]]), 10, 64)
			if err != nil {
				continue
			}
			pt.Step, pt.HasStep = step, true
		}
		if pt.Key = p.intern(line[m[ki]:m[ki+1]]); pt.Key == "" {
			continue
		}
		dst = append(dst, pt)
	}
	return dst
}

// byte classes, by table so that the hot loops cost one load per byte.
const (
	clLetter = 1 << iota
	clDigit
	clKey // letters, digits and _ . / -
	clBoundary
	clSep // = : |
)

var class = func() (t [256]uint8) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] |= clLetter | clKey
		t[c-'a'+'A'] |= clLetter | clKey
	}
	for c := '0'; c <= '9'; c++ {
		t[c] |= clDigit | clKey
	}
	for _, c := range "_./-" {
		t[c] |= clKey
	}
	for _, c := range " \t([{,;|<>:'\"" {
		t[c] |= clBoundary
	}
	for _, c := range "=:|" {
		t[c] |= clSep
	}
	return t
}()

func isLetter(c byte) bool  { return class[c]&clLetter != 0 }
func isDigit(c byte) bool   { return class[c]&clDigit != 0 }
func isKeyByte(c byte) bool { return class[c]&clKey != 0 }
func isBlank(c byte) bool   { return c == ' ' || c == '\t' }

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func skipBlanks(line []byte, i int) int {
	for i < len(line) && isBlank(line[i]) {
		i++
	}
	return i
}

// keyBefore finds the key ending at end: the run of key bytes before it,
// which must start with a letter and be short enough.
func keyBefore(line []byte, end int) (start int, ok bool) {
	start = end
	for start > 0 && isKeyByte(line[start-1]) {
		start--
		if end-start > maxMetricKeyLen {
			return 0, false
		}
	}
	return start, start < end && isLetter(line[start])
}

// boundaryBefore reports whether a key may start at i: at the start of the
// line or after a separator. URL queries (?a=1&b=2), shell variables and
// Markdown code (`max_epochs=10`) are thereby left out.
func boundaryBefore(line []byte, i int) bool {
	return i == 0 || class[line[i-1]]&clBoundary != 0
}

// phraseStart decides whether the key starting at ks is one, given the word
// before it, and where it starts. A key right after another word and one
// space ends a phrase ("Num Epochs = 3", "batch size per device = 8",
// "Model achieved accuracy: 0.9") and is no key, unless that word
// qualifies it ("Train Loss", "val acc"), and then belongs to it, or is a
// log level ("INFO loss: 0.3").
func phraseStart(line []byte, ks int) (int, bool) {
	if ks < 2 || line[ks-1] != ' ' || !isKeyByte(line[ks-2]) {
		return ks, boundaryBefore(line, ks)
	}
	ws, ok := keyBefore(line, ks-1)
	if !ok || !boundaryBefore(line, ws) {
		return ks, true // a number or a path, not a word
	}
	w := line[ws : ks-1]
	switch {
	case isQualifier(w):
		if ks-ws+1 > maxMetricKeyLen {
			return 0, false
		}
		return ws, true
	case isLogLevel(w):
		return ks, true
	}
	return 0, false
}

// capitalPhrase finds a key of several words led by a capitalised
// qualifier, which keeps its whole name: "Validation set score: 0.91" is
// the metric "Validation set score". The words between are lower-case
// letters, at most three of them; "Model achieved accuracy" has no
// qualifier and stays a phrase.
func capitalPhrase(line []byte, ks int) (int, bool) {
	pos := ks
	qualified := false
	for n := 0; n < 4; n++ {
		if pos < 2 || line[pos-1] != ' ' {
			return 0, false
		}
		ws := pos - 1
		for ws > 0 && (isLetter(line[ws-1]) || line[ws-1] == '-') {
			ws--
		}
		w := line[ws : pos-1]
		if len(w) == 0 || !isLetter(w[0]) || (ws > 0 && isKeyByte(line[ws-1])) || ks-ws > maxMetricKeyLen {
			return 0, false
		}
		if 'A' <= w[0] && w[0] <= 'Z' {
			if !isQualifier(w) {
				// A name before a qualified phrase that makes the line:
				// "MLP test score: 0.9156".
				return 0, qualified && ws == 0
			}
			if _, ok := phraseStart(line, ws); !ok {
				return 0, false
			}
			return ws, true
		}
		qualified = qualified || isQualifier(w)
		pos = ws
	}
	return 0, false
}

// isQualifier reports whether w, before a key, says which metric it is.
// An abbreviation's period is allowed: scikit-learn's SGD prints "Avg.
// loss".
func isQualifier(w []byte) bool {
	if len(w) > 1 && w[len(w)-1] == '.' {
		w = w[:len(w)-1]
	}
	switch lowerWord(w) {
	case "train", "training", "val", "valid", "validation", "test", "eval", "evaluation",
		"dev", "best", "avg", "average", "mean", "final", "running", "total", "min", "max", "objective":
		return true
	}
	return false
}

// isLogLevel reports whether w is the level of a log message.
func isLogLevel(w []byte) bool {
	switch lowerWord(w) {
	case "debug", "info", "warning", "warn", "error", "critical", "fatal", "trace", "notice":
		return true
	}
	return false
}

// lowerWord returns w in lower case if it is short enough to be one of the
// words this file looks for, or "". The result is only compared, never
// kept, so converting the buffer does not allocate.
func lowerWord(w []byte) string {
	var buf [16]byte
	if len(w) > len(buf) {
		return ""
	}
	for i, c := range w {
		buf[i] = lower(c)
	}
	return string(buf[:len(w)])
}

// possessive recognises LightGBM's "valid_0's l2", where the key starts at
// ks, and returns the owner, valid_0.
func possessive(line []byte, ks int) ([]byte, bool) {
	if ks < 4 || line[ks-1] != ' ' || line[ks-2] != 's' || line[ks-3] != '\'' {
		return nil, false
	}
	os, ok := keyBefore(line, ks-3)
	if !ok || !boundaryBefore(line, os) {
		return nil, false
	}
	return line[os : ks-3], true
}

// number is a NUMBER read from a line.
type number struct {
	value   float64
	end     int  // index after its text, wrappers and quotes included
	integer bool // digits with an optional sign, no fraction or exponent
}

// readNumber reads the NUMBER starting at i, with its tensor( or np.xxx(
// wrapper if any. It does not check what follows.
func readNumber(line []byte, i int) (number, bool) {
	wrapped := false
	if bytes.HasPrefix(line[i:], []byte("tensor(")) {
		i += len("tensor(")
		wrapped = true
	} else if bytes.HasPrefix(line[i:], []byte("np.")) {
		j := i + 3
		for j < len(line) && (isLetter(line[j]) || isDigit(line[j])) {
			j++
		}
		if j > i+3 && j < len(line) && line[j] == '(' {
			i, wrapped = j+1, true
		}
	}
	n, ok := scanNumber(line, i)
	if !ok || !wrapped {
		return n, ok
	}
	// tensor(0.31) or tensor(0.31, device='cuda:0'): skip to the ')'.
	if n.end < len(line) && line[n.end] == ')' {
		n.end++
		return n, true
	}
	if n.end < len(line) && line[n.end] == ',' {
		if j := bytes.IndexByte(line[n.end:], ')'); j >= 0 {
			n.end += j + 1
			return n, true
		}
	}
	return number{}, false
}

// scanNumber reads a bare NUMBER at i.
func scanNumber(line []byte, i int) (number, bool) {
	start := i
	neg := false
	if i < len(line) && (line[i] == '+' || line[i] == '-') {
		neg = line[i] == '-'
		i++
	}
	// The digits are gathered into mant as they are scanned, for the fast
	// conversion below; digits beyond 19 would overflow it and make exact
	// false.
	var mant uint64
	digits, scale := 0, 0
	ds := i
	for i < len(line) && isDigit(line[i]) {
		mant, digits = accumulate(mant, digits, line[i])
		i++
	}
	intDigits := i - ds
	fracDigits := 0
	if i < len(line) && line[i] == '.' {
		j := i + 1
		for j < len(line) && isDigit(line[j]) {
			mant, digits = accumulate(mant, digits, line[j])
			j++
		}
		fracDigits = j - i - 1
		if fracDigits > 0 || intDigits > 0 {
			i = j
			scale = -fracDigits
		}
	}
	if intDigits == 0 && fracDigits == 0 {
		v, n := special(line[i:])
		if n == 0 {
			return number{}, false
		}
		if neg {
			v = -v
		}
		return number{value: v, end: i + n}, true
	}
	integer := fracDigits == 0
	if i < len(line) && (line[i] == 'e' || line[i] == 'E') {
		j := i + 1
		eneg := j < len(line) && line[j] == '-'
		if j < len(line) && (line[j] == '+' || line[j] == '-') {
			j++
		}
		es, exp := j, 0
		for j < len(line) && isDigit(line[j]) {
			if exp < 10000 {
				exp = exp*10 + int(line[j]-'0')
			}
			j++
		}
		if j > es {
			i, integer = j, false
			if eneg {
				exp = -exp
			}
			scale += exp
		}
	}
	// A mantissa and a power of ten that are both exact in a float64
	// give, by one correctly rounded operation, the correctly rounded
	// value: most numbers in logs take this path, which is several times
	// faster than strconv.
	if digits >= 0 && mant < 1<<53 && -22 <= scale && scale <= 22 {
		v := float64(mant)
		if scale < 0 {
			v /= pow10[-scale]
		} else {
			v *= pow10[scale]
		}
		if neg {
			v = -v
		}
		return number{value: v, end: i, integer: integer}, true
	}
	v, err := strconv.ParseFloat(string(line[start:i]), 64)
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return number{}, false
	}
	return number{value: v, end: i, integer: integer}, true
}

// accumulate adds the digit c to mant; digits counts the digits added, or
// is -1 once mant can no longer hold them.
func accumulate(mant uint64, digits int, c byte) (uint64, int) {
	if digits < 0 || digits >= 19 {
		return mant, -1
	}
	return mant*10 + uint64(c-'0'), digits + 1
}

var pow10 = [...]float64{1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10,
	1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22}

// special reads nan, inf or infinity in any case and returns the value and
// the length read, or 0.
func special(b []byte) (float64, int) {
	switch {
	case hasFoldPrefix(b, "infinity"):
		return math.Inf(1), len("infinity")
	case hasFoldPrefix(b, "inf"):
		return math.Inf(1), len("inf")
	case hasFoldPrefix(b, "nan"):
		return math.NaN(), len("nan")
	}
	return 0, 0
}

// hasFoldPrefix reports whether b starts with the lower-case ASCII word w,
// in any case.
func hasFoldPrefix(b []byte, w string) bool {
	if len(b) < len(w) {
		return false
	}
	for i := 0; i < len(w); i++ {
		if lower(b[i]) != w[i] {
			return false
		}
	}
	return true
}

// numberEnd checks that the number whose text ends at i ends the word, and
// returns the index after it and after any '%' that belongs to it. key
// decides whether a '%' is allowed.
func numberEnd(line []byte, i int, key []byte) (int, bool) {
	if i < len(line) && line[i] == '%' {
		if i+1 < len(line) && line[i+1] == '|' || hasFoldSuffix(key, "ing") {
			return 0, false
		}
		i++
	}
	if i >= len(line) {
		return i, true
	}
	next := byte(0)
	if i+1 < len(line) {
		next = line[i+1]
	}
	switch line[i] {
	case ' ', '\t', ')', ']', '}', '>', '|', '\'', '"':
		return i, true
	case ',', ';':
		return i, !isDigit(next)
	case '.', ':', '!', '?':
		return i, i+1 == len(line) || isBlank(next)
	}
	return 0, false
}

// hasFoldSuffix reports whether b ends with the lower-case ASCII word w,
// in any case.
func hasFoldSuffix(b []byte, w string) bool {
	return len(b) >= len(w) && hasFoldPrefix(b[len(b)-len(w):], w)
}

// countFollows reports whether the number ending at i is followed by
// spaces and a plain word, as in "using: 0 TPU cores": the number then
// counts things and is not a metric. A word that starts another pair, or
// a step word, does not count.
func countFollows(line []byte, i int) bool {
	if i >= len(line) || line[i] != ' ' {
		return false // tabs separate columns of metrics
	}
	ws := skipBlanks(line, i)
	if ws >= len(line) || !isLetter(line[ws]) {
		return false
	}
	we := ws
	for we < len(line) && isKeyByte(line[we]) {
		we++
	}
	if stepClass(line[ws:we]) > 0 || isPreposition(line[ws:we]) {
		return false
	}
	if we+1 < len(line) && line[we] == '\'' && line[we+1] == 's' {
		return false // LightGBM: valid_0's l2
	}
	k := skipBlanks(line, we)
	return k >= len(line) || (line[k] != '=' && line[k] != ':')
}

// isPreposition reports whether w, after a number, goes on a sentence
// rather than naming what the number counts: "best score: 0.92 with
// {...}", "accuracy: 0.91 at step 100".
func isPreposition(w []byte) bool {
	switch lowerWord(w) {
	case "with", "using", "at", "after", "for", "in", "on", "from", "over":
		return true
	}
	return false
}

// ignoredKey reports whether key names a setting or an identifier that
// startup logs print like a metric.
func ignoredKey(key []byte) bool {
	if len(key) > 2 && key[0] == 'n' && key[1] == '_' {
		return true // a count that sizes data or model: n_samples, n_layer
	}
	if len(key) < 3 || len(key) > len("global_rank") {
		return false
	}
	if key[0] == 'v' && string(key) == "v_num" {
		return true // Lightning's logger version
	}
	switch lower(key[0]) {
	case 'v', 'p', 's', 'r', 'l', 'g', 'n', 'w', 'b':
	default:
		return false
	}
	var buf [16]byte
	for i, c := range key {
		buf[i] = lower(c)
	}
	switch string(buf[:len(key)]) {
	case "version", "pid", "port", "seed", "rank", "local_rank", "global_rank", "node_rank", "world_size":
		return true
	case "batch":
		// A position within an epoch ("Epoch 1, batch 100, loss 0.35"):
		// it starts again each epoch, so it is neither a metric nor a step.
		return true
	}
	return false
}

// stepClass ranks a word as a step word: 2 for step, global_step, iter,
// iteration, it, num_updates (fairseq) and round, 1 for epoch, 0 for any
// other word.
func stepClass(w []byte) int {
	if len(w) < 2 || len(w) > len("global_step") {
		return 0
	}
	switch lower(w[0]) {
	case 's', 'g', 'i', 'e', 'n', 'r':
	default:
		return 0
	}
	var buf [16]byte
	for i, c := range w {
		buf[i] = lower(c)
	}
	switch string(buf[:len(w)]) {
	case "step", "global_step", "iter", "iteration", "it", "num_updates", "round":
		return 2
	case "epoch":
		return 1
	}
	return 0
}

// counters are what lineStep finds in a line.
type counters struct {
	step     int64
	cls      int // the class of the word that gave step (2 for the start of the line), 0 for no step
	epoch    int64
	hasEpoch bool
}

// lineStep finds the step of a line (see NewParser), and its epoch apart.
func lineStep(line []byte) counters {
	var c counters
	if v, ok := iterationPrefix(line); ok {
		c.step, c.cls = v, 2
		return c
	}
	for i := 0; i < len(line) && !(c.cls == 2 && c.hasEpoch); i++ {
		if !isLetter(line[i]) || (i > 0 && isKeyByte(line[i-1])) {
			continue
		}
		j := i
		for j < len(line) && isKeyByte(line[j]) {
			j++
		}
		cls := stepClass(line[i:j])
		wanted := cls == 2 && c.cls < 2 || cls == 1 && !c.hasEpoch
		if wanted && (i == 0 || class[line[i-1]]&clBoundary != 0) {
			if v, ok := stepValue(line, i, j); ok {
				if cls == 1 {
					c.epoch, c.hasEpoch = v, true
				}
				if cls > c.cls {
					c.step, c.cls = v, cls
				}
			}
		}
		i = j
	}
	return c
}

// iterationPrefix reads the [N]<tab> or N:<tab> that XGBoost, LightGBM and
// CatBoost print at the start of each iteration's line, the [N]: and
// blanks of LightGBM's R package, or the [N/TOTAL] and a space of
// scikit-learn's HistGradientBoosting.
func iterationPrefix(line []byte) (int64, bool) {
	i := 0
	bracket := len(line) > 0 && line[0] == '['
	if bracket {
		i++
	}
	v, j, ok := readStepInt(line, i)
	if !ok {
		return 0, false
	}
	if bracket {
		if j < len(line) && line[j] == '/' {
			// scikit-learn's HistGradientBoosting: "[3/100] 1 tree, ...".
			if _, j, ok = readStepInt(line, j+1); !ok || j+1 >= len(line) || line[j] != ']' {
				return 0, false
			}
			return v, line[j+1] == ' '
		}
		if j >= len(line) || line[j] != ']' {
			return 0, false
		}
		if j+2 < len(line) && line[j+1] == ':' && isBlank(line[j+2]) {
			return v, true
		}
	} else if j >= len(line) || line[j] != ':' {
		return 0, false
	}
	j++
	return v, j < len(line) && line[j] == '\t'
}

// stepValue reads the value of the step word line[i:j].
func stepValue(line []byte, i, j int) (int64, bool) {
	k := j
	if i > 0 && (line[i-1] == '\'' || line[i-1] == '"') && k < len(line) && line[k] == line[i-1] {
		k++ // 'step': 100
		if k < len(line) && line[k] == ':' {
			k = skipBlanks(line, k+1)
		}
		if k < len(line) && line[k] == line[i-1] {
			// fairseq's JSON log quotes numbers: "num_updates": "100".
			v, e, ok := readStepInt(line, k+1)
			if !ok || e >= len(line) || line[e] != line[k] {
				return 0, false
			}
			_, ok = numberEnd(line, e+1, nil)
			return v, ok
		}
	} else if k < len(line) {
		switch line[k] {
		case '=':
			k = skipBlanks(line, k+1)
		case ':':
			if k+1 >= len(line) || !isBlank(line[k+1]) {
				return 0, false
			}
			k = skipBlanks(line, k+1)
		case ' ', '\t':
			k = skipBlanks(line, k)
		case '[':
		default:
			return 0, false
		}
	}
	bracket := k < len(line) && line[k] == '['
	if bracket {
		k++
	}
	v, k, ok := readStepInt(line, k)
	if !ok {
		return 0, false
	}
	if k < len(line) && line[k] == '/' {
		if _, k, ok = readStepInt(line, k+1); !ok {
			return 0, false
		}
	}
	if bracket {
		if k >= len(line) || line[k] != ']' {
			return 0, false
		}
		k++
	}
	_, ok = numberEnd(line, k, nil)
	return v, ok
}

// readStepInt reads a non-negative decimal integer of at most 18 digits,
// which cannot overflow, at i.
func readStepInt(line []byte, i int) (v int64, end int, ok bool) {
	j := i
	for j < len(line) && isDigit(line[j]) {
		if j-i == 18 {
			return 0, 0, false
		}
		v = v*10 + int64(line[j]-'0')
		j++
	}
	return v, j, j > i
}

// stripEscapes appends line to dst without its ANSI escape sequences:
// CSI sequences (ESC [ ... final byte), which set colours and move the
// cursor, and two-byte ESC sequences.
func stripEscapes(dst, line []byte) []byte {
	for i := 0; i < len(line); i++ {
		c := line[i]
		if c != 0x1b {
			dst = append(dst, c)
			continue
		}
		if i+1 < len(line) && line[i+1] == '[' {
			i += 2
			for i < len(line) && !(line[i] >= 0x40 && line[i] <= 0x7e) {
				i++
			}
		} else {
			i++
		}
	}
	return dst
}
