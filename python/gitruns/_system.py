"""System metrics of a standalone run (not under git runs exec, which
samples its own): the process tree's CPU and resident memory, the
machine's memory in use and its disk and network traffic, read from /proc
on Linux, and each GPU through one nvidia-smi that loops (-lms) for the
whole run. Names, units and steps are git runs exec's (docs/CAPTURE.md,
"System metrics"): keys under system/, sizes in MiB, traffic since the run
started, steps the whole seconds since the run started.
"""

import os
import shutil
import signal
import subprocess
import threading
import time

PREFIX = "system/"
DEFAULT_INTERVAL = 10.0  # seconds
MIN_INTERVAL = 0.1
_FIRST_GPU_WAIT = 3.0  # seconds stop waits for nvidia-smi's first reading

_GPU_QUERY = "index,utilization.gpu,memory.used,power.draw,temperature.gpu"
_GPU_FIELDS = ("util_percent", "mem_used_mb", "power_w", "temp_c")
_MIB = float(1 << 20)


def check_interval(seconds):
    """Returns seconds as a float, or raises ValueError for an interval the
    sampler refuses."""
    if isinstance(seconds, bool):
        raise TypeError("system metrics interval must be a number of seconds, not bool")
    try:
        s = float(seconds)
    except (TypeError, ValueError):
        raise TypeError("system metrics interval must be a number of seconds, not %r" % (seconds,))
    if not s >= MIN_INTERVAL:  # NaN too
        raise ValueError("system metrics interval must be at least %gs, not %r" % (MIN_INTERVAL, seconds))
    return s


class Sampler(object):
    """Samples until stop(). log(key, value, step, ms) is called from the
    sampler's threads, and from the callers of the constructor and stop(),
    so it must be safe for concurrent use; nothing here holds a lock while
    calling it, so that it may take one of its own (start_run holds the
    SDK's while it builds a Sampler)."""

    def __init__(self, log, start, interval=DEFAULT_INTERVAL, pid=None, smi=None):
        self._log = log
        self._start = start  # time.time() of the run's start
        self._interval = check_interval(interval)
        self._owner = os.getpid()
        self._stop = threading.Event()
        self._tree = self._host = None
        if _linux():
            try:
                self._tree = _Tree(pid or os.getpid())
                self._host = _Host()
            except Exception:
                pass  # a run never fails for want of its system metrics
        self._gpus = _GPUs(smi, self._interval, self._emit)
        self._emit(self._host.sample(time.time()) if self._host else [])
        self._thread = threading.Thread(target=self._loop, name="gitruns-system", daemon=True)
        self._thread.start()

    def _loop(self):
        while not self._stop.wait(self._interval):
            self._emit(self._sample())

    def _sample(self):
        now = time.time()
        out = []
        # Best effort: a /proc that reads oddly loses a sample, never the
        # run (the last sample is taken in end_run's caller).
        try:
            if self._tree is not None:
                out += self._tree.sample(now)
            if self._host is not None:
                out += self._host.sample(now)
        except Exception:
            pass
        return out

    def _emit(self, readings):
        for key, value, at in readings:
            step = max(int(at - self._start), 0)
            try:
                self._log(key, value, step, int(at * 1000))
            except Exception:
                return  # the run ended under us: nothing more to say

    def stop(self):
        """Takes the last sample and ends sampling. Does nothing in a process
        forked from the one that started it."""
        if os.getpid() != self._owner or self._stop.is_set():
            return
        self._stop.set()
        self._thread.join()
        self._emit(self._sample())
        self._gpus.stop()


def _linux():
    return os.path.exists("/proc/self/stat")


class _Proc(object):
    """One reading of /proc/PID/stat."""

    __slots__ = ("ppid", "start", "cpu", "rss", "zombie")


def _read(path):
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError:
        return None


