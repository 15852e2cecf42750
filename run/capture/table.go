package capture

import (
	"bytes"
	"strconv"
)

// A Stream reads the metrics of one stream of output, a line at a time,
// in order. It finds what Parser.Parse finds, and also what takes more
// than one line to read: tables, whose rows are read against the most
// recent header line, and settings printed over several lines. A Stream
// is not safe for concurrent use; give each stream of output its own.
//
// # Tables
//
// A header is a line of at least two column names, each a letter and
// then KEY bytes, parentheses or single spaces, parted by two or more
// blanks, whose first column is a step word (fastai's "epoch
// train_loss valid_loss accuracy time", scikit-learn's "Iter Train Loss
// Remaining Time", YOLO's "Epoch GPU_mem box_loss ..."), is Class (YOLO's
// validation), or ends in "metric" (PyTorch Lightning's "Test metric
// DataLoader 0", also drawn in a box). A row is a line with as many
// fields, parted by blanks (or by box bars), as its header has columns;
// its fields other than names start with a digit, a sign or a '.', or
// read "#na#", nan or inf.
//
//   - In a table led by a step word, the first field of a row, N or N/M,
//     is the step; every other column whose field is a NUMBER is a
//     metric named after its column. A column Box(P ... mAP50-95) names
//     Box/P ... Box/mAP50-95.
//   - In a Class table, the leading words of a row name the class: "all"
//     gives the column names alone, another class prefixes them
//     ("person/Box/mAP50"). Its rows take the step of the last row of a
//     table led by a step word, as YOLO validates after each epoch.
//   - In a metric table, each row is a KEY and its NUMBER; with several
//     DataLoader columns, the KEY of column N is KEY/dataloader_idx_N.
//   - Columns of times and counts are never metrics: time, elapsed, eta,
//     remaining time, images, instances, labels, targets, size, gpu_mem,
//     mem (any case).
//   - A row that carries a progress bar (YOLO's "...  640: 100%|███|") is
//     read once the bar is full, as every redraw repeats it.
//
// A header holds until another replaces it, except that a table led by a
// step word holds through the Class and metric tables after it (YOLO
// validates between its training rows); Class and metric tables end at
// the first line after their rows that is not a row (box borders aside).
//
// # Settings over several lines
//
// From a line that ends with the name of a class and "(", maybe a space
// between (Hugging Face's "TrainingArguments(", torch's "Net(" and
// "Adadelta ("), to the line where that parenthesis closes, at most 500
// lines, nothing is read.
type Stream struct {
	p       *Parser
	tab     *table // the most recent header
	counter *table // the most recent header led by a step word
	step    int64  // of the last row of a table led by a step word
	hasStep bool
	dump    int // lines left to pass over inside settings printed over several lines
	depth   int // of parentheses open in the settings being passed over
	buf     []byte
	fields  [][]byte
}

// Stream returns a new Stream that reads lines with p's rules. With a
// custom pattern, it reads each line as Parse does.
func (p *Parser) Stream() *Stream {
	return &Stream{p: p}
}

// Parse appends to dst the points found in line, the next line of the
// stream, and returns the extended slice. As with Parser.Parse, line has
// no line ending and is neither kept nor modified.
func (s *Stream) Parse(line []byte, dst []Point) []Point {
	if s.p.re != nil || len(line) > maxLineLen {
		return s.p.Parse(line, dst)
	}
	if bytes.IndexByte(line, 0x1b) >= 0 {
		s.buf = stripEscapes(s.buf[:0], line)
		line = s.buf
	}
	if s.dump > 0 {
		// A module's repr nests: the dump ends where its first line's
		// parenthesis closes, not at the first line led by ')'.
		s.dump--
		if s.depth += parenBalance(line); s.depth <= 0 {
			s.dump = 0
		}
		return dst
	}
	if opensDump(line) {
		s.dump, s.depth = maxDumpLines, parenBalance(line)
		return dst
	}
	if out, ok := s.tableLine(line, dst); ok {
		return out
	}
	if bytes.IndexByte(line, '=') < 0 && bytes.IndexByte(line, ':') < 0 && bytes.IndexByte(line, '|') < 0 {
		return s.p.bareCounterLine(line, dst)
	}
	return s.p.parse(line, dst)
}

