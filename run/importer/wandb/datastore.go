package wandb

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"slices"
)

// The .wandb file of a run (run-<id>.wandb) is W&B's record log, as its
// SDK writes it (wandb/sdk/internal/datastore.py): LevelDB's log format
// with a header of its own.
//
//	header: ":W&B", magic 0xBEE1 (uint16 LE), version 0 (uint8)
//	then blocks of 32 KiB, each holding chunks:
//	  crc32 (uint32 LE) of the chunk's data, seeded with the crc32 of its type byte
//	  length (uint16 LE), type (uint8): 1 full, 2 first, 3 middle, 4 last
//	  data
//	a block's last 6 bytes or fewer, too few for a chunk header, are zeros.
//
// Each record (a full chunk, or first, middles and last joined) is a
// protocol buffer wandb_internal.Record (wandb/proto/wandb_internal.proto).
const (
	logHeaderLen = 7
	logBlockLen  = 32768
	logMagic     = 0xBEE1
)

// maxRecord bounds one record of the log: W&B's own are far smaller.
const maxRecord = 64 << 20

// readLog calls each with every record of the log in data, in order. A
// log cut short at its end (the run still writing, or killed) ends
// there without an error; a damaged one ends with an error after the
// records before the damage.
func readLog(data []byte, each func(rec []byte) error) error {
	return readLogFrom(bytes.NewReader(data), each)
}

// readLogFrom is readLog on a stream: the log is read a chunk at a
// time, never whole.
func readLogFrom(r io.Reader, each func(rec []byte) error) error {
	var hdr [logHeaderLen]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil || string(hdr[:4]) != ":W&B" || binary.LittleEndian.Uint16(hdr[4:6]) != logMagic {
		return errors.New("not a W&B record log (no :W&B header)")
	}
	if hdr[6] != 0 {
		return fmt.Errorf("record log version %d, not 0", hdr[6])
	}
	var typeCRC [5]uint32
	for t := range typeCRC {
		typeCRC[t] = crc32.ChecksumIEEE([]byte{byte(t)})
	}
	off := int64(logHeaderLen)
	var rec, chunk []byte
	inRecord := false
	for {
		if left := logBlockLen - off%logBlockLen; left < logHeaderLen {
			// The block's zero trailer.
			if _, err := io.CopyN(io.Discard, r, left); err != nil {
				return cutShort(err)
			}
			off += left
		}
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return cutShort(err)
		}
		at := off
		sum := binary.LittleEndian.Uint32(hdr[:])
		n := int(binary.LittleEndian.Uint16(hdr[4:]))
		typ := hdr[6]
		if typ < 1 || typ > 4 {
			return fmt.Errorf("offset %d: chunk type %d", at, typ)
		}
		chunk = slices.Grow(chunk[:0], n)[:n]
		if _, err := io.ReadFull(r, chunk); err != nil {
			return cutShort(err)
		}
		off += logHeaderLen + int64(n)
		if crc32.Update(typeCRC[typ], crc32.IEEETable, chunk) != sum {
			return fmt.Errorf("offset %d: checksum mismatch: the log is damaged from there", at)
		}
		switch typ {
		case 1, 2:
			if inRecord {
				return fmt.Errorf("offset %d: a record begins inside another", at)
			}
			rec = append(rec[:0], chunk...)
			inRecord = typ == 2
		case 3, 4:
			if !inRecord {
				return fmt.Errorf("offset %d: a record continues that did not begin", at)
			}
			rec = append(rec, chunk...)
			inRecord = typ == 3
		}
		if len(rec) > maxRecord {
			return fmt.Errorf("offset %d: a record longer than %d bytes", at, maxRecord)
		}
		if !inRecord {
			if err := each(rec); err != nil {
				return err
			}
		}
	}
}

// cutShort is the end of a log whose last chunk was being written: no
// error, unless reading failed.
func cutShort(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return nil
	}
	return err
}

// field is one field of a protocol buffer message: its number, and its
// varint or its bytes.
type field struct {
	num   int
	wire  int
	v     uint64
	bytes []byte
}

