// Package hostinfo describes the machine a run executes on and the Python
// interpreter it uses, so that a recorded run says where its numbers came
// from.
//
// Everything here is best effort: a host that hides a detail yields a zero
// value rather than an error, because a run must never fail for want of a
// description.
package hostinfo

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
)

// GPU is one accelerator as the driver reports it.
type GPU struct {
	Name      string // e.g. "NVIDIA A100-SXM4-80GB"
	MemoryMiB int64  // total memory; zero when the driver does not say
	Driver    string // driver version, e.g. "535.104.05"
}

// Info describes the host. Fields the host does not reveal stay zero. In a
// container, CPU and MemoryMiB are the machine's: a cgroup limit on memory
// or CPU time is not reflected, while CPUs does follow a cpuset.
type Info struct {
	CPU       string // model name, e.g. "Intel(R) Xeon(R) Processor"
	CPUs      int    // logical CPUs available to this process (runtime.NumCPU)
	MemoryMiB int64  // total memory
	GPUs      []GPU
}

// Collect describes the host. It never fails; a detail that cannot be read
// stays zero. Without nvidia-smi on PATH it only reads a few files (or, on
// macOS, runs sysctl); with it, it waits for nvidia-smi at most until ctx is
// done.
func Collect(ctx context.Context) Info {
	info := Info{CPUs: runtime.NumCPU()}
	info.CPU, info.MemoryMiB = cpuAndMemory(ctx)
	info.GPUs = nvidiaGPUs(ctx)
	return info
}

// smiTimeout bounds nvidia-smi when the caller gave no deadline: a wedged
// driver can make it hang for minutes, and Collect promises to return.
const smiTimeout = 5 * time.Second

// waitDelay bounds how long a killed helper may keep its output pipes open
// (through children of its own) before Wait gives up on them.
const waitDelay = 500 * time.Millisecond

// nvidiaGPUs asks nvidia-smi for the GPUs, or returns nil when it is absent
// or fails in any way: a half-parsed answer would be worse than none.
func nvidiaGPUs(ctx context.Context) []GPU {
	path, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return nil
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, smiTimeout)
		defer cancel()
	}
	cmd := exec.CommandContext(ctx, path,
		"--query-gpu=name,memory.total,driver_version",
		"--format=csv,noheader,nounits")
	cmd.WaitDelay = waitDelay
	out, err := cmd.Output()
	if err != nil {
		return nil
	}
	gpus, err := parseNvidiaSMI(out)
	if err != nil {
		return nil
	}
	return gpus
}

// parseNvidiaSMI parses the output of nvidia-smi --query-gpu=name,
// memory.total,driver_version --format=csv,noheader,nounits: one GPU a
// line. Any line that does not fit, such as the "NVIDIA-SMI has failed"
// message, is an error, so that a bad answer is refused even when the exit
// status did not say so.
func parseNvidiaSMI(out []byte) ([]GPU, error) {
	var gpus []GPU
	sc := bufio.NewScanner(bytes.NewReader(out))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		// Memory and driver are taken from the end so that a comma in a
		// name, should a vendor ever use one, stays in the name.
		f := strings.Split(line, ",")
		if len(f) < 3 {
			return nil, fmt.Errorf("parse nvidia-smi: line %d: expected 3 fields, got %q", n, line)
		}
		k := len(f)
		name := strings.TrimSpace(strings.Join(f[:k-2], ","))
		mem, memOK := smiInt(f[k-2])
		driver := smiString(f[k-1])
		if name == "" || !memOK {
			return nil, fmt.Errorf("parse nvidia-smi: line %d: unexpected %q", n, line)
		}
		gpus = append(gpus, GPU{Name: name, MemoryMiB: mem, Driver: driver})
	}
	return gpus, sc.Err()
}

// smiInt parses a numeric nvidia-smi field. Placeholders such as "[N/A]"
// or "[Not Supported]" are valid and mean unknown (zero); anything else
// that is not a number means the line is not what was asked for.
func smiInt(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if isSMIPlaceholder(s) {
		return 0, true
	}
	n, err := strconv.ParseInt(s, 10, 64)
	return n, err == nil && n >= 0
}