// passes reports whether Parse would give nothing for line and leave s
// as it is, given that line holds none of '=', ':', '|' and ESC: no table
// or settings dump is open, and line neither opens one nor may be a
// header. The line splitter passes over such lines without cutting them
// out.
func (s *Stream) passes(line []byte) bool {
	return s.p.re == nil && s.tab == nil && s.counter == nil && s.dump == 0 && !opensDump(line) && !mayBeHeader(line)
}

// maxDumpLines bounds settings printed over several lines, so that a
// line ending in "(" that opens no settings silences only so much.
const maxDumpLines = 500

// opensDump reports whether line starts settings printed over several
// lines: it ends with the name of a class and "(", maybe a space between
// (Hugging Face's "TrainingArguments(", torch's "Net(" and "Adadelta (").
// A call in code that Python echoes under a warning ("  warnings.warn(",
// "  x = _check_result(") names a function, in lower case, or assigns.
func opensDump(line []byte) bool {
	n := len(line)
	for n > 0 && isBlank(line[n-1]) {
		n--
	}
	if n < 2 || line[n-1] != '(' {
		return false
	}
	n--
	if line[n-1] == ' ' {
		n--
	}
	ws := n
	for ws > 0 && (isLetter(line[ws-1]) || isDigit(line[ws-1]) || line[ws-1] == '_') {
		ws--
	}
	return ws < n && 'A' <= line[ws] && line[ws] <= 'Z' && bytes.IndexByte(line[:ws], '=') < 0
}

// parenBalance counts the parentheses line opens less those it closes.
func parenBalance(line []byte) int {
	return bytes.Count(line, []byte("(")) - bytes.Count(line, []byte(")"))
}

// tableKind says how a table's rows are read.
type tableKind int

const (
	counterTable tableKind = iota // led by a step word
	classTable                    // YOLO's validation
	metricTable                   // Lightning's test results
)

// table is a header: the columns after the first.
type table struct {
	kind tableKind
	box  bool
	cols []column
	rows int // rows read so far
}

// column is one column of a header after the first.
type column struct {
	key  string // "" for a column that is never a metric
	name []byte // its key as bytes, for class prefixes
}

// tableLine reads line as a header or as a row of the current table. ok
// is false when line is neither and is to be read as any other line.
func (s *Stream) tableLine(line []byte, dst []Point) ([]Point, bool) {
	if s.tab == nil && s.counter == nil && !mayBeHeader(line) {
		return dst, false // most lines of most runs: no table in sight
	}
	text, full := cutProgress(line)
	box := bytes.Contains(text, []byte("│")) || bytes.Contains(text, []byte("┃"))
	if t := s.header(text, box); t != nil {
		s.tab = t
		if t.kind == counterTable {
			s.counter = t
		}
		return dst, true
	}
	n := len(dst)
	if t := s.tab; t != nil && t.kind != counterTable {
		var ok bool
		if t.kind == classTable {
			dst, ok = s.classRow(text, dst)
		} else {
			dst, ok = s.metricRow(text, box, dst)
		}
		switch {
		case ok && !full:
			return dst[:n], true
		case ok:
			t.rows++
			return dst, true
		case t.rows > 0 && !isBorder(text):
			s.tab = s.counter // the training table goes on after YOLO's validation
		}
	}
	if s.counter == nil {
		return dst, false
	}
	// The training table of YOLO holds through its validation tables.
	dst, ok := s.counterRow(s.counter, text, dst)
	if ok && !full {
		return dst[:n], true
	}
	return dst, ok
}

// cutProgress cuts a progress bar off the end of a table line ("640:
// 100%|████| 8/8 [...]") and reports whether the bar was full or absent.
func cutProgress(line []byte) ([]byte, bool) {
	i := bytes.Index(line, []byte("%|"))
	if i < 0 {
		return line, true
	}
	c := bytes.LastIndex(line[:i], []byte(": "))
	if c < 0 {
		return line, true
	}
	return line[:c], bytes.HasSuffix(bytes.TrimRight(line[:i], " "), []byte(" 100")) || bytes.HasSuffix(line[:i], []byte(":100"))
}

// isBorder reports whether line draws a table's border: no letters or
// digits.
func isBorder(line []byte) bool {
	for _, c := range line {
		if class[c]&(clLetter|clDigit) != 0 {
			return false
		}
	}
	return true
}

