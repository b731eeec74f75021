package merger

import (
	"os"
	"testing"
)

func TestMain(m *testing.M) {
	code := m.Run()
	tearDownBench()
	os.Exit(code)
}
