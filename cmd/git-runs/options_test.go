package main

import (
	"testing"
)

func TestParseKV(t *testing.T) {
	tests := []struct{ in, key, value, err string }{
		{"lr=0.01", "lr", "0.01", ""},
		{"a=b=c", "a", "b=c", ""},
		{"empty=", "empty", "", ""},
		{"lr", "", "", `malformed "lr": expected KEY=VALUE`},
		{"=1", "", "", `malformed "=1": expected KEY=VALUE`},
		{"", "", "", `malformed "": expected KEY=VALUE`},
	}
	for _, tt := range tests {
		k, v, err := parseKV(tt.in)
		if k != tt.key || v != tt.value || errText(err) != tt.err {
			t.Errorf("parseKV(%q) = %q, %q, %v", tt.in, k, v, err)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