// header returns the table whose header text is, or nil.
func (s *Stream) header(text []byte, box bool) *table {
	i := skipBlanks(text, 0)
	if i == len(text) {
		return nil
	}
	if box {
		if !bytes.HasPrefix(text[i:], []byte("┃")) {
			return nil
		}
	} else if !isLetter(text[i]) || !headerStart(text[i:]) {
		return nil
	}
	names := s.split(text, box, true)
	if len(names) < 2 {
		return nil
	}
	for _, n := range names {
		if !isColumnName(n) {
			return nil
		}
	}
	t := &table{box: box}
	switch first := names[0]; {
	case hasFoldSuffix(first, " metric"):
		t.kind = metricTable
	case box:
		return nil
	case stepClass(first) > 0:
		t.kind = counterTable
	case lowerWord(first) == "class":
		t.kind = classTable
	default:
		return nil
	}
	t.cols = s.columns(names[1:])
	return t
}

// mayBeHeader is a quick look at the start of line: a header begins
// with a box bar or a word headerStart accepts.
func mayBeHeader(line []byte) bool {
	i := skipBlanks(line, 0)
	return i < len(line) && (line[i] == 0xe2 || isLetter(line[i]) && headerStart(line[i:]))
}

// headerStart is a quick look at the first word of a line that may be a
// header, so that most lines are passed over at once.
func headerStart(b []byte) bool {
	e := 0
	for e < len(b) && isKeyByte(b[e]) {
		e++
	}
	w := b[:e]
	switch lower(b[0]) {
	case 'e', 'i', 's', 'r', 'g', 'n':
		return stepClass(w) > 0
	case 'c':
		return lowerWord(w) == "class"
	case 't', 'v', 'p':
		switch lowerWord(w) {
		case "test", "validate", "validation", "predict":
			return true
		}
	}
	return false
}

// isColumnName reports whether n can name a column: a letter, then KEY
// bytes, parentheses and single spaces.
func isColumnName(n []byte) bool {
	if len(n) == 0 || !isLetter(n[0]) || len(n) > maxMetricKeyLen {
		return false
	}
	for i, c := range n {
		if !isKeyByte(c) && c != '(' && c != ')' && (c != ' ' || n[i-1] == ' ') {
			return false
		}
	}
	return true
}

// columns names the columns of a header; Box(P ... mAP50-95) becomes
// Box/P ... Box/mAP50-95.
func (s *Stream) columns(names [][]byte) []column {
	cols := make([]column, len(names))
	var group []byte
	for i, n := range names {
		if o := bytes.IndexByte(n, '('); o >= 0 {
			group, n = n[:o], n[o+1:]
		}
		g := group
		if c := bytes.IndexByte(n, ')'); c >= 0 {
			n, group = n[:c], nil
		}
		if isUncharted(n) || len(n) == 0 {
			continue
		}
		if len(g) > 0 {
			n = append(append(append([]byte(nil), g...), '/'), n...)
		}
		cols[i].key = s.p.intern(n)
		cols[i].name = []byte(cols[i].key)
	}
	return cols
}

// isUncharted reports whether a column holds times or counts.
func isUncharted(n []byte) bool {
	switch lowerWord(n) {
	case "time", "elapsed", "eta", "remaining time", "images", "instances", "labels", "targets",
		"size", "gpu_mem", "gpu mem", "mem":
		return true
	}
	return false
}

// split cuts text into its fields: between box bars when box, else at
// runs of two or more blanks for a header (whose names may hold a space)
// or at any blanks for a row. The result is reused by the next call.
func (s *Stream) split(text []byte, box, header bool) [][]byte {
	f := s.fields[:0]
	if box {
		for _, part := range bytes.FieldsFunc(text, func(r rune) bool { return r == '│' || r == '┃' }) {
			if p := bytes.TrimSpace(part); len(p) > 0 {
				f = append(f, p)
			}
		}
		s.fields = f
		return f
	}
	for i := skipBlanks(text, 0); i < len(text); {
		j := i
		for j < len(text) && !isBlank(text[j]) || (header && j+1 < len(text) && text[j] == ' ' && !isBlank(text[j+1])) {
			j++
		}
		f = append(f, text[i:j])
		i = skipBlanks(text, j)
	}
	s.fields = f
	return f
}

// isValueField reports whether a row's field holds a value: it starts
// with a digit, a sign or a '.', or is #na#, nan or inf.
func isValueField(f []byte) bool {
	switch c := f[0]; {
	case isDigit(c), c == '-', c == '+', c == '.', c == '#':
		return true
	}
	_, n := special(f)
	return n == len(f)
}

// fieldNumber reads a field that is exactly a NUMBER, with an optional %.
func fieldNumber(f []byte) (number, bool) {
	num, ok := scanNumber(f, 0)
	if !ok {
		return num, false
	}
	end := num.end
	if end < len(f) && f[end] == '%' {
		end++
	}
	return num, end == len(f)
}

