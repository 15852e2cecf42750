package sysmon

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTicks is the kernel's USER_HZ, the unit of CPU times in
// /proc/PID/stat: 100 on every architecture Linux runs on today, and
// only sysconf (through C) would say otherwise.
const clockTicks = 100

// procFile reads small files of /proc into one buffer, kept from one
// read to the next: a sample reads one per process on the machine.
type procFile struct {
	buf []byte
}

// read returns the content of path, valid until the next read.
func (p *procFile) read(path string) ([]byte, bool) {
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil, false
	}
	defer syscall.Close(fd)
	if p.buf == nil {
		p.buf = make([]byte, 4096)
	}
	n := 0
	for {
		if n == len(p.buf) {
			p.buf = append(p.buf, make([]byte, len(p.buf))...)
		}
		m, err := syscall.Read(fd, p.buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil, false
		}
		n += m
		// The files of /proc give all they have at once when there is
		// room: a short read is the end, and saves asking again.
		if m == 0 || n < len(p.buf) {
			return p.buf[:n], true
		}
	}
}

// stat is what a sample needs of /proc/PID/stat.
type stat struct {
	pid, ppid int
	start     uint64 // start time, in ticks since boot
	cpu       uint64 // ticks of CPU used by the process and its waited-for children
	rss       uint64 // pages
	zombie    bool
}

// parseStat reads /proc/PID/stat. The command name in field 2 may hold
// spaces and parentheses, so fields are counted from the last ')'.
func parseStat(pid int, b []byte) (stat, bool) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return stat{}, false
	}
	b = b[i+1:]
	// Fields 3 (state) to 24 (rss); f[k] is field k+3.
	var f [22][]byte
	for k := range f {
		b = bytes.TrimLeft(b, " ")
		j := bytes.IndexByte(b, ' ')
		if j < 0 {
			if k < len(f)-1 {
				return stat{}, false
			}
			j = len(b)
		}
		f[k], b = b[:j], b[j:]
	}
	n := func(k int) uint64 {
		v, _ := strconv.ParseUint(string(f[k]), 10, 64)
		return v
	}
	s := stat{pid: pid, ppid: int(n(1)), start: n(19), rss: n(21), zombie: len(f[0]) == 1 && f[0][0] == 'Z'}
	s.cpu = n(11) + n(12) + n(13) + n(14) // utime, stime, cutime, cstime
	return s, true
}

// tree samples a process and its descendants. Their CPU time is the sum
// of what each uses and has collected from children that ended, so a
// child that ends between two samples keeps counting through its parent.
type tree struct {
	root     int
	start    uint64 // the root's start time: a reused pid is another process
	f        procFile
	stats    []stat
	lastCPU  uint64
	lastAt   time.Time
	pageSize uint64
	gone     bool
}

func newTree(pid int) *tree {
	t := &tree{root: pid, pageSize: uint64(os.Getpagesize())}
	if b, ok := t.f.read("/proc/" + strconv.Itoa(pid) + "/stat"); ok {
		if s, ok := parseStat(pid, b); ok {
			t.start = s.start
		}
	}
	// The first interval's CPU counts from here.
	t.lastCPU, _, _ = t.read()
	t.lastAt = time.Now()
	return t
}

// sample appends the tree's CPU use since the last sample and its
// resident memory; nothing once the root has ended.
func (t *tree) sample(now time.Time, dst []reading) []reading {
	if t.gone {
		return dst
	}
	cpu, rss, ok := t.read()
	if !ok {
		t.gone = true
		return dst
	}
	wall := now.Sub(t.lastAt).Seconds()
	used := 0.0
	if cpu > t.lastCPU { // less when a process left the tree unwaited for
		used = float64(cpu-t.lastCPU) / clockTicks
	}
	t.lastCPU, t.lastAt = cpu, now
	if wall > 0 {
		dst = append(dst, reading{key: CPUPercent, value: used / wall * 100, at: now})
	}
	return append(dst, reading{key: RSSMB, value: float64(rss*t.pageSize) / (1 << 20), at: now})
}

// read sums the CPU ticks and resident pages of the tree; false when
// its root no longer runs.
func (t *tree) read() (cpu, rss uint64, ok bool) {
	if hasChildren {
		return t.walk()
	}
	return t.scan()
}

