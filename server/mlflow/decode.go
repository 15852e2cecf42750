package mlflow

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"reflect"
	"strconv"
	"strings"

	"github.com/gitruns/gitruns/run/mlflowtags"
)

// i64 is an int64 field of a request, as MLflow's clients write it: a
// number, a string holding one, or a whole float up to 2^53
// (mlflowtags.Int64, which the importer reads servers' answers with).
type i64 = mlflowtags.Int64

// f64 is a double field of a request: a number, or one of the strings
// protocol buffers' JSON uses for what JSON numbers cannot say ("NaN",
// "Infinity", "-Infinity"), which is also what bare NaN and Infinity
// (Python's json) are turned into before decoding.
type f64 struct {
	V   float64
	Set bool
}

func (n *f64) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	s := strings.Trim(string(b), `"`)
	var v float64
	switch s {
	case "NaN", "nan":
		v = math.NaN()
	case "Infinity", "inf", "+Infinity":
		v = math.Inf(1)
	case "-Infinity", "-inf":
		v = math.Inf(-1)
	default:
		var err error
		if v, err = strconv.ParseFloat(s, 64); err != nil {
			return fmt.Errorf("%s is not a number", b)
		}
	}
	n.V, n.Set = v, true
	return nil
}

// jsonFloat writes a double as MLflow's server does, with protocol
// buffers' strings for the values JSON has no number for.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	return appendJSONFloat(nil, float64(f)), nil
}

func appendJSONFloat(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(v, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, v, 'g', -1, 64)
}

// decode reads the request's fields into v (a pointer to a struct with
// json tags): a POST, PATCH or DELETE body as JSON, GET query parameters
// by name. Unknown fields are ignored, as MLflow's server ignores them.
func decode(r *http.Request, v any) error {
	if r.Method == http.MethodGet {
		return fromQuery(r.URL.Query(), v)
	}
	body, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, MaxRequest))
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return invalid("request body is larger than %d bytes", MaxRequest)
	}
	if err != nil {
		return invalid("read request body: %v", err)
	}
	if len(bytes.TrimSpace(body)) == 0 {
		// DELETE and some GET-like calls carry their fields in the query.
		return fromQuery(r.URL.Query(), v)
	}
	if err := json.Unmarshal(quoteNonFinite(body), v); err != nil {
		return invalid("malformed request: %s", describeJSONError(err))
	}
	return nil
}

func describeJSONError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) && te.Field != "" {
		return fmt.Sprintf("field %q: expected %s, got a JSON %s", te.Field, goKind(te.Type), te.Value)
	}
	return err.Error()
}

func goKind(t reflect.Type) string {
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	case reflect.Struct:
		return "an object"
	case reflect.Bool:
		return "a boolean"
	}
	return "a number"
}

// quoteNonFinite turns the bare NaN, Infinity and -Infinity that Python's
// json writes (not JSON) into strings, outside of strings.
func quoteNonFinite(b []byte) []byte {
	if !bytes.Contains(b, []byte("NaN")) && !bytes.Contains(b, []byte("Infinity")) {
		return b
	}
	out := make([]byte, 0, len(b)+16)
	inString := false
	for i := 0; i < len(b); i++ {
		c := b[i]
		if inString {
			out = append(out, c)
			switch c {
			case '\\':
				if i+1 < len(b) {
					i++
					out = append(out, b[i])
				}
			case '"':
				inString = false
			}
			continue
		}
		if c == '"' {
			inString = true
			out = append(out, c)
			continue
		}
		matched := false
		for _, tok := range []string{"NaN", "Infinity", "-Infinity"} {
			if bytes.HasPrefix(b[i:], []byte(tok)) {
				out = append(out, '"')
				out = append(out, tok...)
				out = append(out, '"')
				i += len(tok) - 1
				matched = true
				break
			}
		}
		if !matched {
			out = append(out, c)
		}
	}
	return out
}

// fromQuery fills the struct v points to from query parameters: strings,
// lists of strings (a parameter given several times), booleans, and the
// numbers of i64 and f64 fields.
func fromQuery(q url.Values, v any) error {
	rv := reflect.ValueOf(v).Elem()
	rt := rv.Type()
	for i := 0; i < rt.NumField(); i++ {
		f := rt.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		vals, ok := q[name]
		if !ok || name == "" || len(vals) == 0 {
			continue
		}
		if err := setField(rv.Field(i), name, vals); err != nil {
			return err
		}
	}
	return nil
}

func setField(fv reflect.Value, name string, vals []string) error {
	switch p := fv.Addr().Interface().(type) {
	case *string:
		*p = vals[0]
	case *[]string:
		*p = vals
	case *bool:
		b, err := strconv.ParseBool(vals[0])
		if err != nil {
			return invalid("parameter %q: %q is not a boolean", name, vals[0])
		}
		*p = b
	case *i64:
		if err := p.UnmarshalJSON([]byte(vals[0])); err != nil {
			return invalid("parameter %q: %v", name, err)
		}
	case *f64:
		if err := p.UnmarshalJSON([]byte(vals[0])); err != nil {
			return invalid("parameter %q: %v", name, err)
		}
	case *viewType:
		return p.UnmarshalJSON([]byte(strconv.Quote(vals[0])))
	default:
		return invalid("parameter %q cannot be given in a query string", name)
	}
	return nil
}

// viewType is MLflow's ViewType enum, by name or number.
type viewType int

const (
	activeOnly  viewType = 1
	deletedOnly viewType = 2
	allViews    viewType = 3
)

func (t *viewType) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	switch strings.ToUpper(s) {
	case "", "NULL", "ACTIVE_ONLY", "1":
		*t = activeOnly
	case "DELETED_ONLY", "2":
		*t = deletedOnly
	case "ALL", "3":
		*t = allViews
	default:
		return invalid("invalid view type %s: want ACTIVE_ONLY, DELETED_ONLY or ALL", b)
	}
	return nil
}