def _stat(pid):
    b = _read("/proc/%d/stat" % pid)
    if b is None:
        return None
    # The name in field 2 may hold spaces and parentheses.
    f = b[b.rfind(b")") + 2:].split()
    if len(f) < 22:
        return None
    p = _Proc()
    p.zombie = f[0] == b"Z"
    p.ppid = int(f[1])
    p.cpu = int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])  # utime stime cutime cstime
    p.start = int(f[19])
    p.rss = int(f[21])
    return p


class _Tree(object):
    """A process and its descendants: their CPU is the sum of what each uses
    and has collected from children that ended, so a child that ends between
    samples keeps counting through its parent."""

    def __init__(self, pid):
        self.root = pid
        self.ticks = float(os.sysconf("SC_CLK_TCK"))
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.children = os.path.exists("/proc/self/task/%d/children" % _gettid())
        s = _stat(pid)
        self.start = s.start if s else None
        self.gone = False
        self.last_cpu, _ = self.read() or (0, 0)
        self.last_at = time.time()

    def sample(self, now):
        if self.gone:
            return []
        got = self.read()
        if got is None:
            self.gone = True
            return []
        cpu, rss = got
        out = []
        wall = now - self.last_at
        used = max(cpu - self.last_cpu, 0) / self.ticks  # less when a process left unwaited for
        self.last_cpu, self.last_at = cpu, now
        if wall > 0:
            out.append((PREFIX + "cpu_percent", used / wall * 100, now))
        out.append((PREFIX + "rss_mb", rss * self.page / _MIB, now))
        return out

    def _is_root(self, s):
        return s is not None and not s.zombie and (self.start is None or s.start == self.start)

    def read(self):
        """(cpu ticks, resident pages) of the tree, or None once the root has
        ended."""
        return self._walk() if self.children else self._scan()

    def _walk(self):
        cpu = rss = 0
        queue, seen = [self.root], set()
        while queue:
            pid = queue.pop()
            if pid in seen:
                continue
            seen.add(pid)
            s = _stat(pid)
            if pid == self.root and not self._is_root(s):
                return None
            if s is None:
                continue
            cpu += s.cpu
            rss += s.rss
            try:
                tids = os.listdir("/proc/%d/task" % pid)
            except OSError:
                continue
            for tid in tids:
                b = _read("/proc/%d/task/%s/children" % (pid, tid))
                if b:
                    queue.extend(int(c) for c in b.split())
        return cpu, rss

    def _scan(self):
        stats = {}
        for name in os.listdir("/proc"):
            if name.isdigit():
                s = _stat(int(name))
                if s is not None:
                    stats[int(name)] = s
        if not self._is_root(stats.get(self.root)):
            return None
        kids = {}
        for pid, s in stats.items():
            kids.setdefault(s.ppid, []).append(pid)
        cpu = rss = 0
        queue = [self.root]
        while queue:
            pid = queue.pop()
            s = stats[pid]
            cpu += s.cpu
            rss += s.rss
            queue.extend(kids.get(pid, ()))
        return cpu, rss


def _gettid():
    try:
        return threading.get_native_id()
    except AttributeError:  # Python before 3.8
        return os.getpid()


