// Package index is the on-disk index of runs: files that answer "which run
// is this", "list runs newest first" and "which runs can match this query"
// while reading only what the answer needs.
//
// An index is made of segments. A segment is one immutable file holding,
// for each of its runs, the id, the run commit and the record in codec's
// binary form, sorted by id, with lookup tables beside them: run names by
// hash, and per key postings (metric last values and numeric params in
// value order, tags and other params by a hash of key and value). A
// segment is read through a memory map, so that opening it costs nothing
// and a lookup touches a few pages. An Index is a base segment with a
// small delta segment over it (runs added or changed since the base, and
// runs removed): upkeep after a fetch rewrites only the delta.
//
// The index is derived: the refs and records in the store are the truth,
// and deleting the files loses nothing. Its format is private and may
// change between versions; the magic number says which.
package index

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
)

// IDLen is the length of a run id, which every row holds whole.
const IDLen = 26

// HashLen is the length of a run commit's id.
const HashLen = 20

// Commit is a run commit's id, as bytes.
type Commit [HashLen]byte

var magic = []byte("git-runs index\x00\x01")

// The layout: magic, a header of section offsets and counts (uint64 each,
// little-endian), then the sections in header order. Rows are fixed-size
// and sorted by id ascending, so that row i's id is found by arithmetic and
// ids by binary search.
const (
	rowSize     = 64 // id, commit, 2 spare, record offset (8), record length (4), spare (4)
	nameSize    = 12 // hash (8), row (4)
	numSize     = 12 // value bits (8), row (4)
	eqSize      = 12 // hash (8), row (4)
	headerWords = 16
)

// Header words.
const (
	hRows = iota
	hRowsOff
	hRecsOff
	hNamesOff
	hKeysOff
	hKeysLen
	hNumOff
	hNumLen
	hEqOff
	hEqLen
	hOtherOff
	hOtherLen
	hRemovedOff
	hRemoved
	hSize
	hNamesLen
)

// Kind is what a posting list is of.
type Kind byte

// The kinds of keys a segment keeps postings for.
const (
	Metric Kind = 'm' // a metric's last value
	Param  Kind = 'p' // a param: numeric values in order, others by hash
	Tag    Kind = 't' // a tag, by hash of its value
)

// Row is one run of a segment.
type Row struct {
	ID     string
	Commit Commit
	// Raw is the record in codec's binary form, the caller's own; nil
	// for a run whose record could not be read.
	Raw []byte
}

// keyInfo locates a key's postings.
type keyInfo struct {
	kind               Kind
	name               string
	numOff, numLen     uint64 // entries in the numeric postings
	otherOff, otherLen uint64 // rows whose param is not a number
	count              uint64 // runs that have the key
}

// Segment is one index file, opened.
type Segment struct {
	data  []byte
	close func() error
	// recs reads records: by reads of the file through a few cached
	// blocks rather than the map, so that a listing of a million runs
	// does not keep the pages of every record it decoded resident.
	recs  *blockReader
	h     [headerWords]uint64
	keys  map[keyID]keyInfo
	names []string // every key, sorted by kind then name
}

type keyID struct {
	kind Kind
	name string
}

// ErrFormat means an index file is not one this version reads: written
// by another version, or damaged. The index is derived, so the caller
// rebuilds it.
var ErrFormat = errors.New("index file format unknown or damaged")

// Open maps the segment file at path.
func Open(path string) (*Segment, error) {
	data, closeFn, err := mapFile(path)
	if err != nil {
		return nil, fmt.Errorf("open index: %w", err)
	}
	s, err := parse(data)
	if err != nil {
		closeFn()
		return nil, fmt.Errorf("open index %s: %w", path, err)
	}
	f, err := os.Open(path)
	if err != nil {
		closeFn()
		return nil, fmt.Errorf("open index: %w", err)
	}
	s.recs = &blockReader{f: f, size: int64(len(data))}
	s.close = func() error {
		f.Close()
		return closeFn()
	}
	return s, nil
}

