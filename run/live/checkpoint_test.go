package live

import (
	"testing"
	"time"
)

func TestCheckpointDue(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		interval time.Duration
		size     int64
		want     time.Duration
	}{
		{DefaultCheckpoint, 0, DefaultCheckpoint},
		{DefaultCheckpoint, mib / 4, DefaultCheckpoint},            // small runs: every 30 s
		{DefaultCheckpoint, 5 * mib, 5 * time.Minute},              // a minute per MiB
		{DefaultCheckpoint, 45 * mib, 30 * time.Minute},            // at most every 30 min
		{100 * time.Millisecond, 45 * mib, 100 * time.Millisecond}, // asked for: kept
		{2 * time.Hour, 0, 2 * time.Hour},
	} {
		if got := checkpointDue(tc.interval, tc.size); got != tc.want {
			t.Errorf("checkpointDue(%v, %d) = %v, want %v", tc.interval, tc.size, got, tc.want)
		}
	}
}