// hasChildren tells that the kernel lists each thread's children
// (/proc/PID/task/TID/children, CONFIG_PROC_CHILDREN): the tree is then
// found from its root, at a cost of its own size, rather than from every
// process on the machine.
var hasChildren = func() bool {
	_, err := os.Stat("/proc/self/task/" + strconv.Itoa(syscall.Gettid()) + "/children")
	return err == nil
}()

// walk reads the tree from its root down, through the children of each
// of its processes' threads.
func (t *tree) walk() (cpu, rss uint64, ok bool) {
	queue := []int{t.root}
	seen := map[int]bool{} // a child moving to another parent may be listed twice
	for len(queue) > 0 {
		pid := queue[0]
		queue = queue[1:]
		if seen[pid] {
			continue
		}
		seen[pid] = true
		dir := "/proc/" + strconv.Itoa(pid)
		b, ok := t.f.read(dir + "/stat")
		if !ok {
			if pid == t.root {
				return 0, 0, false
			}
			continue // ended while we looked
		}
		s, ok := parseStat(pid, b)
		if pid == t.root && (!ok || !t.isRoot(s)) {
			return 0, 0, false
		}
		cpu += s.cpu
		rss += s.rss
		d, err := os.Open(dir + "/task")
		if err != nil {
			continue
		}
		tids, _ := d.Readdirnames(-1)
		d.Close()
		for _, tid := range tids {
			if b, ok := t.f.read(dir + "/task/" + tid + "/children"); ok {
				for _, c := range bytes.Fields(b) {
					if n, err := strconv.Atoi(string(c)); err == nil {
						queue = append(queue, n)
					}
				}
			}
		}
	}
	return cpu, rss, true
}

// isRoot tells that s is the root as it started, not a zombie or
// another process given its pid.
func (t *tree) isRoot(s stat) bool {
	return !s.zombie && (t.start == 0 || s.start == t.start)
}

// scan reads the tree from one pass over every process in /proc.
func (t *tree) scan() (cpu, rss uint64, ok bool) {
	d, err := os.Open("/proc")
	if err != nil {
		return 0, 0, false
	}
	names, _ := d.Readdirnames(-1)
	d.Close()
	t.stats = t.stats[:0]
	rootAt := -1
	for _, name := range names {
		if name[0] < '0' || name[0] > '9' {
			continue
		}
		pid, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		b, ok := t.f.read("/proc/" + name + "/stat")
		if !ok {
			continue // ended while we looked
		}
		if s, ok := parseStat(pid, b); ok {
			if pid == t.root {
				rootAt = len(t.stats)
			}
			t.stats = append(t.stats, s)
		}
	}
	if rootAt < 0 || !t.isRoot(t.stats[rootAt]) {
		return 0, 0, false
	}
	children := make(map[int][]int, len(t.stats))
	for i, s := range t.stats {
		children[s.ppid] = append(children[s.ppid], i)
	}
	queue := []int{rootAt}
	for len(queue) > 0 {
		s := t.stats[queue[0]]
		queue = queue[1:]
		cpu += s.cpu
		rss += s.rss
		queue = append(queue, children[s.pid]...)
	}
	return cpu, rss, true
}

// host samples the machine: memory in use, and disk and network traffic
// since the first sample.
type host struct {
	f                 procFile
	disks, ifaces     map[string]bool
	base              [4]uint64 // disk read, disk written, received, sent, in bytes
	haveDisk, haveNet bool
}

func newHost() *host {
	h := &host{disks: wholeDisks(), ifaces: interfaces()}
	var c [4]uint64
	h.haveDisk = h.diskBytes(&c)
	h.haveNet = h.netBytes(&c)
	h.base = c
	return h
}

func (h *host) sample(now time.Time, dst []reading) []reading {
	if b, ok := h.f.read("/proc/meminfo"); ok {
		if total, avail, ok := parseMemInfo(b); ok && total > 0 {
			used := total - min(avail, total)
			dst = append(dst,
				reading{key: MemUsedPercent, value: float64(used) / float64(total) * 100, at: now},
				reading{key: MemUsedMB, value: float64(used) / (1 << 20), at: now})
		}
	}
	var c [4]uint64
	since := func(k int) float64 {
		if c[k] < h.base[k] {
			return 0 // a device went away
		}
		return float64(c[k]-h.base[k]) / (1 << 20)
	}
	if h.haveDisk && h.diskBytes(&c) {
		dst = append(dst, reading{key: DiskReadMB, value: since(0), at: now}, reading{key: DiskWriteMB, value: since(1), at: now})
	}
	if h.haveNet && h.netBytes(&c) {
		dst = append(dst, reading{key: NetRecvMB, value: since(2), at: now}, reading{key: NetSentMB, value: since(3), at: now})
	}
	return dst
}