class _Host(object):
    """The machine: memory in use, and disk and network traffic since the
    first reading."""

    def __init__(self):
        self.disks = set()
        try:
            for d in os.listdir("/sys/block"):
                # Devices backed by hardware: loop, zram, device-mapper and
                # RAID devices pass on some disk's traffic.
                if os.path.exists("/sys/block/%s/device" % d):
                    self.disks.add(d)
        except OSError:
            pass
        self.ifaces = set()
        try:
            for n in os.listdir("/sys/class/net"):
                # Virtual interfaces (loopback, bridges, veth) carry traffic
                # some other interface carries too.
                if "/virtual/" not in os.readlink("/sys/class/net/" + n):
                    self.ifaces.add(n)
        except OSError:
            pass
        self.base_disk = self._disk()
        self.base_net = self._net()

    def sample(self, now):
        out = []
        mem = _meminfo()
        if mem is not None:
            total, avail = mem
            used = total - min(avail, total)
            out.append((PREFIX + "mem_used_percent", used * 100.0 / total, now))
            out.append((PREFIX + "mem_used_mb", used / _MIB, now))
        d = self._disk() if self.base_disk else None
        if d is not None:
            out.append((PREFIX + "disk_read_mb", max(d[0] - self.base_disk[0], 0) / _MIB, now))
            out.append((PREFIX + "disk_write_mb", max(d[1] - self.base_disk[1], 0) / _MIB, now))
        n = self._net() if self.base_net else None
        if n is not None:
            out.append((PREFIX + "net_recv_mb", max(n[0] - self.base_net[0], 0) / _MIB, now))
            out.append((PREFIX + "net_sent_mb", max(n[1] - self.base_net[1], 0) / _MIB, now))
        return out

    def _disk(self):
        b = _read("/proc/diskstats")
        if b is None or not self.disks:
            return None
        rd = wr = 0
        for line in b.decode("ascii", "replace").splitlines():
            f = line.split()
            if len(f) >= 10 and f[2] in self.disks:
                rd += int(f[5]) * 512  # sectors of 512 bytes, whatever the device's
                wr += int(f[9]) * 512
        return rd, wr

    def _net(self):
        b = _read("/proc/net/dev")
        if b is None:
            return None
        rx = tx = 0
        found = False
        for line in b.decode("ascii", "replace").splitlines():
            name, sep, rest = line.partition(":")
            if not sep:
                continue
            name = name.strip()
            if (name not in self.ifaces) if self.ifaces else name == "lo":
                continue
            f = rest.split()
            if len(f) >= 9 and f[0].isdigit():
                rx += int(f[0])
                tx += int(f[8])
                found = True
        return (rx, tx) if found else None


def _meminfo():
    b = _read("/proc/meminfo")
    if b is None:
        return None
    total = avail = None
    for line in b.decode("ascii", "replace").splitlines():
        if line.startswith("MemTotal:"):
            total = int(line.split()[1]) << 10
        elif line.startswith("MemAvailable:"):
            avail = int(line.split()[1]) << 10
    if not total or avail is None:
        return None
    return total, avail


class _GPUs(object):
    """The one nvidia-smi of a run, printing a line per GPU every interval
    until killed. Should Python die without stopping it, its next line meets
    a closed pipe and it ends too."""

    def __init__(self, smi, interval, emit):
        self.proc = None
        self.first = threading.Event()
        smi = smi or shutil.which("nvidia-smi")
        if not smi:
            return
        try:
            self.proc = subprocess.Popen(
                [smi, "--query-gpu=" + _GPU_QUERY, "--format=csv,noheader,nounits",
                 "-lms", str(max(int(interval * 1000), 1))],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                start_new_session=True)  # a Ctrl-C for the program leaves it be
        except OSError:
            return
        self.reader = threading.Thread(target=self._read, args=(emit,), name="gitruns-gpu", daemon=True)
        self.reader.start()

    def _read(self, emit):
        for raw in self.proc.stdout:
            emit(parse_gpu_line(raw.decode("ascii", "replace"), time.time()))
            self.first.set()
        self.first.set()

    def stop(self):
        if self.proc is None:
            return
        self.first.wait(_FIRST_GPU_WAIT)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except OSError:
            pass
        self.proc.wait()
        self.reader.join()
        self.proc.stdout.close()


def parse_gpu_line(line, at):
    """Readings of one line of nvidia-smi --query-gpu=<_GPU_QUERY>
    --format=csv,noheader,nounits; a field it cannot tell ([N/A]) is left
    out, and a line that is no reading gives none."""
    f = [x.strip() for x in line.split(",")]
    if len(f) != 1 + len(_GPU_FIELDS) or not f[0].isdigit():
        return []
    out = []
    for what, v in zip(_GPU_FIELDS, f[1:]):
        if v.startswith("[") and v.endswith("]"):
            continue
        try:
            out.append(("%sgpu%s/%s" % (PREFIX, f[0], what), float(v), at))
        except ValueError:
            return []
    return out
