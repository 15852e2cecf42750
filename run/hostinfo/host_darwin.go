package hostinfo

import (
	"context"
	"os/exec"
	"strings"
)

// cpuAndMemory asks sysctl(8) rather than calling sysctl(3) so that the
// package needs neither cgo nor golang.org/x/sys.
func cpuAndMemory(ctx context.Context) (string, int64) {
	cpu := strings.TrimSpace(string(sysctl(ctx, "machdep.cpu.brand_string")))
	return cpu, parseSysctlMemsize(sysctl(ctx, "hw.memsize"))
}

func sysctl(ctx context.Context, name string) []byte {
	cmd := exec.CommandContext(ctx, "/usr/sbin/sysctl", "-n", name)
	cmd.WaitDelay = waitDelay
	out, err := cmd.Output()
	if err != nil {
		return nil
	}
	return out
}
