package memstore_test

import (
	"testing"

	"github.com/gitruns/gitruns/run/memstore"
	"github.com/gitruns/gitruns/run/storetest"
	"github.com/gitruns/gitruns/run/tracker"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) tracker.Store { return memstore.New(t.TempDir()) })
}

func TestExperimentConformance(t *testing.T) {
	// A store in memory holds only what it encoded: it has no unreadable
	// experiment to list.
	storetest.RunExperiments(t, func(t *testing.T) tracker.Store { return memstore.New(t.TempDir()) }, nil)
}
