package run

import (
	"math"
	"reflect"
)

const testID = "01jdq5h8r0abcdefghjkmnpqrs"

// floatSame reports whether two floats are the same value: equal with the
// same sign, or both NaN (with the same bits when exact).
func floatSame(a, b float64, exact bool) bool {
	if a != a || b != b {
		if exact {
			return math.Float64bits(a) == math.Float64bits(b)
		}
		return a != a && b != b
	}
	return a == b && math.Signbit(a) == math.Signbit(b)
}

// valueSame compares param values as reflect.DeepEqual does, with
// floatSame for floats.
func valueSame(a, b any, exact bool) bool {
	if af, ok := a.(float64); ok {
		bf, ok := b.(float64)
		return ok && floatSame(af, bf, exact)
	}
	if aa, ok := a.([]any); ok {
		ba, ok := b.([]any)
		if !ok || (aa == nil) != (ba == nil) || len(aa) != len(ba) {
			return false
		}
		for i := range aa {
			if !valueSame(aa[i], ba[i], exact) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a, b)
}
