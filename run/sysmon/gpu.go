package sysmon

import (
	"bufio"
	"io"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// gpuQuery is what nvidia-smi is asked for, one line per GPU.
const gpuQuery = "index,utilization.gpu,memory.used,power.draw,temperature.gpu"

// gpuFields name the metrics of gpuQuery's fields after the index.
var gpuFields = [...]string{"util_percent", "mem_used_mb", "power_w", "temp_c"}

// gpus is the one nvidia-smi that samples every GPU for a run, looping
// on its own (-lms) until killed.
type gpus struct {
	cmd   *exec.Cmd
	first chan struct{} // closed at the first line read
	done  chan struct{} // closed when its output is read to the end
}

// startGPUs starts nvidia-smi, whose readings go to log as they come;
// nil when there is none or it cannot start.
func startGPUs(smi string, interval time.Duration, log func([]reading)) *gpus {
	if smi == "-" {
		return nil
	}
	if smi == "" {
		p, err := exec.LookPath("nvidia-smi")
		if err != nil {
			return nil
		}
		smi = p
	}
	ms := max(interval.Milliseconds(), 1)
	cmd := exec.Command(smi, "--query-gpu="+gpuQuery, "--format=csv,noheader,nounits", "-lms", strconv.FormatInt(ms, 10))
	// A group of its own, so that a Ctrl-C meant for the command does not
	// end the sampling early, and Stop can end whatever it started.
	cmd.SysProcAttr = gpuProcAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil
	}
	if err := cmd.Start(); err != nil {
		return nil
	}
	g := &gpus{cmd: cmd, first: make(chan struct{}), done: make(chan struct{})}
	go g.read(out, log)
	return g
}

func (g *gpus) read(out io.Reader, log func([]reading)) {
	defer close(g.done)
	sc := bufio.NewScanner(out)
	var buf []reading
	for n := 0; sc.Scan(); n++ {
		buf = parseGPULine(sc.Text(), time.Now(), buf[:0])
		log(buf)
		if n == 0 {
			close(g.first)
		}
	}
	io.Copy(io.Discard, out) // a line too long: read on to the end
}

// stop ends nvidia-smi, once it has given a first reading or after
// wait, and waits until it has gone. A nil gpus does nothing.
func (g *gpus) stop(wait time.Duration) {
	if g == nil {
		return
	}
	t := time.NewTimer(wait)
	select {
	case <-g.first:
	case <-g.done:
	case <-t.C:
	}
	t.Stop()
	syscall.Kill(-g.cmd.Process.Pid, syscall.SIGKILL)
	<-g.done
	g.cmd.Wait()
}

// parseGPULine reads one line of nvidia-smi --query-gpu=gpuQuery
// --format=csv,noheader,nounits, such as "0, 87, 30512, 250.31, 71".
// A field nvidia-smi cannot tell ("[N/A]", "[Not Supported]") is left
// out; a line that is not such a reading (an error message) gives
// nothing.
func parseGPULine(line string, at time.Time, dst []reading) []reading {
	f := strings.Split(line, ",")
	if len(f) != 1+len(gpuFields) {
		return dst
	}
	index, err := strconv.Atoi(strings.TrimSpace(f[0]))
	if err != nil || index < 0 {
		return dst
	}
	start := len(dst)
	for i, what := range gpuFields {
		s := strings.TrimSpace(f[i+1])
		if isPlaceholder(s) {
			continue
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return dst[:start]
		}
		dst = append(dst, reading{key: GPUKey(index, what), value: v, at: at})
	}
	return dst
}

func isPlaceholder(s string) bool {
	return len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']'
}
