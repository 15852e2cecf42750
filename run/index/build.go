package index

import (
	"bufio"
	"bytes"
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"

	"github.com/gitruns/gitruns/run"
)

// Builder writes a segment. Records go to the file as they are added, so
// that building an index of a million runs holds only the rows and
// postings in memory, not the records.
type Builder struct {
	path string
	f    *os.File
	w    *bufio.Writer
	off  uint64
	rows []buildRow
	keys map[keyID]*buildKey
	eq   []hashRow
	rm   []string
	err  error
}

type buildRow struct {
	id     [IDLen]byte
	commit Commit
	off    uint64
	n      uint32

	unreadable bool
}

type buildKey struct {
	num   []numRow
	other []uint32
	count uint64
}

// numRow and hashRow are a value (float64 bits) or hash and a row, in 12
// bytes: a million runs have ten million of them.
type numRow [3]uint32

type hashRow [3]uint32

func pack(v uint64, row uint32) [3]uint32 { return [3]uint32{uint32(v), uint32(v >> 32), row} }

func (e numRow) value() float64 { return math.Float64frombits(uint64(e[0]) | uint64(e[1])<<32) }

func (e hashRow) hash() uint64 { return uint64(e[0]) | uint64(e[1])<<32 }

// NewBuilder starts a segment to be written at path when Finish is called.
func NewBuilder(path string) (*Builder, error) {
	f, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return nil, fmt.Errorf("create index: %w", err)
	}
	b := &Builder{path: path, f: f, w: bufio.NewWriterSize(f, 1<<20), keys: map[keyID]*buildKey{}}
	// The header is written last, over these zeros.
	hdr := make([]byte, len(magic)+headerWords*8)
	b.write(hdr)
	return b, nil
}

func (b *Builder) write(p []byte) {
	if b.err != nil {
		return
	}
	_, b.err = b.w.Write(p)
	b.off += uint64(len(p))
}

// Add adds a run: its id, commit, record and the record in codec's binary
// form. Runs may come in any order; each id at most once. A nil rec adds
// a run whose record could not be read: its row has no Raw.
func (b *Builder) Add(id string, c Commit, rec *run.Record, raw []byte) {
	if len(id) != IDLen || len(b.rows) >= math.MaxUint32 {
		return // not a run id: the store lists no such run
	}
	row := uint32(len(b.rows))
	r := buildRow{commit: c, off: b.off, n: uint32(len(raw)), unreadable: rec == nil}
	copy(r.id[:], id)
	b.rows = append(b.rows, r)
	if rec == nil {
		return
	}
	b.write(raw)
	b.eq = append(b.eq, pack(nameHash(rec.Name), row|nameBit))
	for k, s := range rec.Metrics {
		bk := b.key(Metric, k)
		if !math.IsNaN(s.Last) {
			bk.num = append(bk.num, pack(math.Float64bits(s.Last), row))
		}
	}
	for k, v := range rec.Params {
		bk := b.key(Param, k)
		if f, ok := ParamNumber(v); ok {
			bk.num = append(bk.num, pack(math.Float64bits(f), row))
		} else {
			bk.other = append(bk.other, row)
			if text, ok := paramText(v); ok {
				b.eq = append(b.eq, pack(eqHash(Param, k, text), row))
			}
		}
	}
	for k, v := range rec.Tags {
		bk := b.key(Tag, k)
		bk.other = append(bk.other, row) // a tag's rows: who has it
		b.eq = append(b.eq, pack(eqHash(Tag, k, v), row))
	}
}

// nameBit marks, while building, the entries of eq that are names.
const nameBit = 1 << 31

func (b *Builder) key(kind Kind, name string) *buildKey {
	id := keyID{kind, name}
	k := b.keys[id]
	if k == nil {
		k = &buildKey{}
		b.keys[id] = k
	}
	k.count++
	return k
}

// Remove records, in a delta segment, that run id is gone from the base.
func (b *Builder) Remove(id string) { b.rm = append(b.rm, id) }

// Len is the number of runs added so far.
func (b *Builder) Len() int { return len(b.rows) }

// Abort drops the segment being built.
func (b *Builder) Abort() {
	b.f.Close()
	os.Remove(b.f.Name())
}

// Finish writes the tables and puts the file in place.
func (b *Builder) Finish() error {
	if err := b.finish(); err != nil {
		b.Abort()
		return fmt.Errorf("write index: %w", err)
	}
	return nil
}

