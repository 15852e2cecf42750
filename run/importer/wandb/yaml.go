package wandb

import (
	"fmt"
	"strconv"
	"strings"
)

// W&B writes files/config.yaml with PyYAML's block style: each config key
// a mapping whose value: sub-key holds the value (desc: beside it in older
// versions), nested mappings indented by two spaces, sequences as "- "
// items at their key's indent or deeper, scalars plain or quoted, empty
// collections as [] and {}. readYAML reads that much YAML, and says
// where it finds more.

// ynode is a YAML value: a scalar (text, and whether it was quoted), a
// sequence or a mapping with its keys in order.
type ynode struct {
	kind   byte // 's' scalar, 'l' sequence, 'm' mapping
	text   string
	quoted bool
	list   []*ynode
	keys   []string
	m      map[string]*ynode
}

type yline struct {
	n      int // line number, from 1
	indent int
	text   string // without the indent
}

type yparser struct {
	lines []yline
	i     int
	depth int
}

// maxDepth bounds how deep a document nests: W&B's configs are shallow.
const maxDepth = 100

// readYAML parses data, a document of the block style above.
func readYAML(data string) (*ynode, error) {
	p := &yparser{}
	for i, l := range strings.Split(data, "\n") {
		l = strings.TrimRight(l, " \r")
		t := strings.TrimLeft(l, " ")
		if t == "" || t[0] == '#' || t == "---" {
			continue
		}
		if strings.HasPrefix(l, "\t") {
			return nil, fmt.Errorf("line %d: a tab in the indent", i+1)
		}
		p.lines = append(p.lines, yline{i + 1, len(l) - len(t), t})
	}
	if len(p.lines) == 0 {
		return &ynode{kind: 'm', m: map[string]*ynode{}}, nil
	}
	n, err := p.block(p.lines[0].indent)
	if err != nil {
		return nil, err
	}
	if p.i < len(p.lines) {
		return nil, fmt.Errorf("line %d: unexpected indent", p.lines[p.i].n)
	}
	return n, nil
}

// block reads the mapping or sequence whose lines are at indent.
func (p *yparser) block(indent int) (*ynode, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxDepth {
		return nil, fmt.Errorf("line %d: nested deeper than %d", p.lines[p.i].n, maxDepth)
	}
	if strings.HasPrefix(p.lines[p.i].text, "- ") || p.lines[p.i].text == "-" {
		return p.seq(indent)
	}
	return p.mapping(indent)
}

func (p *yparser) seq(indent int) (*ynode, error) {
	n := &ynode{kind: 'l'}
	for p.i < len(p.lines) && p.lines[p.i].indent == indent && (strings.HasPrefix(p.lines[p.i].text, "- ") || p.lines[p.i].text == "-") {
		l := p.lines[p.i]
		rest := strings.TrimLeft(strings.TrimPrefix(l.text, "-"), " ")
		if rest == "" {
			p.i++
			v, err := p.nested(indent, false)
			if err != nil {
				return nil, err
			}
			n.list = append(n.list, v)
			continue
		}
		// "- key: value" opens a mapping whose keys line up after "- ".
		inner := indent + len(l.text) - len(rest)
		if _, _, ok := splitKey(rest); ok && !isQuoted(rest) {
			p.lines[p.i] = yline{l.n, inner, rest}
			v, err := p.mapping(inner)
			if err != nil {
				return nil, err
			}
			n.list = append(n.list, v)
			continue
		}
		p.i++
		v, err := p.scalar(rest, l.n, indent)
		if err != nil {
			return nil, err
		}
		n.list = append(n.list, v)
	}
	return n, nil
}

func (p *yparser) mapping(indent int) (*ynode, error) {
	n := &ynode{kind: 'm', m: map[string]*ynode{}}
	for p.i < len(p.lines) && p.lines[p.i].indent == indent {
		l := p.lines[p.i]
		if strings.HasPrefix(l.text, "- ") {
			return nil, fmt.Errorf("line %d: a sequence item among mapping keys", l.n)
		}
		k, rest, ok := splitKey(l.text)
		if !ok {
			return nil, fmt.Errorf("line %d: want key: value", l.n)
		}
		key, err := keyText(k, l.n)
		if err != nil {
			return nil, err
		}
		if _, dup := n.m[key]; dup {
			return nil, fmt.Errorf("line %d: key %q twice", l.n, key)
		}
		p.i++
		var v *ynode
		if rest == "" {
			v, err = p.nested(indent, true)
		} else {
			v, err = p.scalar(rest, l.n, indent)
		}
		if err != nil {
			return nil, err
		}
		n.keys = append(n.keys, key)
		n.m[key] = v
	}
	return n, nil
}

