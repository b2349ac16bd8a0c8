// Command cluster starts and stops the local Kubernetes control plane used by
// `make demo` and manual testing (see internal/localcluster for why it exists):
//
//	go run ./hack/cluster up [--data-dir .local/cluster] [--kubeconfig .local/admin.kubeconfig]
//	go run ./hack/cluster status [--data-dir .local/cluster]
//	go run ./hack/cluster down [--data-dir .local/cluster]
//
// `up` prints `export KUBECONFIG=...` on stdout, so `eval "$(go run ./hack/cluster up)"`
// points the shell at the cluster; progress goes to stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/bulkhead-dev/bulkhead/internal/localcluster"
)

const usage = `usage: go run ./hack/cluster <up|status|down> [flags]

  up      start a detached local control plane (no-op if already running)
          and print "export KUBECONFIG=..." on stdout
  status  exit 0 if the cluster is running and ready
  down    stop the cluster started by up
`

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintf(os.Stderr, "cluster: %v\n", err)
		os.Exit(1)
	}
}

type config struct {
	defaultDataDir string
	dataDir        string
	kubeconfig     string
	binDir         string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return errors.New("missing command: use up, status or down")
	}
	cmd := args[0]
	cfg, err := parseFlags(cmd, args[1:], stderr)
	if err != nil {
		return err
	}
	switch cmd {
	case "up":
		return up(ctx, cfg, stdout, stderr)
	case "status":
		if err := localcluster.Running(ctx, cfg.dataDir); err != nil {
			return err
		}
		fmt.Fprintf(stderr, "cluster in %s is running and ready\n", cfg.dataDir)
		return nil
	case "down":
		return down(cfg, stderr)
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q: use up, status or down", cmd)
	}
}

// parseFlags resolves every path to an absolute one: the export line must
// work from any directory, and the detached processes outlive our cwd.
func parseFlags(cmd string, args []string, stderr io.Writer) (config, error) {
	root, err := localcluster.RepoRoot()
	if err != nil {
		return config{}, err
	}
	cfg := config{defaultDataDir: filepath.Join(root, ".local", "cluster")}
	fs := flag.NewFlagSet(cmd, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.dataDir, "data-dir", cfg.defaultDataDir, "directory for certificates, etcd data, logs and pids")
	fs.StringVar(&cfg.kubeconfig, "kubeconfig", filepath.Join(root, ".local", "admin.kubeconfig"), "where up copies the admin kubeconfig")
	fs.StringVar(&cfg.binDir, "bin-dir", "", "directory with etcd, kube-apiserver, kube-controller-manager (default $BULKHEAD_BIN_DIR or <repo>/.cache/bin)")
	if err := fs.Parse(args); err != nil {
		return config{}, err
	}
	if fs.NArg() > 0 {
		return config{}, fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	for _, p := range []*string{&cfg.dataDir, &cfg.kubeconfig} {
		if *p, err = filepath.Abs(*p); err != nil {
			return config{}, fmt.Errorf("resolve %s: %w", *p, err)
		}
	}
	return cfg, nil
}

func up(ctx context.Context, cfg config, stdout, stderr io.Writer) error {
	if err := localcluster.Running(ctx, cfg.dataDir); err == nil {
		fmt.Fprintf(stderr, "cluster in %s is already running\n", cfg.dataDir)
		return publish(cfg, stdout)
	}
	// A pids file without a healthy cluster behind it is left over from a
	// crash or reboot; clear whatever part of it still runs and start over.
	if _, err := os.Stat(filepath.Join(cfg.dataDir, "pids")); err == nil {
		fmt.Fprintf(stderr, "stopping unhealthy cluster left in %s\n", cfg.dataDir)
		if err := localcluster.StopDetached(cfg.dataDir); err != nil {
			return err
		}
	}
	if _, err := localcluster.Start(ctx, localcluster.Options{
		BinDir:  cfg.binDir,
		DataDir: cfg.dataDir,
		Detach:  true,
		Log:     stderr,
	}); err != nil {
		return err
	}
	stopCmd := "go run ./hack/cluster down"
	if cfg.dataDir != cfg.defaultDataDir {
		stopCmd += " --data-dir " + cfg.dataDir
	}
	fmt.Fprintf(stderr, "stop it with: %s\n", stopCmd)
	return publish(cfg, stdout)
}

// publish copies the admin kubeconfig to its well-known place and prints the
// export line for the shell.
func publish(cfg config, stdout io.Writer) error {
	data, err := os.ReadFile(filepath.Join(cfg.dataDir, "admin.kubeconfig"))
	if err != nil {
		return fmt.Errorf("read admin kubeconfig: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(cfg.kubeconfig), 0o755); err != nil {
		return fmt.Errorf("create kubeconfig dir: %w", err)
	}
	// 0600: the file holds a system:masters client key.
	if err := os.WriteFile(cfg.kubeconfig, data, 0o600); err != nil {
		return fmt.Errorf("copy admin kubeconfig: %w", err)
	}
	fmt.Fprintf(stdout, "export KUBECONFIG=%s\n", cfg.kubeconfig)
	return nil
}

func down(cfg config, stderr io.Writer) error {
	if _, err := os.Stat(filepath.Join(cfg.dataDir, "pids")); errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stderr, "no cluster running in %s\n", cfg.dataDir)
		return nil
	}
	if err := localcluster.StopDetached(cfg.dataDir); err != nil {
		return err
	}
	fmt.Fprintf(stderr, "cluster in %s stopped\n", cfg.dataDir)
	return nil
}
