//go:build unix

package kubeconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
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

func TestWriteFileUnwritableDirectory(t *testing.T) {
	dir := filepath.Join(unprivileged(t), "ro")
	if err := os.Mkdir(dir, 0o500); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.Chmod(dir, 0o700) })
	path := filepath.Join(dir, "bob.kubeconfig")
	for _, overwrite := range []bool{false, true} {
		err := WriteFile(ForToken(testCluster(), "u", "bob", "t"), path, overwrite)
		var pe *PathError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), "cannot be written: directory "+dir+" is not writable (permission denied); choose a directory you can write to") {
			t.Errorf("overwrite=%t: %v", overwrite, err)
		}
		if CheckPath(path, overwrite) == nil {
			t.Errorf("CheckPath(overwrite=%t) accepts an unwritable directory", overwrite)
		}
	}
}
