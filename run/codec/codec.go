package codec

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/gitruns/gitruns/run"
)

// binaryVersion is the first byte of every binary record. The binary form
// only backs a cache, and a change of layout bumps it.
//
// DecodeBinary also reads the versions before it, as far as the layouts
// allow, rather than failing on them: the cache keys entries by run commit,
// whose record never changes, and it keeps the bytes of entries it reads
// back as they are, so an old entry would otherwise be a miss at every
// listing, not rebuilt once. Version 1 lacked the fields added with
// version 2 (Signal, RerunOf, Env, Source.Dir and the Host fields after
// Arch, all of which version 2 writes after Arch); it was written for
// records read from run.toml that had none of them, so it decodes as such a
// record with Env empty, as DecodeTOML would give.
const binaryVersion = 2

// Tags of param values in the binary form.
const (
	binNil = iota
	binInt
	binFloat
	binFalse
	binTrue
	binString
	binArray
)

// Flags of times in the binary form. Times carry sub-millisecond
// nanoseconds only when they have any, which records never do.
const (
	binTimeZero = iota
	binTimeMilli
	binTimeNano
)

// AppendBinary appends r in a compact binary form for on-disk caches, read
// back by DecodeBinary. It is not a public format: it may change between
// versions, and its first byte says which layout it uses.
//
// The form keeps everything, including NaN payloads and the difference
// between nil and empty slices and maps, so that DecodeBinary returns an
// equal record; times come back in UTC. Maps are written in key order, so
// equal records give equal bytes. A param value of a non-canonical type is
// stored as its NormalizeParam form, or nil when it has none.
func AppendBinary(b []byte, r *run.Record) []byte {
	b = append(b, binaryVersion)
	b = binary.AppendVarint(b, int64(r.Format))
	b = appendBinString(b, r.ID)
	b = appendBinString(b, r.Name)
	b = appendBinString(b, r.Experiment)
	b = appendBinString(b, string(r.Status))
	b = appendBinTime(b, r.Started)
	b = appendBinTime(b, r.Ended)
	b = appendBinStrings(b, r.Command)
	if r.ExitCode == nil {
		b = append(b, 0)
	} else {
		b = append(b, 1)
		b = binary.AppendVarint(b, int64(*r.ExitCode))
	}

	b = appendBinString(b, r.Source.Commit)
	b = appendBinString(b, r.Source.Branch)
	b = appendBinBool(b, r.Source.Dirty)
	b = appendBinString(b, r.Source.Snapshot)
	b = appendBinStrings(b, r.Source.Skipped)

	b = appendBinString(b, r.Host.Hostname)
	b = appendBinString(b, r.Host.User)
	b = appendBinString(b, r.Host.OS)
	b = appendBinString(b, r.Host.Arch)
	b = appendBinExtras(b, r)

	var paramBuf [32]entry[any]
	b = appendBinLen(b, len(r.Params), r.Params == nil)
	for _, p := range sortedEntries(r.Params, paramBuf[:0]) {
		b = appendBinString(b, p.key)
		b = appendBinValue(b, p.val, 0)
	}
	var tagBuf [16]entry[string]
	b = appendBinLen(b, len(r.Tags), r.Tags == nil)
	for _, t := range sortedEntries(r.Tags, tagBuf[:0]) {
		b = appendBinString(b, t.key)
		b = appendBinString(b, t.val)
	}
	var metricBuf [16]entry[run.Summary]
	b = appendBinLen(b, len(r.Metrics), r.Metrics == nil)
	for _, m := range sortedEntries(r.Metrics, metricBuf[:0]) {
		s := m.val
		b = appendBinString(b, m.key)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.Last))
		b = binary.AppendVarint(b, s.Step)
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.Min))
		b = binary.LittleEndian.AppendUint64(b, math.Float64bits(s.Max))
		b = binary.AppendVarint(b, s.Count)
	}
	if metricTimes(r) {
		for _, m := range sortedEntries(r.Metrics, metricBuf[:0]) {
			b = binary.AppendVarint(b, m.val.Time)
		}
	}
	return b
}

