package codec

import (
	"fmt"
	"strings"

	"github.com/BurntSushi/toml"
)

// AppendValue appends param value v as a TOML literal, as run.toml writes
// it: 10 stays an integer, 10.0 a float, and arrays keep their elements'
// types.
func AppendValue(b []byte, v any) ([]byte, error) {
	e := tomlEncoder{b: b}
	e.value("", v, 0)
	if e.err != nil {
		return nil, e.err
	}
	return e.b, nil
}

// ParseLiteral reads a param value written by AppendValue, or any other
// TOML literal of a param type.
func ParseLiteral(lit string) (any, error) {
	var m struct{ V any }
	if _, err := toml.Decode("V = "+lit, &m); err != nil {
		return nil, fmt.Errorf("read value %q: %w", lit, err)
	}
	return paramValue(m.V, 0)
}

// ParseValue reads the VALUE of a KEY=VALUE command-line argument. A TOML
// literal becomes the value it denotes:
// integers (1000, 1_000), floats (0.01, 1e-3, inf, nan), booleans, arrays
// ([64, 32]) and quoted strings ("10" for the string 10). Anything else comes
// back unchanged as a string, so that `adam` or `2024-01-01` need no quotes.
// Hexadecimal, octal and binary integers and datetimes also stay strings:
// people typing 0x10 or a date mean the text.
func ParseValue(s string) any {
	if s == "" || s != strings.TrimSpace(s) || strings.ContainsAny(s, "\n\r") {
		return s
	}
	// A value must parse both alone and as the sole element of an array: the
	// first rejects text after the value ("1, 2"), the second a trailing
	// comment, which would swallow the closing bracket ("0.1 # fast").
	var one, arr struct{ V any }
	if _, err := toml.Decode("V = "+s, &one); err != nil {
		return s
	}
	if _, err := toml.Decode("V = ["+s+"]", &arr); err != nil {
		return s
	}
	if a, ok := arr.V.([]any); !ok || len(a) != 1 {
		return s
	}
	v, err := paramValue(one.V, 0)
	if err != nil {
		return s
	}
	if _, isString := v.(string); !isString && hasRadixPrefix(s) {
		return s
	}
	return v
}

// hasRadixPrefix reports whether s holds a number written with a 0x, 0o or
// 0b prefix.
func hasRadixPrefix(s string) bool {
	for i := 0; i+1 < len(s); i++ {
		if s[i] != '0' || (i > 0 && isWordByte(s[i-1])) {
			continue
		}
		switch s[i+1] {
		case 'x', 'o', 'b':
			return true
		}
	}
	return false
}

func isWordByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '.'
}
