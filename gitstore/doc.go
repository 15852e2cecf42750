// Package gitstore is git-runs' low-level git layer: it finds and opens the
// user's repository, writes and reads objects, and reads and updates refs,
// all in the on-disk formats git itself uses, so that git, and any number of
// git-runs processes, can work on the repository at the same time.
//
// Objects are written as loose objects and read through go-git's object
// storage. Refs are never written through go-git: its reference storage
// does not use git's lock files and can lose refs next to a running
// `git pack-refs`. This package implements git's own protocol instead
// (create <ref>.lock exclusively, check the old value under the lock,
// rename over the ref), which makes compare-and-swap updates safe between
// git-runs processes, goroutines and git. Work-tree snapshots and garbage
// collection are left to the git command, which is faster and honours the
// user's configuration.
//
// A Repo is safe for concurrent use by several goroutines.
package gitstore