// metricTimes tells whether any summary of r keeps its time.
func metricTimes(r *run.Record) bool {
	for _, s := range r.Metrics {
		if s.Time != 0 {
			return true
		}
	}
	return false
}

// Bits of the byte that starts the fields added in version 2, each telling
// that a group of them follows, in this order. A record that uses none of
// them, as most do, costs one byte and one test.
const (
	binHasSignal   = 1 << iota // Signal
	binHasRerunOf              // RerunOf
	binHasEnv                  // Env is not nil: its length, then its entries
	binHasHost                 // the Host fields after Arch, all of them
	binHasDir                  // Source.Dir
	binHasUpdated              // Updated, then CheckpointInterval in seconds
	binHasTagTimes             // TagTimes: its length, then its entries
	// The Time of each metric's summary, in the order of the metrics,
	// after them: at the end of the record.
	binHasMetricTimes
	binHasAll = binHasSignal | binHasRerunOf | binHasEnv | binHasHost | binHasDir | binHasUpdated | binHasTagTimes | binHasMetricTimes
)

// appendBinExtras writes the fields added in version 2.
func appendBinExtras(b []byte, r *run.Record) []byte {
	h := &r.Host
	var has byte
	if r.Signal != "" {
		has |= binHasSignal
	}
	if r.RerunOf != "" {
		has |= binHasRerunOf
	}
	if r.Env != nil {
		has |= binHasEnv
	}
	if h.CPU != "" || h.CPUs != 0 || h.MemoryMiB != 0 || h.GPUs != nil ||
		h.Python != "" || h.PythonExecutable != "" || h.PythonPackages != nil {
		has |= binHasHost
	}
	if r.Source.Dir != "" {
		has |= binHasDir
	}
	if !r.Updated.IsZero() || r.CheckpointInterval != 0 {
		has |= binHasUpdated
	}
	if len(r.TagTimes) > 0 {
		has |= binHasTagTimes
	}
	if metricTimes(r) {
		has |= binHasMetricTimes
	}
	b = append(b, has)
	if has == 0 {
		return b
	}
	if has&binHasSignal != 0 {
		b = appendBinString(b, r.Signal)
	}
	if has&binHasRerunOf != 0 {
		b = appendBinString(b, r.RerunOf)
	}
	if has&binHasEnv != 0 {
		b = binary.AppendUvarint(b, uint64(len(r.Env)))
		var envBuf [16]entry[string]
		for _, e := range sortedEntries(r.Env, envBuf[:0]) {
			b = appendBinString(b, e.key)
			b = appendBinString(b, e.val)
		}
	}
	if has&binHasHost != 0 {
		b = appendBinString(b, h.CPU)
		b = binary.AppendVarint(b, int64(h.CPUs))
		b = binary.AppendVarint(b, h.MemoryMiB)
		b = appendBinLen(b, len(h.GPUs), h.GPUs == nil)
		for _, g := range h.GPUs {
			b = appendBinString(b, g.Name)
			b = binary.AppendVarint(b, g.MemoryMiB)
			b = appendBinString(b, g.Driver)
		}
		b = appendBinString(b, h.Python)
		b = appendBinString(b, h.PythonExecutable)
		b = appendBinStrings(b, h.PythonPackages)
	}
	if has&binHasDir != 0 {
		b = appendBinString(b, r.Source.Dir)
	}
	if has&binHasUpdated != 0 {
		b = appendBinTime(b, r.Updated)
		b = binary.AppendVarint(b, int64(r.CheckpointInterval/time.Second))
	}
	if has&binHasTagTimes != 0 {
		b = binary.AppendUvarint(b, uint64(len(r.TagTimes)))
		var buf [16]entry[time.Time]
		for _, e := range sortedEntries(r.TagTimes, buf[:0]) {
			b = appendBinString(b, e.key)
			b = appendBinTime(b, e.val)
		}
	}
	return b
}

