package localcluster

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// mainModule identifies the repository's go.mod; hack/tools has its own
// go.mod, which must not be mistaken for the repo root.
const mainModule = "github.com/bulkhead-dev/bulkhead"

// Names of the executables Start needs; also the names of their log files.
const (
	etcdName = "etcd"
	apiName  = "kube-apiserver"
	kcmName  = "kube-controller-manager"
)

// binaryNames lists the executables in start order.
func binaryNames() []string { return []string{etcdName, apiName, kcmName} }

// Options configure Start.
type Options struct {
	// BinDir holds etcd, kube-apiserver and kube-controller-manager.
	// Default: $BULKHEAD_BIN_DIR, else <repo>/.cache/bin where <repo> is
	// found by walking up from the working directory to go.mod.
	BinDir string
	// DataDir receives certificates, etcd data, logs and admin.kubeconfig.
	// Required. Start wipes what it previously put there (a new cluster
	// every time), but leaves other files alone.
	DataDir string
	// Detach starts the processes in their own session so they outlive the
	// caller (make cluster-up); their pids go to DataDir/pids for
	// StopDetached.
	Detach bool
	// Log receives progress lines; may be nil.
	Log io.Writer
}

// withDefaults validates o and fills in BinDir, checking the binaries exist
// so a missing build fails with instructions instead of an exec error.
func (o Options) withDefaults() (Options, error) {
	if o.DataDir == "" {
		return o, errors.New("localcluster: Options.DataDir is required (e.g. t.TempDir() or .local/cluster)")
	}
	dataDir, err := filepath.Abs(o.DataDir)
	if err != nil {
		return o, fmt.Errorf("localcluster: resolve data dir: %w", err)
	}
	o.DataDir = dataDir
	if o.Log == nil {
		o.Log = io.Discard
	}
	if o.BinDir == "" {
		o.BinDir, err = DefaultBinDir()
		if err != nil {
			return o, err
		}
	}
	if o.BinDir, err = filepath.Abs(o.BinDir); err != nil {
		return o, fmt.Errorf("localcluster: resolve bin dir: %w", err)
	}
	if err := CheckBinaries(o.BinDir); err != nil {
		return o, err
	}
	return o, nil
}

// DefaultBinDir returns $BULKHEAD_BIN_DIR or <repo>/.cache/bin.
func DefaultBinDir() (string, error) {
	if d := os.Getenv("BULKHEAD_BIN_DIR"); d != "" {
		return d, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, ".cache", "bin"), nil
}

// CheckBinaries reports which control-plane binaries are missing from binDir.
func CheckBinaries(binDir string) error {
	var missing []string
	for _, b := range binaryNames() {
		fi, err := os.Stat(filepath.Join(binDir, b))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			missing = append(missing, b)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("localcluster: %s missing from %s: run hack/build-control-plane.sh (or set BULKHEAD_BIN_DIR)",
			strings.Join(missing, ", "), binDir)
	}
	return nil
}

// RepoRoot walks up from the working directory to the directory whose go.mod
// declares the bulkhead module.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("localcluster: get working directory: %w", err)
	}
	for {
		if isMainModule(filepath.Join(dir, "go.mod")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("localcluster: no go.mod for %s above the working directory: run from inside the repo or set BULKHEAD_BIN_DIR", mainModule)
		}
		dir = parent
	}
}

func isMainModule(goMod string) bool {
	f, err := os.Open(goMod)
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if fields := strings.Fields(s.Text()); len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == mainModule
		}
	}
	return false
}

// TestBinaries is the one check every test that needs a control plane
// makes: nil when the binaries are built; otherwise the problem, and
// whether the test may skip: only outside CI and when the developer asked
// with BULKHEAD_SKIP_E2E=1, since a silently skipped test looks exactly like
// a passing one.
func TestBinaries() (mayskip bool, err error) {
	binDir, err := DefaultBinDir()
	if err == nil {
		err = CheckBinaries(binDir)
	}
	if err == nil {
		return false, nil
	}
	_, inCI := os.LookupEnv("CI")
	return !inCI && os.Getenv("BULKHEAD_SKIP_E2E") == "1", err
}
