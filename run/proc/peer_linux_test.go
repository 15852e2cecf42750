package proc

import (
	"net"
	"net/netip"
	"os"
	"testing"
	"time"
)

// TestPeer finds this process at the other end of a loopback connection,
// over IPv4 and IPv6.
func TestPeer(t *testing.T) {
	for _, addr := range []string{"127.0.0.1:0", "[::1]:0"} {
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c, err := net.Dial("tcp", ln.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		s, err := ln.Accept()
		if err != nil {
			t.Fatal(err)
		}
		local := netip.MustParseAddrPort(s.LocalAddr().String())
		remote := netip.MustParseAddrPort(s.RemoteAddr().String())
		start := time.Now()
		pid, ok := Peer(local, remote)
		t.Logf("%s: found in %s", addr, time.Since(start))
		if !ok || pid != os.Getpid() {
			t.Errorf("%s: peer %d %v, want this process %d", addr, pid, ok, os.Getpid())
		}
		if _, ok := Peer(local, netip.MustParseAddrPort("127.0.0.1:1")); ok {
			t.Errorf("%s: a peer for a connection that does not exist", addr)
		}
		c.Close()
		s.Close()
		ln.Close()
	}
}
