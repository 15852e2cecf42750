package mlflow

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// maxMetaSize bounds a meta.yaml, in bytes: MLflow's hold a dozen short
// fields.
const maxMetaSize = 64 << 10

// meta is a meta.yaml as MLflow writes it (PyYAML's safe_dump of a flat
// dictionary): each key's scalar, unquoted; a key whose value is null
// (or ~, or nothing) is absent. Values that are not scalars (the empty
// list of tags older versions kept) are left out.
type meta map[string]string

// parseMeta reads the small part of YAML that MLflow's meta.yaml files
// use: one "key: value" a line at the top level, the value plain,
// 'single-quoted' or "double-quoted", a long one folded onto indented
// lines that follow; flow collections ([], {}) and block sequences under
// a key are skipped. Anything else is an error naming its line: a file
// written by something else is not guessed at.
func parseMeta(data []byte) (meta, error) {
	if len(data) > maxMetaSize {
		return nil, fmt.Errorf("larger than %d bytes", maxMetaSize)
	}
	if !utf8.Valid(data) {
		return nil, errors.New("not valid UTF-8")
	}
	m := meta{}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		line := lines[i]
		if isBlankOrComment(line) || i == 0 && strings.TrimSpace(line) == "---" {
			continue
		}
		if line[0] == ' ' || line[0] == '\t' || line[0] == '-' {
			return nil, fmt.Errorf("line %d: not a key of MLflow's meta.yaml", i+1)
		}
		key, raw, ok := strings.Cut(line, ":")
		if !ok || !validMetaKey(key) || raw != "" && raw[0] != ' ' {
			return nil, fmt.Errorf("line %d: not a \"key: value\" line", i+1)
		}
		raw = strings.TrimSpace(raw)
		// Lines indented under the key: a folded scalar, or a block
		// sequence.
		j := i + 1
		// A block sequence under the key, as PyYAML writes it: its
		// items at the key's own indentation.
		seq := raw == "" && j < len(lines) && (lines[j] == "-" || strings.HasPrefix(lines[j], "- "))
		for j < len(lines) && (startsIndented(lines[j]) || seq && (lines[j] == "-" || strings.HasPrefix(lines[j], "- ")) ||
			isBlankOrComment(lines[j]) && j+1 < len(lines) && startsIndented(lines[j+1])) {
			j++
		}
		more := lines[i+1 : j]
		i = j - 1
		if seq || raw == "" && len(more) > 0 && strings.HasPrefix(strings.TrimSpace(more[0]), "-") {
			continue // a block sequence
		}
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("line %d: key %q twice", i+1, key)
		}
		v, null, err := scalar(raw, more)
		if err != nil {
			return nil, fmt.Errorf("key %s: %w", key, err)
		}
		if !null {
			m[key] = v
		}
	}
	return m, nil
}

func isBlankOrComment(line string) bool {
	t := strings.TrimSpace(line)
	return t == "" || t[0] == '#'
}

func startsIndented(line string) bool {
	return line != "" && (line[0] == ' ' || line[0] == '\t')
}

// validMetaKey tells whether k is a key of the kind MLflow writes:
// lower-case letters, digits and underscores.
func validMetaKey(k string) bool {
	if k == "" || len(k) > 64 {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// scalar reads the value raw with its folded continuation lines more.
func scalar(raw string, more []string) (v string, null bool, err error) {
	text := raw
	for _, l := range more {
		t := strings.TrimSpace(l)
		switch {
		case t == "":
			text += "\n"
		case strings.HasSuffix(text, "\n") || text == "":
			text += t
		default:
			text += " " + t
		}
	}
	switch {
	case text == "" || text == "~" || text == "null" || text == "Null" || text == "NULL":
		return "", true, nil
	case text[0] == '\'':
		s, err := singleQuoted(text)
		return s, false, err
	case text[0] == '"':
		s, err := doubleQuoted(text)
		return s, false, err
	case text[0] == '[' || text[0] == '{':
		return "", true, nil // a flow collection: not a field git-runs reads
	case strings.ContainsAny(text[:1], "&*!|>%@`"):
		return "", false, fmt.Errorf("YAML %q is not supported here", text[:1])
	}
	if i := strings.Index(text, " #"); i >= 0 {
		text = strings.TrimSpace(text[:i])
	}
	return text, false, nil
}

func singleQuoted(s string) (string, error) {
	if len(s) < 2 || s[len(s)-1] != '\'' {
		return "", errors.New("unterminated quoted string")
	}
	body := s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		if body[i] == '\'' {
			if i+1 >= len(body) || body[i+1] != '\'' {
				return "", errors.New("stray quote in quoted string")
			}
			i++
		}
		b.WriteByte(body[i])
	}
	return b.String(), nil
}

func doubleQuoted(s string) (string, error) {
	if len(s) < 2 || s[len(s)-1] != '"' || strings.HasSuffix(s, `\"`) && !strings.HasSuffix(s, `\\"`) {
		return "", errors.New("unterminated quoted string")
	}
	body := s[1 : len(s)-1]
	var b strings.Builder
	for i := 0; i < len(body); i++ {
		c := body[i]
		if c == '"' {
			return "", errors.New("stray quote in quoted string")
		}
		if c != '\\' {
			b.WriteByte(c)
			continue
		}
		i++
		if i >= len(body) {
			return "", errors.New("escape at the end of a quoted string")
		}
		switch e := body[i]; e {
		case ' ':
			// "\ " before a fold: the escaped line break PyYAML writes
			// reads as nothing, the space already joined lines.
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '0':
			b.WriteByte(0)
		case '"', '\\', '/':
			b.WriteByte(e)
		case 'x', 'u', 'U':
			n := map[byte]int{'x': 2, 'u': 4, 'U': 8}[e]
			if i+1+n > len(body) {
				return "", errors.New("short escape in quoted string")
			}
			r, err := strconv.ParseUint(body[i+1:i+1+n], 16, 32)
			if err != nil || r > utf8.MaxRune {
				return "", errors.New("bad escape in quoted string")
			}
			b.WriteRune(rune(r))
			i += n
		default:
			return "", fmt.Errorf("escape \\%c is not supported", e)
		}
	}
	return b.String(), nil
}

// int64Field reads the integer of key, which may be quoted (MLflow
// quotes ids); ok is false when the key is absent.
func (m meta) int64Field(key string) (int64, bool, error) {
	v, ok := m[key]
	if !ok {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		return 0, false, fmt.Errorf("%s: %q is not an integer", key, v)
	}
	return n, true, nil
}
