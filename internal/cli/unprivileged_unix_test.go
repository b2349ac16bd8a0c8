//go:build unix

package cli

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// unprivileged returns a directory for the test and, when the test runs as
// root (who writes anywhere), makes the process's effective user nobody
// until the test ends, so that permissions apply: the directory and its
// parent are nobody's. Go changes the effective user of every thread.
func unprivileged(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if os.Geteuid() != 0 {
		return dir
	}
	const nobody = 65534
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chown(d, nobody, nobody); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Setegid(nobody); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Seteuid(nobody); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := syscall.Seteuid(0); err != nil {
			t.Fatalf("back to root: %v", err)
		}
		if err := syscall.Setegid(0); err != nil {
			t.Fatalf("back to root's group: %v", err)
		}
	})
	return dir
}
