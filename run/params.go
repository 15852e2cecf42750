package run

import "slices"

// MaxParamDepth bounds how deeply arrays may nest inside a param value. The
// decoders recurse, and a bound keeps hostile input from exhausting the stack.
const MaxParamDepth = 32

// CompareParamKeys orders dotted keys segment by segment, so that the keys of
// each nested table are contiguous and in order of their names. That is byte
// order with '.' ranked below every other byte.
func CompareParamKeys[T string | []byte](a, b T) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		ca, cb := a[i], b[i]
		if ca == cb {
			continue
		}
		ra, rb := int(ca)+1, int(cb)+1
		if ca == '.' {
			ra = 0
		}
		if cb == '.' {
			rb = 0
		}
		return ra - rb
	}
	return len(a) - len(b)
}

// InParamTable reports whether key lies inside table prefix, that is
// starts with prefix followed by a dot.
func InParamTable(key, prefix string) bool {
	return len(key) > len(prefix) && key[len(prefix)] == '.' && key[:len(prefix)] == prefix
}

// sortedParamKeys returns the keys of params in the order of
// CompareParamKeys.
func sortedParamKeys(params map[string]any) []string {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, CompareParamKeys[string])
	return keys
}

// paramConflict finds two keys of which the first names a table holding
// the second ("a" and "a.b"), which run.toml and JSON objects cannot
// represent. In the order of CompareParamKeys such a key is directly
// followed by a key it holds, so neighbours are all that need comparing.
func paramConflict(params map[string]any) (a, b string, ok bool) {
	keys := sortedParamKeys(params)
	for i := 1; i < len(keys); i++ {
		if InParamTable(keys[i], keys[i-1]) {
			return keys[i-1], keys[i], true
		}
	}
	return "", "", false
}
