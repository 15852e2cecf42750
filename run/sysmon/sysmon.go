package sysmon

import (
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/gitruns/gitruns/run"
)

// Prefix starts the key of every system metric. The output parser of
// git runs exec never reads a key with it from a program's output.
const Prefix = run.SystemPrefix

// The names of the metrics sampled. Sizes are in MiB (2^20 bytes), as
// nvidia-smi reports memory; counters of traffic are totals since the
// run started.
const (
	CPUPercent     = Prefix + "cpu_percent"      // the process tree's CPU; 100 is one core busy
	RSSMB          = Prefix + "rss_mb"           // the process tree's resident memory
	MemUsedPercent = Prefix + "mem_used_percent" // the machine's memory in use
	MemUsedMB      = Prefix + "mem_used_mb"
	DiskReadMB     = Prefix + "disk_read_mb" // read from the machine's disks
	DiskWriteMB    = Prefix + "disk_write_mb"
	NetRecvMB      = Prefix + "net_recv_mb" // received by the machine's network interfaces
	NetSentMB      = Prefix + "net_sent_mb"
)

// GPUKey names a metric of GPU index, such as system/gpu0/util_percent.
// what is one of util_percent, mem_used_mb, power_w and temp_c.
func GPUKey(index int, what string) string {
	return Prefix + "gpu" + strconv.Itoa(index) + "/" + what
}

// DefaultInterval is how often a run is sampled unless told otherwise.
const DefaultInterval = 10 * time.Second

// MinInterval is the shortest interval allowed: sampling more often
// would cost the run more than it tells.
const MinInterval = 100 * time.Millisecond

// CheckInterval returns an error for an interval Start refuses.
func CheckInterval(d time.Duration) error {
	if d < MinInterval {
		return fmt.Errorf("must be at least %s, not %s", MinInterval, d)
	}
	return nil
}

// Point is one sampled value. Step is the whole seconds from the run's
// start to Time, so that runs sampled alike chart alike.
type Point struct {
	Key   string
	Value float64
	Step  int64
	Time  time.Time
}

// Options tell Start what to sample.
type Options struct {
	PID      int           // the root of the process tree; 0 for none
	Interval time.Duration // 0 for DefaultInterval
	Start    time.Time     // when the run started: steps count from it; zero for now
	// Log receives the points. It is called from the monitor's own
	// goroutines, never two calls at once, and never after Stop returns.
	Log func(Point)
	// SMI is the nvidia-smi to run; "" looks it up on PATH, and "-"
	// samples no GPU.
	SMI string
}

// A Monitor samples until stopped.
type Monitor struct {
	o     Options
	logMu sync.Mutex
	stop  chan struct{}
	done  chan struct{}
	gpus  *gpus
	tree  *tree
	host  *host
}

// Start begins sampling: the machine at once (the baseline, at step 0),
// then the machine and the process tree every interval, and the GPUs as
// nvidia-smi reports them. It never fails and never waits: what cannot be
// read is left out.
func Start(o Options) *Monitor {
	if o.Interval <= 0 {
		o.Interval = DefaultInterval
	}
	if o.Start.IsZero() {
		o.Start = time.Now()
	}
	m := &Monitor{o: o, stop: make(chan struct{}), done: make(chan struct{})}
	go m.loop()
	return m
}

// Stop takes a last sample, of the machine and of the process tree if it
// still runs, and ends sampling. When nvidia-smi has not answered yet
// (a command shorter than its start), Stop waits up to firstGPUWait for
// its first reading. A nil Monitor does nothing.
func (m *Monitor) Stop() {
	if m == nil {
		return
	}
	close(m.stop)
	<-m.done
}

// firstGPUWait bounds how long Stop waits for nvidia-smi's first
// reading, which takes it a moment while the driver wakes.
const firstGPUWait = 3 * time.Second

func (m *Monitor) loop() {
	defer close(m.done)
	if m.o.PID > 0 {
		m.tree = newTree(m.o.PID)
	}
	m.host = newHost()
	m.emit(m.host.sample(time.Now(), nil))
	m.gpus = startGPUs(m.o.SMI, m.o.Interval, m.emit)
	t := time.NewTicker(m.o.Interval)
	defer t.Stop()
	var buf []reading
	for {
		select {
		case <-m.stop:
			m.emit(m.sample(buf[:0]))
			m.gpus.stop(firstGPUWait)
			return
		case <-t.C:
			buf = m.sample(buf[:0])
			m.emit(buf)
		}
	}
}

// sample reads the tree and the machine.
func (m *Monitor) sample(buf []reading) []reading {
	now := time.Now()
	if m.tree != nil {
		buf = m.tree.sample(now, buf)
	}
	return m.host.sample(now, buf)
}

// reading is a value read at a time, before it has a step.
type reading struct {
	key   string
	value float64
	at    time.Time
}

func (m *Monitor) emit(rs []reading) {
	if m.o.Log == nil || len(rs) == 0 {
		return
	}
	m.logMu.Lock()
	defer m.logMu.Unlock()
	for _, r := range rs {
		m.o.Log(Point{Key: r.key, Value: r.value, Step: m.step(r.at), Time: r.at})
	}
}

// step is the whole seconds from the run's start to t.
func (m *Monitor) step(t time.Time) int64 {
	d := t.Sub(m.o.Start)
	if d < 0 {
		return 0
	}
	return int64(d / time.Second)
}
