package outlog

import (
	"fmt"
	"strings"
	"testing"

	"github.com/gitruns/gitruns/run/secret"
)

// BenchmarkWrite writes the output of cmd/git-runs's BenchmarkExecOutput
// (one metric line in five) in 64 KiB reads, as exec does, without and
// with secret values to redact; secrets are looked for by shape in both.
func BenchmarkWrite(b *testing.B) {
	var sb strings.Builder
	for i := 0; sb.Len() < 4<<20; i++ {
		if i%5 == 0 {
			sb.WriteString("step 12345 loss=0.000123\n")
		} else {
			sb.WriteString("Loaded batch 123456 of 50000 images from /data/train in 3.2s\n")
		}
	}
	text := []byte(sb.String())
	for _, tt := range []struct {
		name string
		red  *secret.Redactor
	}{
		{"none", nil},
		{"env", secret.NewRedactor([]string{"SSH_AUTH_SOCK=/tmp/ssh-XXXXabc/agent.123", "HF_TOKEN=hf_abcdefghijklmnopqrstuvwxyz1234"})},
	} {
		b.Run(tt.name, func(b *testing.B) {
			prefix := b.TempDir() + "/out"
			b.SetBytes(int64(len(text)))
			for b.Loop() {
				o, err := Create(prefix, 1<<30, tt.red)
				if err != nil {
					b.Fatal(err)
				}
				for p := text; len(p) > 0; {
					n := min(64<<10, len(p))
					o.Write(p[:n])
					p = p[n:]
				}
				o.Close()
			}
		})
	}
}

// BenchmarkWriteBars writes 4 MiB of a progress bar redrawn after \r,
// with a metric line every 100 redraws and a line end every 10,000, in
// 64 KiB reads: what is stored is a few lines, the work is finding the
// \r and keeping the last state.
func BenchmarkWriteBars(b *testing.B) {
	var sb strings.Builder
	for i := 0; sb.Len() < 4<<20; i++ {
		fmt.Fprintf(&sb, "\rtrain: %3d%%|%-10s| %d/10000 [00:12<00:34, 812.31it/s]", i%10000/100, strings.Repeat("#", i%10000/1000), i%10000)
		if i%100 == 99 {
			fmt.Fprintf(&sb, "\r%80s\rstep %d loss=0.0123\n", "", i)
		}
		if i%10000 == 9999 {
			sb.WriteString("\n")
		}
	}
	text := []byte(sb.String())
	prefix := b.TempDir() + "/out"
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		o, err := Create(prefix, 1<<30, nil)
		if err != nil {
			b.Fatal(err)
		}
		for p := text; len(p) > 0; {
			n := min(64<<10, len(p))
			o.Write(p[:n])
			p = p[n:]
		}
		o.Close()
	}
}
