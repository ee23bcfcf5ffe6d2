package main

import (
	"testing"

	"go.uber.org/goleak"
)

// The example's goroutines (provider, client, pools, registry watches) have
// all stopped when its run returns.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
