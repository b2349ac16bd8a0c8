// Command bulkhead provisions isolated Kubernetes workspaces for researchers
// and teams, issues their expiring credentials and proves their isolation.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/bulkhead-dev/bulkhead/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := cli.RunAs(ctx, cli.Streams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}, cli.Name(os.Args[0]), os.Args[1:])
	stop()
	os.Exit(cli.ExitCode(err))
}