// appendBinLen writes the length of a slice or map plus one, keeping zero
// for nil.
func appendBinLen(b []byte, n int, isNil bool) []byte {
	if isNil {
		return append(b, 0)
	}
	return binary.AppendUvarint(b, uint64(n)+1)
}

func appendBinString(b []byte, s string) []byte {
	b = binary.AppendUvarint(b, uint64(len(s)))
	return append(b, s...)
}

func appendBinStrings(b []byte, a []string) []byte {
	b = appendBinLen(b, len(a), a == nil)
	for _, s := range a {
		b = appendBinString(b, s)
	}
	return b
}

func appendBinBool(b []byte, v bool) []byte {
	if v {
		return append(b, 1)
	}
	return append(b, 0)
}

func appendBinTime(b []byte, t time.Time) []byte {
	if t.IsZero() {
		return append(b, binTimeZero)
	}
	ns := t.Nanosecond() % int(time.Millisecond)
	if ns == 0 {
		b = append(b, binTimeMilli)
		return binary.AppendVarint(b, t.UnixMilli())
	}
	b = append(b, binTimeNano)
	b = binary.AppendVarint(b, t.UnixMilli())
	return binary.AppendUvarint(b, uint64(ns))
}

func appendBinValue(b []byte, v any, depth int) []byte {
	switch v := v.(type) {
	case nil:
		return append(b, binNil)
	case int64:
		b = append(b, binInt)
		return binary.AppendVarint(b, v)
	case float64:
		b = append(b, binFloat)
		return binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
	case bool:
		if v {
			return append(b, binTrue)
		}
		return append(b, binFalse)
	case string:
		b = append(b, binString)
		return appendBinString(b, v)
	case []any:
		if depth >= run.MaxParamDepth {
			return append(b, binNil)
		}
		b = append(b, binArray)
		b = appendBinLen(b, len(v), v == nil)
		for _, x := range v {
			b = appendBinValue(b, x, depth+1)
		}
		return b
	}
	if n, err := run.NormalizeParam("", v); err == nil {
		return appendBinValue(b, n, depth)
	}
	return append(b, binNil)
}

// errCorrupt is the error of any malformed binary record: a cache entry is
// either good or rebuilt, so the details do not matter.
var errCorrupt = errors.New("decode binary record: truncated or corrupt data")

