//go:build !linux

package sysmon

import "time"

// Without /proc there is no process tree or machine to read: only the
// GPUs are sampled.
type tree struct{}

func newTree(pid int) *tree { return nil }

func (t *tree) sample(now time.Time, dst []reading) []reading { return dst }

type host struct{}

func newHost() *host { return &host{} }

func (h *host) sample(now time.Time, dst []reading) []reading { return dst }
