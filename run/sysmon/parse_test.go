package sysmon

import (
	"testing"
	"time"
)

func TestParseGPULine(t *testing.T) {
	at := time.Unix(100, 0)
	for _, c := range []struct {
		line string
		want map[string]float64
	}{
		{"0, 87, 30512, 250.31, 71", map[string]float64{"system/gpu0/util_percent": 87, "system/gpu0/mem_used_mb": 30512, "system/gpu0/power_w": 250.31, "system/gpu0/temp_c": 71}},
		{"3, [N/A], 12, [Not Supported], 40", map[string]float64{"system/gpu3/mem_used_mb": 12, "system/gpu3/temp_c": 40}},
		{"NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.", nil},
		{"0, 87, 30512, 250.31", nil},      // a field short
		{"0, 87, lots, 250.31, 71", nil},   // not a number: the whole line goes
		{"-1, 87, 30512, 250.31, 71", nil}, // not an index
		{"", nil},
	} {
		got := map[string]float64{}
		for _, r := range parseGPULine(c.line, at, nil) {
			got[r.key] = r.value
			if !r.at.Equal(at) {
				t.Errorf("%q: time %v", c.line, r.at)
			}
		}
		if len(got) != len(c.want) {
			t.Errorf("%q: got %v, want %v", c.line, got, c.want)
			continue
		}
		for k, v := range c.want {
			if got[k] != v {
				t.Errorf("%q: %s = %v, want %v", c.line, k, got[k], v)
			}
		}
	}
}

func TestCheckInterval(t *testing.T) {
	for _, d := range []time.Duration{0, -time.Second, time.Millisecond, 99 * time.Millisecond} {
		if err := CheckInterval(d); err == nil {
			t.Errorf("CheckInterval(%s) accepted", d)
		}
	}
	for _, d := range []time.Duration{MinInterval, DefaultInterval, time.Hour} {
		if err := CheckInterval(d); err != nil {
			t.Errorf("CheckInterval(%s): %v", d, err)
		}
	}
}
