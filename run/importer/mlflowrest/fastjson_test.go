package mlflowrest

import (
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"testing"
)

// plainHistory decodes b as encoding/json does, the reference.
func plainHistory(b []byte) (historyPage, error) {
	var h historyPage
	err := json.Unmarshal(b, &h)
	return h, err
}

func same(a, b historyPage) bool {
	if a.Next != b.Next || len(a.Metrics) != len(b.Metrics) {
		return false
	}
	for i := range a.Metrics {
		x, y := a.Metrics[i], b.Metrics[i]
		if x.Key != y.Key || x.Timestamp != y.Timestamp || x.Step != y.Step || math.Float64bits(float64(x.Value)) != math.Float64bits(float64(y.Value)) {
			return false
		}
	}
	return true
}

var historySeeds = []string{
	`{"metrics":[{"key":"loss","value":0.5,"timestamp":1780000000000,"step":1}]}`,
	`{"metrics":[{"key":"loss","value":"NaN","timestamp":1,"step":2},{"key":"loss","value":"-Infinity","timestamp":"3","step":"4"}],"next_page_token":"b2Zmc2V0OjI"}`,
	` { "next_page_token" : "x" , "metrics" : [ ] } `,
	`{"metrics":null}`,
	`{}`,
	`{"metrics":[{"key":"a\"b","value":1,"timestamp":1,"step":1}]}`,
	`{"metrics":[{"key":"a","value":1e400,"timestamp":1,"step":1}]}`,
	`{"metrics":[{"key":"a","value":1,"timestamp":1.0,"step":1}]}`,
	`{"metrics":[{"key":"a","value":1,"timestamp":1,"step":1,"run_id":"r"}]}`,
	`{"metrics":[{"key":"a","value":"1.5","timestamp":1,"step":-3}]}`,
	`{"metrics":[{"key":"a","value":1,}]}`,
	`{"metrics":[]`,
}

// TestFastHistory holds the fast decoder to encoding/json on what it
// takes, and has it give way on the rest.
func TestFastHistory(t *testing.T) {
	for _, s := range historySeeds {
		checkFast(t, []byte(s))
	}
	var sb strings.Builder
	sb.WriteString(`{"metrics":[`)
	for i := range 1000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"key":"loss","value":%v,"timestamp":%d,"step":%d}`, float64(i)/7-50, 1780000000000+i, i)
	}
	sb.WriteString(`],"next_page_token":"t"}`)
	if _, _, ok := fastHistory([]byte(sb.String())); !ok {
		t.Error("fast path not taken on the usual shape")
	}
	checkFast(t, []byte(sb.String()))
}

func checkFast(t *testing.T, b []byte) {
	t.Helper()
	if !json.Valid(b) {
		return // refused by encoding/json before UnmarshalJSON is called
	}
	ms, next, ok := fastHistory(b)
	if !ok {
		return
	}
	want, err := plainHistory(b)
	if err != nil {
		t.Errorf("%s: fast decoder took what encoding/json refuses (%v)", b, err)
		return
	}
	if got := (historyPage{ms, next}); !same(got, want) {
		t.Errorf("%s: fast %+v; encoding/json %+v", b, got, want)
	}
}

func FuzzFastHistory(f *testing.F) {
	for _, s := range historySeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) { checkFast(t, b) })
}

func BenchmarkDecodeHistory(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"metrics":[`)
	for i := range 25000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"key":"loss","value":%v,"timestamp":%d,"step":%d}`, float64(i)/7, 1780000000000+i, i)
	}
	sb.WriteString(`]}`)
	data := []byte(sb.String())
	for _, c := range []struct {
		name string
		dec  func([]byte) error
	}{
		{"encoding-json", func(d []byte) error { _, err := plainHistory(d); return err }},
		{"fast", func(d []byte) error {
			var h historyPage
			if !h.decodeFast(d) {
				b.Fatal("fast path not taken")
			}
			return nil
		}},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for range b.N {
				if err := c.dec(data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