// Parse reads a segment held in memory, as Open does a file.
func Parse(data []byte) (*Segment, error) { return parse(data) }

func parse(data []byte) (*Segment, error) {
	s := &Segment{data: data}
	if !bytes.HasPrefix(data, magic) || len(data) < len(magic)+headerWords*8 {
		return nil, ErrFormat
	}
	for i := range s.h {
		s.h[i] = binary.LittleEndian.Uint64(data[len(magic)+8*i:])
	}
	h := s.h
	n := h[hRows]
	if h[hSize] != uint64(len(data)) || n > uint64(len(data))/rowSize ||
		!within(data, h[hRowsOff], n*rowSize) || !within(data, h[hNamesOff], h[hNamesLen]*nameSize) ||
		!within(data, h[hKeysOff], h[hKeysLen]) || !within(data, h[hNumOff], h[hNumLen]*numSize) ||
		!within(data, h[hEqOff], h[hEqLen]*eqSize) || !within(data, h[hOtherOff], h[hOtherLen]*4) ||
		!within(data, h[hRemovedOff], h[hRemoved]*IDLen) {
		return nil, ErrFormat
	}
	if err := s.readKeys(); err != nil {
		return nil, err
	}
	return s, nil
}

func within(data []byte, off, n uint64) bool {
	return off <= uint64(len(data)) && n <= uint64(len(data))-off
}

// readKeys reads the key directory: per key, its kind, name and where its
// postings are.
func (s *Segment) readKeys() error {
	d := s.data[s.h[hKeysOff] : s.h[hKeysOff]+s.h[hKeysLen]]
	s.keys = map[keyID]keyInfo{}
	for len(d) > 0 {
		var k keyInfo
		k.kind = Kind(d[0])
		d = d[1:]
		l, n := binary.Uvarint(d)
		if n <= 0 || uint64(len(d)-n) < l {
			return ErrFormat
		}
		k.name = string(d[n : n+int(l)])
		d = d[n+int(l):]
		var f [5]uint64
		for i := range f {
			v, n := binary.Uvarint(d)
			if n <= 0 {
				return ErrFormat
			}
			f[i], d = v, d[n:]
		}
		k.numOff, k.numLen, k.otherOff, k.otherLen, k.count = f[0], f[1], f[2], f[3], f[4]
		if k.numOff+k.numLen > s.h[hNumLen] || k.otherOff+k.otherLen > s.h[hOtherLen] {
			return ErrFormat
		}
		s.keys[keyID{k.kind, k.name}] = k
		s.names = append(s.names, string(k.kind)+k.name)
	}
	return nil
}

// Close unmaps the segment. Rows read from it are invalid afterwards.
func (s *Segment) Close() error {
	if s == nil || s.close == nil {
		return nil
	}
	err := s.close()
	s.close, s.data = nil, nil
	return err
}

// Len is the number of runs in the segment.
func (s *Segment) Len() int { return int(s.h[hRows]) }

func (s *Segment) row(i int) []byte {
	off := s.h[hRowsOff] + uint64(i)*rowSize
	return s.data[off : off+rowSize]
}

// ID returns the id of row i.
func (s *Segment) ID(i int) string { return string(s.row(i)[:IDLen]) }

// idBytes returns the id of row i without copying it.
func (s *Segment) idBytes(i int) []byte { return s.row(i)[:IDLen] }

// Row returns row i, 0 being the oldest run (the lowest id).
func (s *Segment) Row(i int) Row { return s.readRow(i, false) }

// scanRow is Row for a scan, which reads the rows in about the order
// their records were written: through the cached blocks.
func (s *Segment) scanRow(i int) Row { return s.readRow(i, true) }

func (s *Segment) readRow(i int, scan bool) Row {
	r := s.row(i)
	var c Commit
	copy(c[:], r[IDLen:])
	off := binary.LittleEndian.Uint64(r[48:])
	n := uint64(binary.LittleEndian.Uint32(r[56:]))
	var raw []byte
	if r[IDLen+HashLen] == 0 && within(s.data, off, n) {
		if s.recs != nil {
			raw = s.recs.read(int64(off), int(n), scan)
		} else {
			raw = s.data[off : off+n : off+n]
		}
	}
	return Row{ID: string(r[:IDLen]), Commit: c, Raw: raw}
}

