package sysmon

import (
	"fmt"
	"os"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

// TestMain turns the test binary into a process to sample when
// SYSMON_BURN is set: once a byte comes on its standard input, it
// touches SYSMON_BURN MiB of memory, burns SYSMON_CPU_MS milliseconds of
// CPU on two threads, says how much CPU it used ("cpu SECONDS"), and
// waits for its standard input to close.
func TestMain(m *testing.M) {
	if os.Getenv("SYSMON_BURN") == "" {
		os.Exit(m.Run())
	}
	var mib, ms int
	fmt.Sscan(os.Getenv("SYSMON_BURN"), &mib)
	fmt.Sscan(os.Getenv("SYSMON_CPU_MS"), &ms)
	var b [1]byte
	os.Stdin.Read(b[:])
	mem := make([]byte, mib<<20)
	for i := 0; i < len(mem); i += 4096 {
		mem[i] = 1
	}
	burn(time.Duration(ms) * time.Millisecond)
	fmt.Printf("cpu %.3f\n", cpuUsed().Seconds())
	for {
		if _, err := os.Stdin.Read(b[:]); err != nil {
			break
		}
	}
	runtime.KeepAlive(mem)
	os.Exit(0)
}

// burn spins two threads until this process has used d of CPU.
func burn(d time.Duration) {
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			for x := 0; cpuUsed() < d; x++ {
				for i := 0; i < 100000; i++ {
					x ^= i * x
				}
			}
		})
	}
	wg.Wait()
}

func cpuUsed() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// points collects what a Monitor logs, for tests to wait on.
type points struct {
	mu   sync.Mutex
	all  []Point
	news chan struct{}
}

func newPoints() *points { return &points{news: make(chan struct{}, 1)} }

func (p *points) log(pt Point) {
	p.mu.Lock()
	p.all = append(p.all, pt)
	p.mu.Unlock()
	select {
	case p.news <- struct{}{}:
	default:
	}
}

func (p *points) snapshot() []Point {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Point(nil), p.all...)
}

// waitFor waits until cond holds of the points logged so far.
func (p *points) waitFor(t *testing.T, what string, cond func([]Point) bool) []Point {
	t.Helper()
	deadline := time.After(60 * time.Second)
	for {
		if all := p.snapshot(); cond(all) {
			return all
		}
		select {
		case <-p.news:
		case <-deadline:
			t.Fatalf("no %s in 60s; got %v", what, p.snapshot())
		}
	}
}

// ofKey returns the points of key.
func ofKey(pts []Point, key string) []Point {
	var out []Point
	for _, p := range pts {
		if p.Key == key {
			out = append(out, p)
		}
	}
	return out
}
