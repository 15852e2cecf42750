package sysmon

import "testing"

func TestParseStat(t *testing.T) {
	line := "4242 (a (b) c) S 17 4242 17 0 -1 4194304 98 0 0 0 150 25 7 3 20 0 1 0 40228 3133440 414 18446744073709551615 1 2 3\n"
	s, ok := parseStat(4242, []byte(line))
	if !ok {
		t.Fatal("not parsed")
	}
	if s.ppid != 17 || s.cpu != 150+25+7+3 || s.start != 40228 || s.rss != 414 || s.zombie {
		t.Errorf("got %+v", s)
	}
	z, ok := parseStat(9, []byte("9 (x) Z 1 9 9 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5 0 0 0\n"))
	if !ok || !z.zombie {
		t.Errorf("zombie: %+v %v", z, ok)
	}
	if _, ok := parseStat(1, []byte("1 (init) S 0 1")); ok {
		t.Error("a cut line parsed")
	}
}

func TestParseMemInfo(t *testing.T) {
	b := []byte("MemTotal:       16000000 kB\nMemFree:         1000000 kB\nMemAvailable:    4000000 kB\nBuffers: 1 kB\n")
	total, avail, ok := parseMemInfo(b)
	if !ok || total != 16000000<<10 || avail != 4000000<<10 {
		t.Errorf("got %d %d %v", total, avail, ok)
	}
	// Kernels before 3.14 have no MemAvailable: no figure rather than a
	// wrong one.
	if _, _, ok := parseMemInfo([]byte("MemTotal: 10 kB\nMemFree: 5 kB\n")); ok {
		t.Error("parsed without MemAvailable")
	}
}