// counterRow reads a row of a table led by a step word.
func (s *Stream) counterRow(t *table, text []byte, dst []Point) ([]Point, bool) {
	if i := skipBlanks(text, 0); i == len(text) || !isDigit(text[i]) {
		return dst, false // the first field is no step: most lines end here
	}
	f := s.split(text, false, false)
	cols := t.cols
	if len(f) != len(cols)+1 {
		return dst, false
	}
	step, e, ok := readStepInt(f[0], 0)
	if ok && e < len(f[0]) && f[0][e] == '/' {
		_, e, ok = readStepInt(f[0], e+1)
	}
	if !ok || e != len(f[0]) {
		return dst, false
	}
	for _, v := range f[1:] {
		if !isValueField(v) {
			return dst, false
		}
	}
	for i, c := range cols {
		if num, ok := fieldNumber(f[i+1]); ok && c.key != "" {
			dst = append(dst, Point{Key: c.key, Value: num.value, Step: step, HasStep: true})
		}
	}
	s.step, s.hasStep = step, true
	return dst, true
}

// classRow reads a row of YOLO's validation table.
func (s *Stream) classRow(text []byte, dst []Point) ([]Point, bool) {
	if i := skipBlanks(text, 0); i == len(text) || !isLetter(text[i]) {
		return dst, false // no class name first
	}
	f := s.split(text, false, false)
	cols := s.tab.cols
	words := 0
	for words < len(f) && isLetter(f[words][0]) {
		words++
	}
	if words == 0 || len(f)-words != len(cols) {
		return dst, false
	}
	for _, v := range f[words:] {
		if !isValueField(v) {
			return dst, false
		}
	}
	// The fields are slices of text: their capacities say where they start.
	ls, le := cap(text)-cap(f[0]), cap(text)-cap(f[words-1])+len(f[words-1])
	label := text[ls:le]
	var buf [2 * maxMetricKeyLen]byte
	for i, c := range cols {
		num, ok := fieldNumber(f[words+i])
		if !ok || c.key == "" {
			continue
		}
		key := c.key
		if string(label) != "all" {
			if len(label)+1+len(c.name) > maxMetricKeyLen {
				continue
			}
			n := copy(buf[:], label)
			buf[n] = '/'
			n += 1 + copy(buf[n+1:], c.name)
			if key = s.p.intern(buf[:n]); key == "" {
				continue
			}
		}
		dst = append(dst, Point{Key: key, Value: num.value, Step: s.step, HasStep: s.hasStep})
	}
	return dst, true
}

// metricRow reads a row of Lightning's table of results: a KEY and its
// values, one per DataLoader column.
func (s *Stream) metricRow(text []byte, box bool, dst []Point) ([]Point, bool) {
	if box != s.tab.box {
		return dst, false
	}
	var f [][]byte
	if box {
		// Empty cells count: a metric of DataLoader 1 leaves column 0
		// empty.
		parts := bytes.FieldsFunc(text, func(r rune) bool { return r == '│' })
		f = s.fields[:0]
		for _, p := range parts {
			f = append(f, bytes.TrimSpace(p))
		}
		if len(f) > 0 && len(f[len(f)-1]) == 0 {
			f = f[:len(f)-1]
		}
		if len(f) > 0 && len(f[0]) == 0 {
			f = f[1:]
		}
		s.fields = f
	} else {
		f = s.split(text, false, false)
	}
	cols := s.tab.cols
	if len(f) < 2 || len(f) > len(cols)+1 || len(f[0]) == 0 || !isLetter(f[0][0]) || len(f[0]) > maxMetricKeyLen {
		return dst, false
	}
	for _, c := range f[0] {
		if !isKeyByte(c) {
			return dst, false
		}
	}
	n := len(dst)
	for i, v := range f[1:] {
		if len(v) == 0 {
			continue
		}
		num, ok := fieldNumber(v)
		if !ok {
			return dst[:n], false
		}
		key := f[0]
		if len(cols) > 1 && !bytes.Contains(key, []byte("/dataloader_idx_")) {
			var kb [2 * maxMetricKeyLen]byte
			key = strconv.AppendInt(append(append(kb[:0], key...), "/dataloader_idx_"...), int64(i), 10)
		}
		dst = s.p.add(dst, key, f[0], num)
	}
	return dst, len(dst) > n
}