// parseMemInfo returns MemTotal and MemAvailable of /proc/meminfo, in
// bytes.
func parseMemInfo(b []byte) (total, avail uint64, ok bool) {
	var seen int
	for line := range bytes.Lines(b) {
		var dst *uint64
		switch {
		case bytes.HasPrefix(line, []byte("MemTotal:")):
			dst = &total
		case bytes.HasPrefix(line, []byte("MemAvailable:")):
			dst = &avail
		default:
			continue
		}
		f := bytes.Fields(line)
		if len(f) < 2 {
			return 0, 0, false
		}
		v, err := strconv.ParseUint(string(f[1]), 10, 64)
		if err != nil {
			return 0, 0, false
		}
		*dst = v << 10 // the kernel's "kB" is KiB
		if seen++; seen == 2 {
			return total, avail, true
		}
	}
	return 0, 0, false
}

// diskBytes reads the bytes read and written by the whole disks into
// c[0] and c[1]. Counting partitions, device-mapper or RAID devices too
// would count the same bytes twice.
func (h *host) diskBytes(c *[4]uint64) bool {
	b, ok := h.f.read("/proc/diskstats")
	if !ok || len(h.disks) == 0 {
		return false
	}
	for line := range bytes.Lines(b) {
		f := bytes.Fields(line)
		if len(f) < 10 || !h.disks[string(f[2])] {
			continue
		}
		// Sectors are 512 bytes here whatever the device's own size.
		rd, err1 := strconv.ParseUint(string(f[5]), 10, 64)
		wr, err2 := strconv.ParseUint(string(f[9]), 10, 64)
		if err1 == nil && err2 == nil {
			c[0] += rd * 512
			c[1] += wr * 512
		}
	}
	return true
}

// netBytes reads the bytes received and sent by the interfaces into c[2]
// and c[3].
func (h *host) netBytes(c *[4]uint64) bool {
	b, ok := h.f.read("/proc/net/dev")
	if !ok {
		return false
	}
	found := false
	for line := range bytes.Lines(b) {
		name, rest, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			continue // the two header lines
		}
		n := string(bytes.TrimSpace(name))
		if !h.counts(n) {
			continue
		}
		f := bytes.Fields(rest)
		if len(f) < 9 {
			continue
		}
		rx, err1 := strconv.ParseUint(string(f[0]), 10, 64)
		tx, err2 := strconv.ParseUint(string(f[8]), 10, 64)
		if err1 == nil && err2 == nil {
			c[2] += rx
			c[3] += tx
			found = true
		}
	}
	return found
}

// counts tells whether traffic through interface name counts: a device's
// interface, or in a container, where every interface is virtual, any but
// loopback.
func (h *host) counts(name string) bool {
	if len(h.ifaces) > 0 {
		return h.ifaces[name]
	}
	return name != "lo"
}

// wholeDisks names the block devices backed by hardware (a device link
// in /sys/block), leaving out loop, zram, device-mapper and RAID devices,
// whose traffic is some disk's too.
func wholeDisks() map[string]bool {
	m := map[string]bool{}
	ents, _ := os.ReadDir("/sys/block")
	for _, e := range ents {
		if _, err := os.Stat(filepath.Join("/sys/block", e.Name(), "device")); err == nil {
			m[e.Name()] = true
		}
	}
	return m
}

// interfaces names the network interfaces of devices: not virtual ones
// (loopback, bridges, veth pairs, ifb), whose traffic passes through
// another interface too.
func interfaces() map[string]bool {
	m := map[string]bool{}
	ents, _ := os.ReadDir("/sys/class/net")
	for _, e := range ents {
		target, err := os.Readlink(filepath.Join("/sys/class/net", e.Name()))
		if err == nil && !strings.Contains(target, "/virtual/") {
			m[e.Name()] = true
		}
	}
	return m
}
