package registry_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every registry goroutine must be gone when the tests end: Close and
// Deregister wait for theirs, and the tests close the idle HTTP connections
// of every client they create.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
