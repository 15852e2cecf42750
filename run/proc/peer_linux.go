package proc

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Peer returns the process on this machine at the other end of a TCP
// connection whose ends are, as this process sees them, local and remote:
// the process whose socket is bound to remote and connected to local.
// False when there is none this process may see (another user's, another
// machine's).
//
// A server on loopback learns from it which program called: where it
// runs (Cwd), and whether it still does.
func Peer(local, remote netip.AddrPort) (pid int, ok bool) {
	inode, ok := socketInode(remote, local)
	if !ok {
		return 0, false
	}
	return socketOwner(inode)
}

// Cwd returns the working directory of process pid.
func Cwd(pid int) (string, bool) {
	d, err := os.Readlink("/proc/" + strconv.Itoa(pid) + "/cwd")
	return d, err == nil
}

// socketInode finds the TCP socket from from to to in /proc/net/tcp{,6}.
func socketInode(from, to netip.AddrPort) (string, bool) {
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // the header
		for sc.Scan() {
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 {
				continue
			}
			l, lok := parseProcAddr(fs[1])
			r, rok := parseProcAddr(fs[2])
			if lok && rok && sameEnd(l, from) && sameEnd(r, to) {
				f.Close()
				return fs[9], true
			}
		}
		f.Close()
	}
	return "", false
}

// sameEnd compares addresses, IPv4 and its IPv6-mapped form alike.
func sameEnd(a, b netip.AddrPort) bool {
	return a.Port() == b.Port() && a.Addr().Unmap() == b.Addr().Unmap()
}

// parseProcAddr reads an address of /proc/net/tcp: the address as 32-bit
// words in host order (little-endian here), a colon, the port in hex.
func parseProcAddr(s string) (netip.AddrPort, bool) {
	a, p, ok := strings.Cut(s, ":")
	if !ok {
		return netip.AddrPort{}, false
	}
	raw, err := hex.DecodeString(a)
	port, perr := strconv.ParseUint(p, 16, 16)
	if err != nil || perr != nil || (len(raw) != 4 && len(raw) != 16) {
		return netip.AddrPort{}, false
	}
	for i := 0; i < len(raw); i += 4 {
		binary.BigEndian.PutUint32(raw[i:], binary.LittleEndian.Uint32(raw[i:]))
	}
	addr, _ := netip.AddrFromSlice(raw)
	return netip.AddrPortFrom(addr, uint16(port)), true
}

// socketOwner finds the process holding socket inode among those this
// process may look into.
func socketOwner(inode string) (int, bool) {
	want := "socket:[" + inode + "]"
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		pid, err := strconv.Atoi(filepath.Base(p))
		if err != nil {
			continue
		}
		fds, err := os.ReadDir(p + "/fd")
		if err != nil {
			continue
		}
		for _, fd := range fds {
			if l, err := os.Readlink(p + "/fd/" + fd.Name()); err == nil && l == want {
				return pid, true
			}
		}
	}
	return 0, false
}
