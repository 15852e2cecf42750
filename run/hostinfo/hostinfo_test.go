package hostinfo

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"
)

const cpuinfoX86 = `processor	: 0
vendor_id	: GenuineIntel
cpu family	: 6
model		: 143
model name	: Intel(R) Xeon(R) Platinum 8480+
stepping	: 8
microcode	: 0x2b000461
cpu MHz		: 2000.000
cache size	: 107520 KB
physical id	: 0
siblings	: 112
core id		: 0
cpu cores	: 56
flags		: fpu vme de pse tsc msr pae mce cx8 apic sep mtrr pge mca cmov pat pse36 clflush dts acpi mmx fxsr sse sse2 ss ht tm pbe syscall nx pdpe1gb rdtscp lm constant_tsc
bugs		: spectre_v1 spectre_v2 spec_store_bypass swapgs eibrs_pbrsb
bogomips	: 4000.00
clflush size	: 64
cache_alignment	: 64
address sizes	: 46 bits physical, 57 bits virtual
power management:

processor	: 1
vendor_id	: GenuineIntel
model name	: Intel(R) Xeon(R) Platinum 8480+
`

// cpuinfoGraviton3 is what an AWS c7g instance shows: arm64 kernels give
// no model name, only MIDR codes.
const cpuinfoGraviton3 = `processor	: 0
BogoMIPS	: 2100.00
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs paca pacg dcpodp svei8mm svebf16 i8mm bf16 dgh rng
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x1
CPU part	: 0xd40
CPU revision	: 1

processor	: 1
BogoMIPS	: 2100.00
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x1
CPU part	: 0xd40
CPU revision	: 1
`

const cpuinfoGrace = `processor	: 0
BogoMIPS	: 2000.00
Features	: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm jscvt fcma lrcpc dcpop sha3 sm3 sm4 asimddp sha512 sve asimdfhm dit uscat ilrcpc flagm ssbs sb paca pacg dcpodp sve2 sveaes svepmull svebitperm svesha3 svesm4 flagm2 frint svei8mm svebf16 i8mm bf16 dgh bti
CPU implementer	: 0x41
CPU architecture: 8
CPU variant	: 0x0
CPU part	: 0xd4f
CPU revision	: 0
`

const cpuinfoPower9 = `processor	: 0
cpu		: POWER9, altivec supported
clock		: 3800.000000MHz
revision	: 2.3 (pvr 004e 1203)

timebase	: 512000000
platform	: PowerNV
model		: 9006-22P
machine		: PowerNV 9006-22P
firmware	: OPAL
MMU		: Radix
`

const cpuinfoRaspberryPi32 = `processor	: 0
model name	: ARMv7 Processor rev 4 (v7l)
BogoMIPS	: 38.40
Features	: half thumb fastmult vfp edsp neon vfpv3 tls vfpv4 idiva idivt vfpd32 lpae evtstrm crc32
CPU implementer	: 0x41
CPU architecture: 7
CPU variant	: 0x0
CPU part	: 0xd03
CPU revision	: 4

Hardware	: BCM2835
Revision	: a02082
Serial		: 00000000e3c2a7d1
Model		: Raspberry Pi 3 Model B Rev 1.2
`

func TestParseCPUInfo(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"x86", cpuinfoX86, "Intel(R) Xeon(R) Platinum 8480+"},
		{"graviton3", cpuinfoGraviton3, "ARM Neoverse-V1"},
		{"grace", cpuinfoGrace, "ARM Neoverse-V2"},
		{"unknown arm part", "CPU implementer\t: 0x41\nCPU part\t: 0xd03\n", "ARM part 0xd03"},
		{"unknown implementer", "CPU implementer\t: 0x99\nCPU part\t: 0x001\n", ""},
		{"power9", cpuinfoPower9, "POWER9, altivec supported"},
		{"raspberry pi", cpuinfoRaspberryPi32, "ARMv7 Processor rev 4 (v7l)"},
		{"riscv", "processor\t: 0\nhart\t\t: 1\nisa\t\t: rv64imafdc\nmmu\t\t: sv39\nuarch\t\t: sifive,u74-mc\n", "sifive,u74-mc"},
		{"old arm", "Processor\t: ARMv6-compatible processor rev 7 (v6l)\nBogoMIPS\t: 697.95\n", "ARMv6-compatible processor rev 7 (v6l)"},
		{"empty", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseCPUInfo([]byte(tt.in)); got != tt.want {
				t.Errorf("parseCPUInfo = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestParseMemInfo(t *testing.T) {
	tests := []struct {
		name, in string
		want     int64
	}{
		{"linux", "MemTotal:       24683656 kB\nMemFree:        23535428 kB\nMemAvailable:   24019656 kB\n", 24105},
		{"dgx", "MemTotal:       2113455096 kB\nMemFree:        1950000000 kB\n", 2063920},
		{"not first", "MemFree:        23535428 kB\nMemTotal:       1048576 kB\n", 1024},
		{"bytes", "MemTotal: 1073741824\n", 1024},
		{"unknown unit", "MemTotal: 1 GB\n", 0},
		{"garbage", "MemTotal: lots kB\n", 0},
		{"missing", "MemFree:        23535428 kB\n", 0},
		{"empty", "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := parseMemInfo([]byte(tt.in)); got != tt.want {
				t.Errorf("parseMemInfo = %d, want %d", got, tt.want)
			}
		})
	}
}

