//go:build unix

package kubeconfig

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

func TestWriteFileRefusesNamedPipe(t *testing.T) {
	pipe := filepath.Join(t.TempDir(), "pipe")
	if err := syscall.Mkfifo(pipe, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, overwrite := range []bool{false, true} {
		err := WriteFile(ForToken(testCluster(), "u", "bob", "t"), pipe, overwrite)
		var pe *PathError
		if !errors.As(err, &pe) || err.Error() != pipe+" is not a regular file (a named pipe); choose another path" {
			t.Errorf("overwrite=%t: %v", overwrite, err)
		}
	}
	if entries, _ := os.ReadDir(filepath.Dir(pipe)); len(entries) != 1 {
		t.Errorf("left files behind: %v", entries)
	}
}
