//go:build unix

package mlflow

import "syscall"

// oNoFollow makes opening a symbolic link fail: a store's files are read
// only where they are.
const oNoFollow = syscall.O_NOFOLLOW