// DecodeBinary reads a record written by AppendBinary. b must hold exactly
// one record. Any malformed input gives an error, never a panic.
//
// The strings of the record share one copy of b, which costs one allocation
// instead of one per string, and keeps none of b itself.
func DecodeBinary(b []byte) (*run.Record, error) {
	// The limits of run.toml hold here too, cheaply: entries are written
	// from records that met them, so anything beyond them is corruption
	// (or an entry written before they existed), and reading it on could
	// cost every listing what the record would have.
	if len(b) == 0 || len(b) > run.MaxRecordSize {
		return nil, errCorrupt
	}
	version := b[0]
	if version < 1 || version > binaryVersion {
		return nil, fmt.Errorf("decode binary record: unknown version %d", b[0])
	}
	d := binDecoder{s: string(b), off: 1}
	// The record and its exit code share an allocation: caches decode
	// records by the hundred thousand, and every allocation counts.
	a := &struct {
		r    run.Record
		exit int
	}{}
	r := &a.r
	r.Format = int(d.varint())
	r.ID = d.str()
	r.Name = d.str()
	r.Experiment = d.str()
	r.Status = run.Status(d.str())
	r.Started = d.time()
	r.Ended = d.time()
	r.Command = d.strs()
	switch d.byte() {
	case 0:
	case 1:
		c := d.varint()
		if int64(int(c)) != c {
			d.fail()
		}
		a.exit = int(c)
		r.ExitCode = &a.exit
	default:
		d.fail()
	}

	r.Source.Commit = d.str()
	r.Source.Branch = d.str()
	r.Source.Dirty = d.bool()
	r.Source.Snapshot = d.str()
	r.Source.Skipped = d.strs()

	r.Host.Hostname = d.str()
	r.Host.User = d.str()
	r.Host.OS = d.str()
	r.Host.Arch = d.str()
	var has byte
	if version >= 2 {
		if has = d.byte(); has != 0 {
			d.extras(r, has)
		}
	} else {
		r.Env = map[string]string{}
	}

	if n, ok := d.len(2); ok {
		r.Params = make(map[string]any, n)
		for i := 0; i < n && d.err == nil; i++ {
			k := d.str()
			r.Params[k] = d.value(0)
		}
	}
	if n, ok := d.len(2); ok {
		r.Tags = make(map[string]string, n)
		for i := 0; i < n && d.err == nil; i++ {
			k := d.str()
			r.Tags[k] = d.str()
		}
	}
	if n, ok := d.len(28); ok {
		r.Metrics = make(map[string]run.Summary, n)
		var keys []string
		for i := 0; i < n && d.err == nil; i++ {
			k := d.str()
			r.Metrics[k] = run.Summary{
				Last:  d.float(),
				Step:  d.varint(),
				Min:   d.float(),
				Max:   d.float(),
				Count: d.varint(),
			}
			if has&binHasMetricTimes != 0 {
				keys = append(keys, k)
			}
		}
		for _, k := range keys {
			s := r.Metrics[k]
			s.Time = d.varint()
			r.Metrics[k] = s
		}
	}
	if d.err == nil && d.off != len(d.s) {
		d.fail()
	}
	if d.err == nil && (len(r.Name) > run.MaxKeyLen || len(r.Experiment) > run.MaxKeyLen) {
		d.fail()
	}
	if d.err != nil {
		return nil, d.err
	}
	return r, nil
}

// extras reads the fields added in version 2, of which has tells which
// follow.
func (d *binDecoder) extras(r *run.Record, has byte) {
	if has&^binHasAll != 0 {
		d.fail()
		return
	}
	if has&binHasSignal != 0 {
		r.Signal = d.str()
	}
	if has&binHasRerunOf != 0 {
		r.RerunOf = d.str()
	}
	if has&binHasEnv != 0 {
		n := d.uvarint()
		if n > uint64((len(d.s)-d.off)/2) || n > run.MaxEntries {
			d.fail()
			return
		}
		r.Env = make(map[string]string, n)
		for i := 0; i < int(n) && d.err == nil; i++ {
			k := d.str()
			r.Env[k] = d.str()
		}
	}
	if has&binHasHost != 0 {
		h := &r.Host
		h.CPU = d.str()
		cpus := d.varint()
		if int64(int(cpus)) != cpus {
			d.fail()
		}
		h.CPUs = int(cpus)
		h.MemoryMiB = d.varint()
		if n, ok := d.len(3); ok {
			h.GPUs = make([]run.GPU, n)
			for i := 0; i < n && d.err == nil; i++ {
				g := &h.GPUs[i]
				g.Name = d.str()
				g.MemoryMiB = d.varint()
				g.Driver = d.str()
			}
		}
		h.Python = d.str()
		h.PythonExecutable = d.str()
		h.PythonPackages = d.strs()
	}
	if has&binHasDir != 0 {
		r.Source.Dir = d.str()
	}
	if has&binHasUpdated != 0 {
		r.Updated = d.time()
		r.CheckpointInterval = time.Duration(d.varint()) * time.Second
	}
	if has&binHasTagTimes != 0 {
		n := d.uvarint()
		if n > uint64((len(d.s)-d.off)/2) {
			d.fail()
			return
		}
		r.TagTimes = make(map[string]time.Time, n)
		for i := 0; i < int(n) && d.err == nil; i++ {
			k := d.str()
			r.TagTimes[k] = d.time()
		}
	}
}