// Find returns the row of run id.
func (s *Segment) Find(id string) (int, bool) {
	if len(id) != IDLen {
		return 0, false
	}
	i := s.search(id)
	return i, i < s.Len() && string(s.idBytes(i)) == id
}

// search returns the first row whose id is not below key.
func (s *Segment) search(key string) int {
	return sort.Search(s.Len(), func(i int) bool { return string(s.idBytes(i)) >= key })
}

// Prefix returns the rows [lo, hi) whose ids start with p.
func (s *Segment) Prefix(p string) (lo, hi int) {
	lo = s.search(p)
	hi = lo
	for hi < s.Len() && strings.HasPrefix(string(s.idBytes(hi)), p) {
		hi++
	}
	return lo, hi
}

// Named returns the rows whose run may be named name: every row of that
// name, and others that share its hash, which the caller tells apart by
// decoding.
func (s *Segment) Named(name string) []int {
	return s.hashed(s.h[hNamesOff], s.h[hNamesLen], nameHash(name))
}

// hashed returns the rows of the (hash, row) table at off with n entries
// whose hash is h.
func (s *Segment) hashed(off, n, h uint64) []int {
	at := func(i int) []byte { return s.data[off+uint64(i)*12 : off+uint64(i)*12+12] }
	i := sort.Search(int(n), func(i int) bool { return binary.LittleEndian.Uint64(at(i)) >= h })
	var out []int
	for ; i < int(n) && binary.LittleEndian.Uint64(at(i)) == h; i++ {
		out = append(out, int(binary.LittleEndian.Uint32(at(i)[8:])))
	}
	return out
}

// Removed returns the ids of runs this delta segment removes from the
// base, sorted.
func (s *Segment) Removed() []string {
	out := make([]string, s.h[hRemoved])
	for i := range out {
		off := s.h[hRemovedOff] + uint64(i)*IDLen
		out[i] = string(s.data[off : off+IDLen])
	}
	return out
}

// Keys returns the keys the segment has postings for, by kind, sorted.
func (s *Segment) Keys(kind Kind) []string {
	var out []string
	for _, n := range s.names {
		if Kind(n[0]) == kind {
			out = append(out, n[1:])
		}
	}
	return out
}

// Count returns how many runs of the segment have the key.
func (s *Segment) Count(kind Kind, name string) int {
	return int(s.keys[keyID{kind, name}].count)
}

// Range returns the rows whose value of key (a metric's last value, or a
// numeric param) lies in [lo, hi], with NaN never inside; for a param, the
// rows where it is not a number too, which the caller must check itself.
// Rows come in value order, those others last.
func (s *Segment) Range(kind Kind, name string, lo, hi float64) []int {
	k, ok := s.keys[keyID{kind, name}]
	if !ok {
		return nil
	}
	a, b := s.numBounds(k, lo, hi)
	out := make([]int, 0, b-a+int(k.otherLen))
	for i := a; i < b; i++ {
		out = append(out, int(binary.LittleEndian.Uint32(s.num(k, i)[8:])))
	}
	return append(out, s.others(k)...)
}

// Having returns the rows that have tag name.
func (s *Segment) Having(name string) []int {
	k, ok := s.keys[keyID{Tag, name}]
	if !ok {
		return nil
	}
	return s.others(k)
}

// RangeCount returns how many rows Range would return, without them.
func (s *Segment) RangeCount(kind Kind, name string, lo, hi float64) int {
	k, ok := s.keys[keyID{kind, name}]
	if !ok {
		return 0
	}
	a, b := s.numBounds(k, lo, hi)
	return b - a + int(k.otherLen)
}

