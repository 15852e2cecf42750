//go:build unix

package wandb

import "syscall"

// oNoFollow makes opening a symbolic link fail: a run's files are read
// only where they are.
const oNoFollow = syscall.O_NOFOLLOW
