package wandb

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"strings"
	"testing"
)

// FuzzReadYAML feeds config.yaml's reader anything: it errs or returns,
// and never panics or loops.
func FuzzReadYAML(f *testing.F) {
	f.Add("lr:\n  desc: null\n  value: 0.1\nsizes:\n  value:\n  - 1\n  - a: 2\n    b: 'x''y'\n")
	f.Add("a: [1, 2]\nb: {}\nc: \"q\\n\"\n- x\n")
	f.Add(strings.Repeat(" ", 3) + "a:\n" + strings.Repeat("  b:\n", 200))
	f.Fuzz(func(t *testing.T, s string) {
		readYAML(s)
	})
}

// FuzzReadLog feeds the record log's reader anything after its header:
// it errs or returns, and never panics.
func FuzzReadLog(f *testing.F) {
	rec := []byte{0x12, 0x03, 0x0a, 0x01, 'x'}
	var chunk bytes.Buffer
	chunk.WriteString(":W&B\xe1\xbe\x00")
	binary.Write(&chunk, binary.LittleEndian, crc32.Update(crc32.ChecksumIEEE([]byte{1}), crc32.IEEETable, rec))
	binary.Write(&chunk, binary.LittleEndian, uint16(len(rec)))
	chunk.WriteByte(1)
	chunk.Write(rec)
	f.Add(chunk.Bytes())
	f.Add([]byte(":W&B\xe1\xbe\x00\x00\x00\x00\x00\xff\xff\x02"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var w wrun
		readLog(data, func(rec []byte) error {
			fs, err := fields(rec)
			if err != nil {
				return err
			}
			for _, f := range fs {
				if f.wire == 2 {
					w.historyRecord(f.bytes)
					w.runRecord(f.bytes, new(map[string]any))
					w.exitRecord(f.bytes)
				}
			}
			return nil
		})
	})
}
