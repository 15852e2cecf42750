package main

import (
	"os/exec"
	"slices"
	"testing"
	"time"
)

// BenchmarkExecSystemMetrics measures what sampling system metrics costs
// git runs exec: the CPU time of exec (and what it waits for) recording
// `sleep 3` with samples every 100 ms, against the same with
// --no-system-metrics as the baseline, in the same repository. The
// difference over the samples taken is one sample's cost, reported with
// the share of one core it comes to at the default 10 s interval.
func BenchmarkExecSystemMetrics(b *testing.B) {
	bin := buildBinary(b)
	dir := b.TempDir()
	benchGit(b, dir, "init", "-q")
	benchGit(b, dir, "commit", "-q", "--allow-empty", "-m", "init")
	const wall, interval = 3 * time.Second, 100 * time.Millisecond
	cpu := func(flags ...string) time.Duration {
		args := append(append([]string{"exec"}, flags...), "--", "sleep", "3")
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Env = benchEnv()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("git-runs %v: %v\n%s", args, err, out)
		}
		return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	for b.Loop() {
		var with, without []time.Duration
		for range 5 {
			with = append(with, cpu("--system-interval", interval.String()))
			without = append(without, cpu("--no-system-metrics"))
		}
		w, wo := median(with), median(without)
		samples := float64(wall / interval)
		perSample := float64(w-wo) / samples
		b.ReportMetric(float64(w.Microseconds())/1000, "ms-cpu-sampled")
		b.ReportMetric(float64(wo.Microseconds())/1000, "ms-cpu-baseline")
		b.ReportMetric(float64(w)/float64(wo), "ratio")
		b.ReportMetric(perSample/1000, "µs-cpu/sample")
		b.ReportMetric(perSample/float64(10*time.Second)*100, "%core@10s")
		b.Logf("exec of sleep 3: %v CPU sampled every %v (median of %v), %v without (%v): %.0f µs a sample",
			w, interval, slices.Sorted(slices.Values(with)), wo, slices.Sorted(slices.Values(without)), perSample/1000)
	}
}