// Extreme returns the rows of key's numeric postings from the highest
// value down (or the lowest up, for lowest), up to n of them.
func (s *Segment) Extreme(kind Kind, name string, lowest bool, n int) []int {
	k, ok := s.keys[keyID{kind, name}]
	if !ok {
		return nil
	}
	var out []int
	for j := 0; j < int(k.numLen) && len(out) < n; j++ {
		i := j
		if !lowest {
			i = int(k.numLen) - 1 - j
		}
		out = append(out, int(binary.LittleEndian.Uint32(s.num(k, i)[8:])))
	}
	return out
}

func (s *Segment) num(k keyInfo, i int) []byte {
	off := s.h[hNumOff] + (k.numOff+uint64(i))*numSize
	return s.data[off : off+numSize]
}

func (s *Segment) numValue(k keyInfo, i int) float64 {
	return math.Float64frombits(binary.LittleEndian.Uint64(s.num(k, i)))
}

// numBounds returns the postings [a, b) of k with values in [lo, hi].
func (s *Segment) numBounds(k keyInfo, lo, hi float64) (int, int) {
	n := int(k.numLen)
	a := sort.Search(n, func(i int) bool { return s.numValue(k, i) >= lo })
	b := sort.Search(n, func(i int) bool { return s.numValue(k, i) > hi })
	return a, max(a, b)
}

func (s *Segment) others(k keyInfo) []int {
	out := make([]int, k.otherLen)
	for i := range out {
		off := s.h[hOtherOff] + (k.otherOff+uint64(i))*4
		out[i] = int(binary.LittleEndian.Uint32(s.data[off:]))
	}
	return out
}

// Equal returns the rows whose tag or param key may equal value: those
// that do, and others whose hash collides, which the caller tells apart.
// For a param, only its text form is looked up: a numeric param is found
// through Range instead.
func (s *Segment) Equal(kind Kind, name, value string) []int {
	return s.hashed(s.h[hEqOff], s.h[hEqLen], eqHash(kind, name, value))
}

// nameHash and eqHash are FNV-1a, 64 bits: stable across versions of Go,
// as the files outlive processes.
func nameHash(name string) uint64 { return fnv(fnvBasis, name) }

func eqHash(kind Kind, name, value string) uint64 {
	h := fnv(fnvBasis, string(kind))
	h = fnv(h, name)
	h = fnv(h^0xff, value) // a separator no key or value ends in
	return h
}

const fnvBasis = 14695981039346656037

func fnv(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return h
}

// ParamNumber returns a param value as a number, when it is one.
func ParamNumber(v any) (float64, bool) {
	switch v := v.(type) {
	case int64:
		return float64(v), true
	case float64:
		return v, !math.IsNaN(v)
	}
	return 0, false
}

// blockReader reads records of a segment file through a few cached
// blocks: a listing reads them in about the order they were written, a
// block at a time.
type blockReader struct {
	f    *os.File
	size int64
	mu   sync.Mutex
	// blocks are the last few read, by offset / blockSize.
	blocks map[int64][]byte
	order  []int64
}

const (
	blockSize  = 64 << 10
	blocksKept = 16
)

// read returns a copy of the n bytes at off, through the cached blocks
// when scan says the next read is likely near; nil when they cannot be
// read.
func (b *blockReader) read(off int64, n int, scan bool) []byte {
	out := make([]byte, n)
	first, last := off/blockSize, (off+int64(n)-1)/blockSize
	if !scan || n == 0 || first != last {
		if _, err := b.f.ReadAt(out, off); err != nil {
			return nil
		}
		return out
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	blk, ok := b.blocks[first]
	if !ok {
		blk = make([]byte, min(blockSize, b.size-first*blockSize))
		if _, err := b.f.ReadAt(blk, first*blockSize); err != nil {
			return nil
		}
		if b.blocks == nil {
			b.blocks = map[int64][]byte{}
		}
		if len(b.order) == blocksKept {
			delete(b.blocks, b.order[0])
			b.order = b.order[1:]
		}
		b.blocks[first] = blk
		b.order = append(b.order, first)
	}
	copy(out, blk[off-first*blockSize:])
	return out
}
