package tracker_test

import (
	"testing"

	"github.com/gitruns/gitruns/run/tracker"
)

func TestMissingFile(t *testing.T) {
	for _, tc := range []struct{ out, want string }{
		{"Traceback (most recent call last):\n  File \"train.py\", line 3, in <module>\n    open('data/x.csv')\nFileNotFoundError: [Errno 2] No such file or directory: 'data/x.csv'\n", "data/x.csv"},
		{"python3: can't open file '/tmp/w/train.py': [Errno 2] No such file or directory\n", "/tmp/w/train.py"},
		{"cat: data/train.csv: No such file or directory\n", "data/train.csv"},
		{"sh: 1: cannot open data/x.csv: No such file\n", "data/x.csv"},
		{"./run.sh: line 3: data/x.csv: No such file or directory\n", "data/x.csv"},
		{"ls: cannot access 'checkpoints': No such file or directory\n", "checkpoints"},
		{"2026/12/02 error: open data/x.csv: no such file or directory\n", "data/x.csv"},
		{"\x1b[31mFileNotFoundError: [Errno 2] No such file or directory: \"data/y.npy\"\x1b[0m\n", "data/y.npy"},
		{"fopen: No such file or directory\n", "a file"},
		{"epoch 1 loss=0.5\nTraceback...\nValueError: bad shape\n", ""},
		// The last one said is the one that ended the command.
		{"cat: old.txt: No such file or directory\nloss=1\ncat: new.txt: No such file or directory\n", "new.txt"},
		{"", ""},
	} {
		if got := tracker.MissingFile([]byte(tc.out)); got != tc.want {
			t.Errorf("MissingFile(%q) = %q, want %q", tc.out, got, tc.want)
		}
	}
}
