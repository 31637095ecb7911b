package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
)

// builtBinary holds the pmlm binary that the process tests (SIGKILL,
// SIGTERM) run, built once per test binary.
var builtBinary struct {
	once     sync.Once
	dir, bin string
	err      error
	out      []byte
}

// TestMain removes the built binary after the tests.
func TestMain(m *testing.M) {
	code := m.Run()
	if builtBinary.dir != "" {
		os.RemoveAll(builtBinary.dir)
	}
	os.Exit(code)
}

// pmlmBinary builds this command once and returns the binary's path.
func pmlmBinary(t *testing.T) string {
	t.Helper()
	b := &builtBinary
	b.once.Do(func() {
		if b.dir, b.err = os.MkdirTemp("", "pmlm-bin-"); b.err != nil {
			return
		}
		b.bin = filepath.Join(b.dir, "pmlm")
		b.out, b.err = exec.Command("go", "build", "-o", b.bin, ".").CombinedOutput()
	})
	if b.err != nil {
		t.Fatalf("go build: %v\n%s", b.err, b.out)
	}
	return b.bin
}