func (b *Builder) finish() error {
	if len(b.rows) >= nameBit {
		return fmt.Errorf("%d runs in one segment", len(b.rows))
	}
	var h [headerWords]uint64
	// Rows are renumbered in id order; perm maps the order of Add to it.
	order := make([]uint32, len(b.rows))
	for i := range order {
		order[i] = uint32(i)
	}
	slices.SortFunc(order, func(x, y uint32) int { return bytes.Compare(b.rows[x].id[:], b.rows[y].id[:]) })
	perm := make([]uint32, len(b.rows))
	for pos, i := range order {
		perm[i] = uint32(pos)
	}
	h[hRows] = uint64(len(b.rows))
	h[hRecsOff] = uint64(len(magic) + headerWords*8)
	b.pad()
	h[hRowsOff] = b.off
	var row [rowSize]byte
	for _, i := range order {
		r := b.rows[i]
		clear(row[:])
		copy(row[:], r.id[:])
		copy(row[IDLen:], r.commit[:])
		if r.unreadable {
			row[IDLen+HashLen] = 1
		}
		binary.LittleEndian.PutUint64(row[48:], r.off)
		binary.LittleEndian.PutUint32(row[56:], r.n)
		b.write(row[:])
	}
	b.rows = nil
	// Names first, then the rest, in place: the table is big.
	k := 0
	for i, e := range b.eq {
		if e[2]&nameBit != 0 {
			b.eq[i], b.eq[k] = b.eq[k], b.eq[i]
			k++
		}
	}
	names, eq := b.eq[:k], b.eq[k:]
	for i := range names {
		names[i][2] = perm[names[i][2]&^nameBit]
	}
	for i := range eq {
		eq[i][2] = perm[eq[i][2]]
	}
	h[hNamesOff], h[hNamesLen] = b.off, uint64(len(names))
	b.writeHashed(names)
	h[hEqOff], h[hEqLen] = b.off, uint64(len(eq))
	b.writeHashed(eq)
	b.writePostings(&h, perm)
	slices.Sort(b.rm)
	h[hRemovedOff], h[hRemoved] = b.off, uint64(len(b.rm))
	for _, id := range b.rm {
		b.write([]byte(id))
	}
	h[hSize] = b.off
	if b.err != nil {
		return b.err
	}
	if err := b.w.Flush(); err != nil {
		return err
	}
	hdr := make([]byte, 0, len(magic)+headerWords*8)
	hdr = append(hdr, magic...)
	for _, v := range h {
		hdr = binary.LittleEndian.AppendUint64(hdr, v)
	}
	if _, err := b.f.WriteAt(hdr, 0); err != nil {
		return err
	}
	if err := b.f.Close(); err != nil {
		return err
	}
	return os.Rename(b.f.Name(), b.path)
}

// pad aligns the next section to 8 bytes.
func (b *Builder) pad() {
	var zero [8]byte
	if r := b.off % 8; r != 0 {
		b.write(zero[:8-r])
	}
}

func (b *Builder) writeHashed(t []hashRow) {
	slices.SortFunc(t, func(x, y hashRow) int {
		return cmp.Or(cmp.Compare(x.hash(), y.hash()), cmp.Compare(x[2], y[2]))
	})
	var e [12]byte
	for _, r := range t {
		binary.LittleEndian.PutUint64(e[:], r.hash())
		binary.LittleEndian.PutUint32(e[8:], r[2])
		b.write(e[:])
	}
}

// writePostings writes the numeric postings of every key in value order,
// the rows of non-numeric params, and the key directory.
func (b *Builder) writePostings(h *[headerWords]uint64, perm []uint32) {
	ids := make([]keyID, 0, len(b.keys))
	for id := range b.keys {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(x, y keyID) int { return cmp.Or(cmp.Compare(x.kind, y.kind), cmp.Compare(x.name, y.name)) })
	var dir []byte
	var nums, others uint64
	h[hNumOff] = b.off
	var e [12]byte
	for _, id := range ids {
		k := b.keys[id]
		for i := range k.num {
			k.num[i][2] = perm[k.num[i][2]]
		}
		slices.SortFunc(k.num, func(x, y numRow) int { return cmp.Or(cmp.Compare(x.value(), y.value()), cmp.Compare(x[2], y[2])) })
		for _, p := range k.num {
			binary.LittleEndian.PutUint64(e[:], math.Float64bits(p.value()))
			binary.LittleEndian.PutUint32(e[8:], p[2])
			b.write(e[:])
		}
		dir = append(dir, byte(id.kind))
		dir = binary.AppendUvarint(dir, uint64(len(id.name)))
		dir = append(dir, id.name...)
		for _, v := range []uint64{nums, uint64(len(k.num)), others, uint64(len(k.other)), k.count} {
			dir = binary.AppendUvarint(dir, v)
		}
		nums += uint64(len(k.num))
		others += uint64(len(k.other))
	}
	h[hNumLen] = nums
	h[hOtherOff], h[hOtherLen] = b.off, others
	var r [4]byte
	for _, id := range ids {
		k := b.keys[id]
		for i := range k.other {
			k.other[i] = perm[k.other[i]]
		}
		slices.Sort(k.other)
		for _, row := range k.other {
			binary.LittleEndian.PutUint32(r[:], row)
			b.write(r[:])
		}
	}
	h[hKeysOff], h[hKeysLen] = b.off, uint64(len(dir))
	b.write(dir)
	b.keys = nil
}

// paramText is the text a param that is not a number equals in a query:
// strings bare, true and false, lists as tables write them.
func paramText(v any) (string, bool) {
	switch v := v.(type) {
	case string:
		return v, true
	case bool:
		return strconv.FormatBool(v), true
	case []any:
		return run.FormatPlain(v), true
	}
	return "", false
}
