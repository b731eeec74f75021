package main

import (
	"testing"

	"gated.dev/gated/deploy/devcluster/devclustertest"
)

// TestMain gives the crash test on the real Argo controller its
// development cluster, and tears it down.
func TestMain(m *testing.M) { devclustertest.Main(m) }