// smiString returns a text field of nvidia-smi, with placeholders as "".
func smiString(s string) string {
	s = strings.TrimSpace(s)
	if isSMIPlaceholder(s) {
		return ""
	}
	return s
}

func isSMIPlaceholder(s string) bool {
	return len(s) >= 2 && s[0] == '[' && s[len(s)-1] == ']'
}

// parseMemInfo returns MemTotal from /proc/meminfo in MiB, or 0.
func parseMemInfo(b []byte) int64 {
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok || strings.TrimSpace(key) != "MemTotal" {
			continue
		}
		f := strings.Fields(val)
		if len(f) == 0 {
			return 0
		}
		n, err := strconv.ParseInt(f[0], 10, 64)
		if err != nil || n < 0 {
			return 0
		}
		// The kernel has always written "kB" (meaning KiB); a bare number
		// would be bytes, and any other unit is not worth guessing at.
		switch {
		case len(f) == 1:
			return n >> 20
		case strings.EqualFold(f[1], "kB"):
			return n >> 10
		}
		return 0
	}
	return 0
}

// parseCPUInfo returns the CPU model named in /proc/cpuinfo, or "". x86
// writes "model name"; other architectures use other keys, and arm64 only
// gives numeric implementer and part codes.
func parseCPUInfo(b []byte) string {
	fields := map[string]string{}
	sc := bufio.NewScanner(bytes.NewReader(b))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20) // flags lines run long
	for sc.Scan() {
		key, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		key = strings.TrimSpace(key)
		if _, seen := fields[key]; seen {
			continue // the first processor speaks for all
		}
		fields[key] = strings.TrimSpace(val)
	}
	for _, key := range []string{
		"model name", // x86, loongarch, some arm32 kernels
		"cpu model",  // mips
		"cpu",        // powerpc, e.g. "POWER9, altivec supported"
		"uarch",      // riscv, e.g. "sifive,u74-mc"
		"Hardware",   // arm32 boards
	} {
		if v := fields[key]; v != "" {
			return v
		}
	}
	if v := fields["Processor"]; v != "" && !isNumber(v) {
		return v // old arm32 kernels
	}
	return armModel(fields["CPU implementer"], fields["CPU part"])
}

func isNumber(s string) bool {
	_, err := strconv.Atoi(s)
	return err == nil
}

// armImplementers and armParts name the arm64 cores likely to host training
// runs. lscpu knows many more; an unknown part still yields the vendor.
var armImplementers = map[uint64]string{
	0x41: "ARM",
	0x48: "HiSilicon",
	0x4e: "NVIDIA",
	0x51: "Qualcomm",
	0x61: "Apple",
	0xc0: "Ampere",
}

var armParts = map[[2]uint64]string{
	{0x41, 0xd08}: "Cortex-A72",
	{0x41, 0xd0b}: "Cortex-A76",
	{0x41, 0xd0c}: "Neoverse-N1",
	{0x41, 0xd40}: "Neoverse-V1",
	{0x41, 0xd49}: "Neoverse-N2",
	{0x41, 0xd4f}: "Neoverse-V2",
	{0x41, 0xd84}: "Neoverse-V3",
	{0x41, 0xd8e}: "Neoverse-N3",
	{0xc0, 0xac3}: "Ampere-1",
	{0xc0, 0xac4}: "Ampere-1a",
}

// armModel names an arm64 core from its MIDR codes, e.g. "ARM Neoverse-V2".
func armModel(implementer, part string) string {
	impl, err := strconv.ParseUint(implementer, 0, 16)
	if err != nil {
		return ""
	}
	vendor, ok := armImplementers[impl]
	if !ok {
		return ""
	}
	p, err := strconv.ParseUint(part, 0, 16)
	if err != nil {
		return vendor
	}
	if name, ok := armParts[[2]uint64{impl, p}]; ok {
		return vendor + " " + name
	}
	return fmt.Sprintf("%s part %#x", vendor, p)
}

// parseSysctlMemsize returns the hw.memsize value (bytes) in MiB, or 0.
func parseSysctlMemsize(b []byte) int64 {
	n, err := strconv.ParseInt(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n >> 20
}
