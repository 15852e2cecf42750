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
