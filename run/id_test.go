package run

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestFormatID(t *testing.T) {
	tests := []struct {
		ms, hi, lo uint64
		want       string
	}{
		{0, 0, 0, "00000000000000000000000000"},
		{1<<48 - 1, 1<<16 - 1, 1<<64 - 1, "7zzzzzzzzzzzzzzzzzzzzzzzzz"},
		// The time of the example in the ULID specification.
		{1469922850259, 0, 1, "01arz3ndek0000000000000001"},
		{0, 1, 0, "0000000000000g000000000000"},
		{0, 0, 1 << 63, "00000000000008000000000000"},
	}
	for _, tt := range tests {
		if got := formatID(tt.ms, tt.hi, tt.lo); got != tt.want {
			t.Errorf("formatID(%d, %d, %d) = %s, want %s", tt.ms, tt.hi, tt.lo, got, tt.want)
		}
	}
	if got := IDTime("01arz3ndek0000000000000001").UnixMilli(); got != 1469922850259 {
		t.Errorf("IDTime = %d ms", got)
	}
}

func TestNewID(t *testing.T) {
	before := time.Now().Truncate(time.Millisecond)
	id := NewID()
	after := time.Now()
	if !regexp.MustCompile(`^[0-7][0-9a-hjkmnp-tv-z]{25}$`).MatchString(id) {
		t.Fatalf("bad id %q", id)
	}
	if !ValidID(id) {
		t.Errorf("ValidID(%q) = false", id)
	}
	ts := IDTime(id)
	if ts.Before(before) || ts.After(after) || ts.Location() != time.UTC {
		t.Errorf("IDTime(%q) = %v, not between %v and %v", id, ts, before, after)
	}
}

func TestNewIDMonotonic(t *testing.T) {
	// Ten thousand ids take less than a few milliseconds, so many share a
	// millisecond and must still increase.
	prev := NewID()
	for i := 0; i < 10000; i++ {
		id := NewID()
		if id <= prev {
			t.Fatalf("id %s after %s", id, prev)
		}
		prev = id
	}
}

func TestNewIDConcurrent(t *testing.T) {
	const workers, each = 8, 2000
	var wg sync.WaitGroup
	ids := make([][]string, workers)
	for w := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				ids[w] = append(ids[w], NewID())
			}
		}()
	}
	wg.Wait()
	var all []string
	for _, list := range ids {
		if !sort.StringsAreSorted(list) {
			t.Error("ids of one goroutine are not increasing")
		}
		all = append(all, list...)
	}
	slices.Sort(all)
	if len(slices.Compact(all)) != workers*each {
		t.Error("duplicate ids")
	}
}

func TestValidID(t *testing.T) {
	valid := []string{testID, "00000000000000000000000000", "7zzzzzzzzzzzzzzzzzzzzzzzzz"}
	invalid := []string{
		"", "01jdq5h8r0abcdefghjkmnpqr", "01jdq5h8r0abcdefghjkmnpqrst",
		"81jdq5h8r0abcdefghjkmnpqrs", // beyond 48 bits of time
		"01JDQ5H8R0ABCDEFGHJKMNPQRS", // upper case
		"01jdq5h8r0abcdefghjkmnpqri", "01jdq5h8r0abcdefghjkmnpqrl",
		"01jdq5h8r0abcdefghjkmnpqro", "01jdq5h8r0abcdefghjkmnpqru",
		"01jdq5h8r0abcdefghjkmnpq-s", "01jdq5h8r0abcdefghjkmnpqr\xff",
	}
	for _, s := range valid {
		if !ValidID(s) {
			t.Errorf("ValidID(%q) = false", s)
		}
	}
	for _, s := range invalid {
		if ValidID(s) {
			t.Errorf("ValidID(%q) = true", s)
		}
		if !IDTime(s).IsZero() {
			t.Errorf("IDTime(%q) is not zero", s)
		}
	}
}

func TestAbbrevLen(t *testing.T) {
	ids := []string{
		"01jdq5h8r0aaaaaaaaaaaaaaaa",
		"01jdq5h8r0aaaaaaaaaaaaaaab",
		"01jdq5h8r1bbbbbbbbbbbbbbbb",
		"01jdq6zzzzzzzzzzzzzzzzzzzz",
		"7zzzzzzzzzzzzzzzzzzzzzzzzz",
	}
	tests := []struct{ i, min, want int }{
		{0, 4, 26}, // differs from its neighbour only in the last character
		{1, 4, 26},
		{2, 4, 10},
		{3, 4, 6},
		{4, 4, 4}, // unique from the first character, but min applies
		{4, 0, 1}, // no minimum
		{2, 12, 12},
		{0, 40, 26}, // never longer than the id
	}
	for _, tt := range tests {
		if got := AbbrevLen(ids, tt.i, tt.min); got != tt.want {
			t.Errorf("AbbrevLen(ids, %d, %d) = %d, want %d", tt.i, tt.min, got, tt.want)
		}
	}
	if got := AbbrevLen([]string{"abc"}, 0, 0); got != 1 {
		t.Errorf("single id: got %d", got)
	}
	if got := AbbrevLen([]string{"abc", "abc"}, 1, 2); got != 3 {
		t.Errorf("duplicate ids: got %d", got)
	}
	// Every abbreviation must be unique among the ids.
	var many []string
	for i := 0; i < 2000; i++ {
		many = append(many, NewID())
	}
	slices.Sort(many)
	for i, id := range many {
		n := AbbrevLen(many, i, 7)
		for j, other := range many {
			if j != i && strings.HasPrefix(other, id[:n]) {
				t.Fatalf("abbreviation %s of %s also names %s", id[:n], id, other)
			}
		}
		if n > 7 && !strings.HasPrefix(many[max(i-1, 0)], id[:n-1]) && (i+1 == len(many) || !strings.HasPrefix(many[i+1], id[:n-1])) {
			t.Fatalf("abbreviation of %s is longer than needed: %d", id, n)
		}
	}
}

func BenchmarkNewID(b *testing.B) {
	for b.Loop() {
		NewID()
	}
}

// NewName lives in name.go; its tests sit here with the other identifiers'.

func TestNewName(t *testing.T) {
	re := regexp.MustCompile(`^([a-z]+)-([a-z]+)-([1-9][0-9]?)$`)
	seen := map[string]bool{}
	for i := 0; i < 5000; i++ {
		name := NewName()
		if !re.MatchString(name) {
			t.Fatalf("bad name %q", name)
		}
		seen[name] = true
	}
	if len(seen) < 4900 {
		t.Errorf("only %d distinct names of 5000", len(seen))
	}
}

func TestNameWords(t *testing.T) {
	for _, list := range [][]string{nameAdjectives[:], nameNouns[:]} {
		if len(list) < 90 {
			t.Errorf("only %d words", len(list))
		}
		for _, w := range list {
			if !regexp.MustCompile(`^[a-z]{2,8}$`).MatchString(w) {
				t.Errorf("word %q is not short lower-case letters", w)
			}
		}
	}
	seen := map[string]bool{}
	for _, w := range append(nameAdjectives[:], nameNouns[:]...) {
		if seen[w] {
			t.Errorf("word %q is listed twice", w)
		}
		seen[w] = true
	}
}
