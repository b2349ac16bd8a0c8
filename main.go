// Command bulkhead provisions isolated Kubernetes workspaces for researchers
// and teams, issues their expiring credentials and proves their isolation.
package main

import (
	"context"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"

	"github.com/bulkhead-dev/bulkhead/internal/cli"
)

// memoryLimit is the heap size past which the garbage collector works
// harder (GOMEMLIMIT overrides it): applying ten thousand tenants streams
// hundreds of megabytes of LIST pages through memory that only a few pages
// at a time need to hold.
const memoryLimit = 384 << 20

func main() {
	if _, set := os.LookupEnv("GOMEMLIMIT"); !set {
		debug.SetMemoryLimit(memoryLimit)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.RunAs(ctx, cli.Streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}, cli.Name(os.Args[0]), os.Args[1:])
	stop()
	os.Exit(cli.ExitCode(err))
}
