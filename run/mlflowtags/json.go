package mlflowtags

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// MaxExactInt is the largest magnitude of an integer that Int64 takes
// written as a float: 2^53, up to which a float64 holds every integer.
// Past it, "9007199254740993.0" reads as 9007199254740992, not the
// number sent, so it is refused rather than taken for another.
const MaxExactInt = 1 << 53

// Int64 is an int64 field of MLflow's JSON, read from any of the three
// ways the other side may write it: a number, a string holding one (as
// protocol buffers' JSON writes 64-bit integers), or a whole number
// written as a float (1.7e12, 5.0, as JavaScript clients send), taken
// up to MaxExactInt. Both git runs serve, reading its clients'
// requests, and the importer, reading a server's answers, read MLflow's
// integers with it; a float past 2^53 would be a timestamp or size off
// by some units for either. Set tells the field was there and not null.
type Int64 struct {
	V   int64
	Set bool
}

// UnmarshalJSON reads b as Int64 says; its error names at most the first
// 40 bytes of b, which comes from the other side.
func (n *Int64) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	s := strings.Trim(string(b), `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.Abs(f) > MaxExactInt {
			return fmt.Errorf("%s is not an integer", clip(string(b), 40))
		}
		v = int64(f)
	}
	n.V, n.Set = v, true
	return nil
}

// clip cuts s to n bytes, marking the cut.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