const smiTwoGPUs = "NVIDIA A100-SXM4-80GB, 81920, 535.104.05\nNVIDIA A100-SXM4-80GB, 81920, 535.104.05\n"

const smiFailed = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver. Make sure that the latest NVIDIA driver is installed and running.\n\n"

func TestParseNvidiaSMI(t *testing.T) {
	a100 := GPU{Name: "NVIDIA A100-SXM4-80GB", MemoryMiB: 81920, Driver: "535.104.05"}
	tests := []struct {
		name    string
		in      string
		want    []GPU
		wantErr bool
	}{
		{"one", "NVIDIA GeForce RTX 4090, 24564, 550.54.14\n", []GPU{{"NVIDIA GeForce RTX 4090", 24564, "550.54.14"}}, false},
		{"two", smiTwoGPUs, []GPU{a100, a100}, false},
		{"mixed with CRLF", "Tesla T4, 15360, 528.89\r\nNVIDIA H100 80GB HBM3, 81559, 528.89\r\n",
			[]GPU{{"Tesla T4", 15360, "528.89"}, {"NVIDIA H100 80GB HBM3", 81559, "528.89"}}, false},
		{"memory not available", "NVIDIA GH200 480GB, [N/A], 560.35.03\n", []GPU{{"NVIDIA GH200 480GB", 0, "560.35.03"}}, false},
		{"driver not supported", "GRID T4-16Q, 16384, [Not Supported]\n", []GPU{{"GRID T4-16Q", 16384, ""}}, false},
		{"comma in name", "Vendor, Model X, 1024, 1.0\n", []GPU{{"Vendor, Model X", 1024, "1.0"}}, false},
		{"empty", "", nil, false},
		{"failed", smiFailed, nil, true},
		{"no devices", "No devices were found\n", nil, true},
		{"words where memory goes", "Unable to determine the device handle for GPU0000:3B:00.0: Unknown Error, x, y\n", nil, true},
		{"one good one bad", "Tesla T4, 15360, 528.89\nUnable to determine the device handle\n", nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseNvidiaSMI([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseNvidiaSMI error = %v, want error %v", err, tt.wantErr)
			}
			if err == nil && !reflect.DeepEqual(got, tt.want) {
				t.Errorf("parseNvidiaSMI = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestParseSysctlMemsize(t *testing.T) {
	for in, want := range map[string]int64{
		"34359738368\n": 32768,
		"":              0,
		"unknown oid":   0,
	} {
		if got := parseSysctlMemsize([]byte(in)); got != want {
			t.Errorf("parseSysctlMemsize(%q) = %d, want %d", in, got, want)
		}
	}
}

// fakeCommand writes an executable shell script called name into dir.
func fakeCommand(t *testing.T, dir, name, body string) string {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("fake commands are shell scripts")
	}
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestCollectWithoutGPU(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	start := time.Now()
	info := Collect(context.Background())
	took := time.Since(start)
	if info.CPUs != runtime.NumCPU() {
		t.Errorf("CPUs = %d, want %d", info.CPUs, runtime.NumCPU())
	}
	if info.GPUs != nil {
		t.Errorf("GPUs = %+v without nvidia-smi", info.GPUs)
	}
	if runtime.GOOS == "linux" {
		if info.CPU == "" && runtime.GOARCH == "amd64" {
			t.Error("CPU is empty")
		}
		if info.MemoryMiB <= 0 {
			t.Errorf("MemoryMiB = %d", info.MemoryMiB)
		}
	}
	t.Logf("%v: %+v", took, info)
}

func TestCollectNvidiaSMI(t *testing.T) {
	bin := t.TempDir()
	t.Setenv("PATH", bin)

	fakeCommand(t, bin, "nvidia-smi", `
case "$*" in
*--query-gpu=name,memory.total,driver_version*--format=csv,noheader,nounits*) ;;
*) echo "unexpected arguments: $*" >&2; exit 2 ;;
esac
printf '`+strings.ReplaceAll(smiTwoGPUs, "\n", `\n`)+`'`)
	info := Collect(context.Background())
	want := []GPU{
		{"NVIDIA A100-SXM4-80GB", 81920, "535.104.05"},
		{"NVIDIA A100-SXM4-80GB", 81920, "535.104.05"},
	}
	if !reflect.DeepEqual(info.GPUs, want) {
		t.Errorf("GPUs = %+v, want %+v", info.GPUs, want)
	}

	fakeCommand(t, bin, "nvidia-smi", `echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver."; exit 9`)
	if gpus := Collect(context.Background()).GPUs; gpus != nil {
		t.Errorf("GPUs = %+v from a failing nvidia-smi", gpus)
	}
}

func TestCollectNvidiaSMIHangs(t *testing.T) {
	bin := t.TempDir()
	t.Setenv("PATH", bin+string(os.PathListSeparator)+"/bin"+string(os.PathListSeparator)+"/usr/bin")
	fakeCommand(t, bin, "nvidia-smi", "sleep 30")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	info := Collect(ctx)
	if took := time.Since(start); took > 5*time.Second {
		t.Errorf("Collect took %v with a 200ms deadline", took)
	}
	if info.GPUs != nil {
		t.Errorf("GPUs = %+v from a hanging nvidia-smi", info.GPUs)
	}
	if info.CPUs == 0 {
		t.Error("a hanging nvidia-smi lost the other fields")
	}
}
