package run

import (
	"crypto/rand"
	"encoding/binary"
	"sync"
	"time"
)

// idAlphabet is Crockford's base32 in lower case: no i, l, o or u, so ids
// survive being read aloud or retyped, and digits sort before letters, so
// ids sort by time as strings.
const idAlphabet = "0123456789abcdefghjkmnpqrstvwxyz"

// idLen is the length of an id: 10 characters of time and 16 of randomness.
const idLen = 26

// idDecode maps a byte to its value in idAlphabet, or 0xff.
var idDecode = func() (t [256]byte) {
	for i := range t {
		t[i] = 0xff
	}
	for i := 0; i < len(idAlphabet); i++ {
		t[idAlphabet[i]] = byte(i)
	}
	return t
}()

// idState is the last id handed out, so that an id made in the same
// millisecond can be the next number up.
var idState struct {
	sync.Mutex
	ms     uint64 // 48 bits
	hi, lo uint64 // the 80 random bits: 16 in hi, 64 in lo
}

// NewID returns a new run id: 26 characters of lower-case Crockford base32,
// 48 bits of Unix milliseconds then 80 random bits, like a ULID.
//
// Ids made by one process increase strictly: within a millisecond, or when
// the clock steps back, the last id's random part is incremented instead of
// drawn afresh. So ids sort by creation time as strings, and listings in
// ref order are in time order. NewID is safe for concurrent use.
func NewID() string {
	now := uint64(time.Now().UnixMilli()) & (1<<48 - 1)
	s := &idState
	s.Lock()
	if now > s.ms {
		var rnd [10]byte
		rand.Read(rnd[:]) // never fails: crypto/rand crashes the program instead
		s.ms = now
		s.hi = uint64(binary.BigEndian.Uint16(rnd[:2]))
		s.lo = binary.BigEndian.Uint64(rnd[2:])
	} else {
		s.lo++
		if s.lo == 0 {
			s.hi++
			if s.hi == 1<<16 {
				// 2^80 ids in one millisecond cannot happen, but if the
				// random part runs out the time moves on instead.
				s.hi = 0
				s.ms = (s.ms + 1) & (1<<48 - 1)
			}
		}
	}
	ms, hi, lo := s.ms, s.hi, s.lo
	s.Unlock()
	return formatID(ms, hi, lo)
}

// formatID spells an id from its 48 bits of time and 80 random bits, hi
// holding the top 16 of them.
func formatID(ms, hi, lo uint64) string {
	var id [idLen]byte
	for i := 9; i >= 0; i-- {
		id[i] = idAlphabet[ms&31]
		ms >>= 5
	}
	for i := idLen - 1; i >= 10; i-- {
		id[i] = idAlphabet[lo&31]
		lo = lo>>5 | hi<<59
		hi >>= 5
	}
	return string(id[:])
}

// ValidID reports whether s has the form of an id made by NewID. The first
// character carries only the top 3 of the 50 bits the time characters could
// hold, so it is at most '7'.
func ValidID(s string) bool {
	if len(s) != idLen || s[0] > '7' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if idDecode[s[i]] == 0xff {
			return false
		}
	}
	return true
}

// IDTime returns the time, in UTC to the millisecond, at which id was made,
// or the zero time when id is not valid.
func IDTime(id string) time.Time {
	if !ValidID(id) {
		return time.Time{}
	}
	var ms int64
	for i := 0; i < 10; i++ {
		ms = ms<<5 | int64(idDecode[id[i]])
	}
	return time.UnixMilli(ms).UTC()
}

// AbbrevLen returns how many leading characters of sorted[i] tell it apart
// from every other string of sorted, which must be in increasing order, but
// at least min and at most len(sorted[i]) (so sorted[i][:n] is always safe).
// Only the neighbours of sorted[i] need comparing: any string sharing a
// longer prefix with it would sort between them.
func AbbrevLen(sorted []string, i int, min int) int {
	s := sorted[i]
	n := 0
	if i > 0 {
		n = commonPrefixLen(s, sorted[i-1])
	}
	if i+1 < len(sorted) {
		n = max(n, commonPrefixLen(s, sorted[i+1]))
	}
	n = max(n+1, min)
	if n > len(s) {
		n = len(s)
	}
	return n
}

func commonPrefixLen(a, b string) int {
	n := min(len(a), len(b))
	for i := 0; i < n; i++ {
		if a[i] != b[i] {
			return i
		}
	}
	return n
}
