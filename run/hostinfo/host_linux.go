package hostinfo

import (
	"context"
	"os"
)

func cpuAndMemory(context.Context) (string, int64) {
	var cpu string
	var mem int64
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		cpu = parseCPUInfo(b)
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = parseMemInfo(b)
	}
	return cpu, mem
}
