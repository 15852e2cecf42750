package sysmon

import (
	"bufio"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestProcessTree samples a shell running two processes that each touch
// 48 MiB and burn CPU: the tree's memory holds both, and its CPU,
// summed over the samples, is what they say they used. After the tree
// ends, samples are of the machine alone.
func TestProcessTree(t *testing.T) {
	if !hasChildren {
		t.Log("this kernel lists no children of threads: the tree is found by a scan of /proc")
	}
	t.Run("scan", func(t *testing.T) {
		defer func(was bool) { hasChildren = was }(hasChildren)
		hasChildren = false
		testProcessTree(t)
	})
	if hasChildren {
		t.Run("walk", testProcessTree)
	}
}

func testProcessTree(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	release, hold, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sh", "-c", `"$0" <&3 & "$0" <&3; wait`, self)
	cmd.Env = append(os.Environ(), "SYSMON_BURN=48", "SYSMON_CPU_MS=400")
	cmd.ExtraFiles = []*os.File{release}
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	release.Close()
	defer func() { hold.Close(); cmd.Wait() }()

	pts := newPoints()
	interval := 100 * time.Millisecond
	m := Start(Options{PID: cmd.Process.Pid, Interval: interval, Log: pts.log, SMI: "-"})
	defer m.Stop()
	// The helpers start once the sampler has read the tree's baseline,
	// before its first sample.
	pts.waitFor(t, "the first sample", func(p []Point) bool { return len(p) > 0 })
	if _, err := hold.Write([]byte("go")); err != nil {
		t.Fatal(err)
	}

	var used float64
	sc := bufio.NewScanner(out)
	for range 2 {
		if !sc.Scan() {
			t.Fatalf("a helper ended early: %v", sc.Err())
		}
		s, ok := strings.CutPrefix(sc.Text(), "cpu ")
		v, err := strconv.ParseFloat(s, 64)
		if !ok || err != nil {
			t.Fatalf("helper said %q", sc.Text())
		}
		used += v
	}
	// Both are idle now; two samples later the tree's CPU is all in.
	n := len(ofKey(pts.snapshot(), CPUPercent))
	all := pts.waitFor(t, "two samples after the burn", func(p []Point) bool { return len(ofKey(p, CPUPercent)) >= n+2 })

	cpu := ofKey(all, CPUPercent)
	var sum float64
	last := cpu[0].Time.Add(-interval)
	for _, p := range cpu {
		sum += p.Value / 100 * p.Time.Sub(last).Seconds()
		last = p.Time
	}
	t.Logf("helpers used %.3fs of CPU; the samples add up to %.3fs", used, sum)
	if math.Abs(sum-used) > 0.2*used+0.05 {
		t.Errorf("samples add up to %.3fs of CPU, the helpers used %.3fs", sum, used)
	}
	peak := 0.0
	for _, p := range ofKey(all, RSSMB) {
		peak = max(peak, p.Value)
	}
	if peak < 96 {
		t.Errorf("peak rss %.1f MiB, want at least the 96 MiB the helpers touched", peak)
	}
	for _, p := range all {
		if want := int64(p.Time.Sub(m.o.Start) / time.Second); p.Step != want {
			t.Errorf("%s at %s has step %d, want %d", p.Key, p.Time, p.Step, want)
		}
	}

	// Once the tree has ended, a sample holds the machine alone.
	hold.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	ended := len(pts.snapshot())
	all = pts.waitFor(t, "a sample after the tree ended", func(p []Point) bool { return len(ofKey(p[ended:], MemUsedPercent)) >= 2 })
	for _, p := range all[ended:] {
		if p.Key == CPUPercent || p.Key == RSSMB {
			t.Errorf("%s sampled after the tree ended", p.Key)
		}
	}
}

// TestMachine checks the machine's figures on a first sample: memory in
// use within the machine's, and traffic since the start from zero.
func TestMachine(t *testing.T) {
	pts := newPoints()
	m := Start(Options{Interval: time.Hour, Log: pts.log, SMI: "-"})
	pts.waitFor(t, "the first sample", func(p []Point) bool { return len(p) > 0 })
	m.Stop() // the first sample is then whole: its points all have its time
	all := pts.snapshot()
	got := map[string]float64{}
	for _, p := range all {
		if !p.Time.Equal(all[0].Time) {
			continue // the last sample, taken at the stop
		}
		got[p.Key] = p.Value
		if p.Step != 0 {
			t.Errorf("%s at step %d, want 0", p.Key, p.Step)
		}
	}
	if v, ok := got[MemUsedPercent]; !ok || v <= 0 || v > 100 {
		t.Errorf("mem_used_percent %v %v", v, ok)
	}
	if v, ok := got[MemUsedMB]; !ok || v <= 0 {
		t.Errorf("mem_used_mb %v %v", v, ok)
	}
	for _, k := range []string{NetRecvMB, NetSentMB} {
		if v, ok := got[k]; !ok || v != 0 {
			t.Errorf("%s = %v %v at the start, want 0", k, v, ok)
		}
	}
	if len(wholeDisks()) > 0 {
		if v, ok := got[DiskReadMB]; !ok || v != 0 {
			t.Errorf("disk_read_mb = %v %v at the start, want 0", v, ok)
		}
	}
	if _, ok := got[CPUPercent]; ok {
		t.Errorf("cpu_percent without a process to sample")
	}
}

// TestGPUs samples two GPUs through a stand-in for nvidia-smi found on
// PATH, which prints a reading per GPU every interval as -lms does: one
// process for the whole run, gone once the monitor stops.
func TestGPUs(t *testing.T) {
	dir := t.TempDir()
	script := `#!/bin/sh
echo "$$ $*" >> "` + dir + `/started"
while :; do
	echo "0, 87, 30512, 250.31, 71"
	echo "1, [N/A], 1024, [Not Supported], 40"
	sleep 0.05
done
`
	if err := os.WriteFile(filepath.Join(dir, "nvidia-smi"), []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))

	pts := newPoints()
	m := Start(Options{Interval: 100 * time.Millisecond, Log: pts.log})
	all := pts.waitFor(t, "five readings of each GPU", func(p []Point) bool {
		return len(ofKey(p, GPUKey(0, "util_percent"))) >= 5 && len(ofKey(p, GPUKey(1, "temp_c"))) >= 5
	})
	m.Stop()

	b, err := os.ReadFile(filepath.Join(dir, "started"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != 1 {
		t.Fatalf("nvidia-smi started %d times, want once:\n%s", len(lines), b)
	}
	pid, args, _ := strings.Cut(lines[0], " ")
	if want := "--query-gpu=" + gpuQuery + " --format=csv,noheader,nounits -lms 100"; args != want {
		t.Errorf("nvidia-smi %s, want %s", args, want)
	}
	if err := exec.Command("ps", "-p", pid).Run(); err == nil {
		t.Errorf("nvidia-smi (pid %s) still runs after Stop", pid)
	}

	want := map[string]float64{
		GPUKey(0, "util_percent"): 87, GPUKey(0, "mem_used_mb"): 30512, GPUKey(0, "power_w"): 250.31, GPUKey(0, "temp_c"): 71,
		GPUKey(1, "mem_used_mb"): 1024, GPUKey(1, "temp_c"): 40,
	}
	for _, p := range all {
		if !strings.HasPrefix(p.Key, Prefix+"gpu") {
			continue
		}
		if v, ok := want[p.Key]; !ok || v != p.Value {
			t.Errorf("%s = %v, want %v (known %v)", p.Key, p.Value, v, ok)
		}
	}
	n := len(pts.snapshot())
	if len(all) > n {
		t.Errorf("fewer points after Stop than before")
	}
}

// TestShortCommand stops a monitor at once, as a command that ends
// before the first interval does: it still has the machine at its start
// and end, and the GPUs' first reading.
func TestShortCommand(t *testing.T) {
	dir := t.TempDir()
	script := "#!/bin/sh\nsleep 0.2\necho '0, 5, 100, 30, 35'\nexec sleep 60\n"
	smi := filepath.Join(dir, "nvidia-smi")
	if err := os.WriteFile(smi, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("sleep", "60")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	pts := newPoints()
	m := Start(Options{PID: cmd.Process.Pid, Log: pts.log, SMI: smi})
	m.Stop()
	all := pts.snapshot()
	if n := len(ofKey(all, MemUsedPercent)); n != 2 {
		t.Errorf("%d samples of the machine, want 2 (start and end)", n)
	}
	if n := len(ofKey(all, RSSMB)); n != 1 {
		t.Errorf("%d samples of the process, want 1 (the end, as it still runs)", n)
	}
	if n := len(ofKey(all, GPUKey(0, "util_percent"))); n != 1 {
		t.Errorf("%d readings of the GPU, want 1", n)
	}
}