// binDecoder reads a binary record held as a string, so that the strings of
// the record can be substrings of it. After the first error every read
// returns a zero value, which lets DecodeBinary check once at the end; loops
// also stop on error, and lengths are checked against the bytes left, so
// corrupt input cannot make it loop or allocate much.
type binDecoder struct {
	s   string
	off int
	err error
}

func (d *binDecoder) fail() {
	if d.err == nil {
		d.err = errCorrupt
		d.off = len(d.s)
	}
}

func (d *binDecoder) byte() byte {
	if d.off >= len(d.s) {
		d.fail()
		return 0
	}
	c := d.s[d.off]
	d.off++
	return c
}

func (d *binDecoder) bool() bool {
	switch d.byte() {
	case 0:
		return false
	case 1:
		return true
	}
	d.fail()
	return false
}

// uvarint reads what binary.AppendUvarint writes, rejecting encodings longer
// than ten bytes or overflowing 64 bits, as binary.Uvarint does.
func (d *binDecoder) uvarint() uint64 {
	var x uint64
	var shift uint
	for i := 0; i < binary.MaxVarintLen64; i++ {
		if d.off >= len(d.s) {
			break
		}
		c := d.s[d.off]
		d.off++
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				break
			}
			return x | uint64(c)<<shift
		}
		x |= uint64(c&0x7f) << shift
		shift += 7
	}
	d.fail()
	return 0
}

func (d *binDecoder) varint() int64 {
	u := d.uvarint()
	x := int64(u >> 1)
	if u&1 != 0 {
		x = ^x
	}
	return x
}

func (d *binDecoder) float() float64 {
	if len(d.s)-d.off < 8 {
		d.fail()
		return 0
	}
	s := d.s[d.off : d.off+8]
	d.off += 8
	return math.Float64frombits(uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
		uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56)
}

func (d *binDecoder) str() string {
	n := d.uvarint()
	if n > uint64(len(d.s)-d.off) || n > run.MaxStringLen {
		d.fail()
		return ""
	}
	s := d.s[d.off : d.off+int(n)]
	d.off += int(n)
	return s
}

// len reads the length of a slice or map written by appendBinLen, reporting
// false for nil. Each element takes at least minSize bytes, which bounds the
// length by the input left.
func (d *binDecoder) len(minSize int) (int, bool) {
	n := d.uvarint()
	if n == 0 {
		return 0, false
	}
	n--
	if n > uint64((len(d.s)-d.off)/minSize) || n > run.MaxEntries {
		d.fail()
		return 0, false
	}
	return int(n), true
}

func (d *binDecoder) strs() []string {
	n, ok := d.len(1)
	if !ok {
		return nil
	}
	a := make([]string, n)
	for i := range a {
		a[i] = d.str()
	}
	return a
}

func (d *binDecoder) time() time.Time {
	switch d.byte() {
	case binTimeZero:
		return time.Time{}
	case binTimeMilli:
		return time.UnixMilli(d.varint()).UTC()
	case binTimeNano:
		ms := d.varint()
		ns := d.uvarint()
		if ns >= uint64(time.Millisecond) {
			d.fail()
			return time.Time{}
		}
		return time.UnixMilli(ms).Add(time.Duration(ns)).UTC()
	}
	d.fail()
	return time.Time{}
}

func (d *binDecoder) value(depth int) any {
	switch d.byte() {
	case binNil:
		return nil
	case binInt:
		return d.varint()
	case binFloat:
		return d.float()
	case binFalse:
		return false
	case binTrue:
		return true
	case binString:
		return d.str()
	case binArray:
		if depth >= run.MaxParamDepth {
			d.fail()
			return nil
		}
		n, ok := d.len(1)
		if !ok {
			return []any(nil)
		}
		a := make([]any, n)
		for i := 0; i < n && d.err == nil; i++ {
			a[i] = d.value(depth + 1)
		}
		return a
	}
	d.fail()
	return nil
}
