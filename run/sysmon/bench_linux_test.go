package sysmon

import (
	"os"
	"syscall"
	"testing"
	"time"
)

// BenchmarkSample times one sample of the default interval's work: the
// process tree of this test process (a pass over /proc) and the machine.
// It reports the CPU time a sample takes and, against the default
// interval as the baseline, the share of one core that sampling costs.
func BenchmarkSample(b *testing.B) {
	if hasChildren {
		b.Run("walk", benchmarkSample)
	}
	defer func(was bool) { hasChildren = was }(hasChildren)
	hasChildren = false
	b.Run("scan", benchmarkSample)
}

func benchmarkSample(b *testing.B) {
	tr := newTree(os.Getpid())
	h := newHost()
	var buf []reading
	procs, _ := os.ReadDir("/proc")
	n := 0
	for _, e := range procs {
		if c := e.Name()[0]; c >= '0' && c <= '9' {
			n++
		}
	}
	start := cpuTime()
	for b.Loop() {
		now := time.Now()
		buf = tr.sample(now, buf[:0])
		buf = h.sample(now, buf)
	}
	perSample := float64(cpuTime()-start) / float64(b.N)
	b.ReportMetric(perSample, "cpu-ns/sample")
	b.ReportMetric(float64(n), "procs")
	b.ReportMetric(perSample/float64(DefaultInterval)*100, "%core@10s")
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