// nested reads the value of a key or item whose line ended after its
// colon or dash: a block deeper than indent, or (for a key) a sequence at
// its indent, as PyYAML writes them; null when none.
func (p *yparser) nested(indent int, key bool) (*ynode, error) {
	if p.i < len(p.lines) {
		l := p.lines[p.i]
		if l.indent > indent || key && l.indent == indent && strings.HasPrefix(l.text, "- ") {
			return p.block(l.indent)
		}
	}
	return &ynode{kind: 's', text: "null"}, nil
}

// scalar reads the scalar (or flow collection) s of line n; a quoted or
// plain scalar PyYAML folded goes on over the lines deeper than indent.
func (p *yparser) scalar(s string, n, indent int) (*ynode, error) {
	for p.i < len(p.lines) && p.lines[p.i].indent > indent && continues(s) {
		s += " " + p.lines[p.i].text
		p.i++
	}
	switch {
	case s[0] == '\'':
		if len(s) < 2 || !strings.HasSuffix(s, "'") {
			return nil, fmt.Errorf("line %d: unterminated quoted value", n)
		}
		return &ynode{kind: 's', text: strings.ReplaceAll(s[1:len(s)-1], "''", "'"), quoted: true}, nil
	case s[0] == '"':
		t, err := strconv.Unquote(s)
		if err != nil {
			return nil, fmt.Errorf("line %d: bad double-quoted value", n)
		}
		return &ynode{kind: 's', text: t, quoted: true}, nil
	case s == "[]":
		return &ynode{kind: 'l'}, nil
	case s == "{}":
		return &ynode{kind: 'm', m: map[string]*ynode{}}, nil
	case s[0] == '[' && strings.HasSuffix(s, "]"):
		l := &ynode{kind: 'l'}
		for _, part := range strings.Split(s[1:len(s)-1], ",") {
			part = strings.TrimSpace(part)
			if part == "" || strings.ContainsAny(part, "[]{}'\"") {
				return nil, fmt.Errorf("line %d: a flow sequence beyond plain scalars", n)
			}
			l.list = append(l.list, &ynode{kind: 's', text: part})
		}
		return l, nil
	case strings.ContainsAny(s[:1], "{[&*!|>%@`"):
		return nil, fmt.Errorf("line %d: YAML beyond what W&B writes (%q)", n, s[:1])
	}
	if i := strings.Index(s, " #"); i >= 0 {
		s = strings.TrimRight(s[:i], " ")
	}
	return &ynode{kind: 's', text: s}, nil
}

// continues tells whether scalar s, as read so far, goes on over the
// next lines: a quote not closed yet, or a plain scalar.
func continues(s string) bool {
	switch s[0] {
	case '\'':
		return len(s) < 2 || !strings.HasSuffix(s, "'") || strings.HasSuffix(s, "''") && !strings.HasSuffix(s[1:], "'''")
	case '"':
		_, err := strconv.Unquote(s)
		return err != nil
	case '[', '{':
		return false
	}
	return true
}

// splitKey splits "key: value" (or "key:") at its colon.
func splitKey(s string) (key, rest string, ok bool) {
	if isQuoted(s) {
		q := s[0]
		end := strings.IndexByte(s[1:], q)
		if end < 0 || !strings.HasPrefix(s[end+2:], ":") {
			return "", "", false
		}
		return s[:end+2], strings.TrimSpace(s[end+3:]), true
	}
	if i := strings.Index(s, ": "); i > 0 {
		return s[:i], strings.TrimSpace(s[i+2:]), true
	}
	if strings.HasSuffix(s, ":") && len(s) > 1 {
		return s[:len(s)-1], "", true
	}
	return "", "", false
}

func isQuoted(s string) bool { return s != "" && (s[0] == '\'' || s[0] == '"') }

func keyText(k string, n int) (string, error) {
	switch {
	case k[0] == '\'':
		return strings.ReplaceAll(k[1:len(k)-1], "''", "'"), nil
	case k[0] == '"':
		t, err := strconv.Unquote(k)
		if err != nil {
			return "", fmt.Errorf("line %d: bad quoted key", n)
		}
		return t, nil
	}
	return k, nil
}