// fields splits message m into its fields.
func fields(m []byte) ([]field, error) {
	var out []field
	for len(m) > 0 {
		key, n := binary.Uvarint(m)
		if n <= 0 {
			return nil, io.ErrUnexpectedEOF
		}
		m = m[n:]
		f := field{num: int(key >> 3), wire: int(key & 7)}
		switch f.wire {
		case 0:
			f.v, n = binary.Uvarint(m)
			if n <= 0 {
				return nil, io.ErrUnexpectedEOF
			}
			m = m[n:]
		case 1:
			if len(m) < 8 {
				return nil, io.ErrUnexpectedEOF
			}
			f.v, m = binary.LittleEndian.Uint64(m), m[8:]
		case 2:
			l, n := binary.Uvarint(m)
			if n <= 0 || l > uint64(len(m)-n) {
				return nil, io.ErrUnexpectedEOF
			}
			f.bytes, m = m[n:n+int(l)], m[n+int(l):]
		case 5:
			if len(m) < 4 {
				return nil, io.ErrUnexpectedEOF
			}
			f.v, m = uint64(binary.LittleEndian.Uint32(m)), m[4:]
		default:
			return nil, fmt.Errorf("wire type %d", f.wire)
		}
		if f.num == 0 {
			return nil, errors.New("field number 0")
		}
		out = append(out, f)
	}
	return out, nil
}

// The field numbers of wandb_internal.proto that an import reads.
const (
	recHistory = 2  // Record.history: HistoryRecord
	recSummary = 3  // Record.summary: SummaryRecord
	recConfig  = 5  // Record.config: ConfigRecord
	recRun     = 17 // Record.run: RunRecord
	recExit    = 18 // Record.exit: RunExitRecord

	// HistoryRecord: item 1 (HistoryItem), step 2 (HistoryStep: num 1).
	// HistoryItem, ConfigItem and SummaryItem: key 1, nested_key 2,
	// value_json 16. ConfigRecord and SummaryRecord: update 1, remove 2.

	runID          = 1  // RunRecord.run_id
	runEntity      = 2  // RunRecord.entity
	runProject     = 3  // RunRecord.project
	runConfig      = 4  // RunRecord.config
	runGroup       = 6  // RunRecord.run_group
	runJobType     = 7  // RunRecord.job_type
	runDisplayName = 8  // RunRecord.display_name
	runNotes       = 9  // RunRecord.notes
	runTags        = 10 // RunRecord.tags
	runHost        = 13 // RunRecord.host
	runStartTime   = 17 // RunRecord.start_time: Timestamp (seconds 1, nanos 2)
	runGit         = 21 // RunRecord.git: GitRepoRecord (remote_url 1, commit 2)

	exitCode    = 1 // RunExitRecord.exit_code
	exitRuntime = 2 // RunExitRecord.runtime, seconds
)

// item is a HistoryItem, ConfigItem or SummaryItem: a key (nested_key
// joined by "." when key is empty) and its value as JSON.
type item struct {
	key, valueJSON string
}

func parseItem(b []byte) (item, error) {
	fs, err := fields(b)
	if err != nil {
		return item{}, err
	}
	var it item
	var nested []string
	for _, f := range fs {
		switch f.num {
		case 1:
			it.key = string(f.bytes)
		case 2:
			nested = append(nested, string(f.bytes))
		case 16:
			it.valueJSON = string(f.bytes)
		}
	}
	if it.key == "" && len(nested) > 0 {
		for i, k := range nested {
			if i > 0 {
				it.key += "."
			}
			it.key += k
		}
	}
	return it, nil
}

// items reads the repeated items of field num of message b.
func items(b []byte, num int) ([]item, error) {
	fs, err := fields(b)
	if err != nil {
		return nil, err
	}
	var out []item
	for _, f := range fs {
		if f.num == num && f.wire == 2 {
			it, err := parseItem(f.bytes)
			if err != nil {
				return nil, err
			}
			out = append(out, it)
		}
	}
	return out, nil
}
