// Package cli wires bulkhead's verbs to the packages that do the work. Each
// verb lives in its own small file as a constructor taking its dependencies;
// nothing here holds state between runs, so Run is safe to call from tests.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bulkhead-dev/bulkhead/internal/credentials"
	"github.com/bulkhead-dev/bulkhead/internal/spec"
)

// Streams are where a command reads input and writes output (stdout) and
// progress and errors (stderr).
type Streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// Exit codes, as documented in the README.
const (
	ExitOK      = 0
	ExitFailed  = 1 // the cluster refused, or a check failed
	ExitInvalid = 2 // invalid input or usage
)

// exitError carries an exit code; its message has already been printed when
// silent is set (e.g. verify's report explains its own failure).
type exitError struct {
	code   int
	err    error
	silent bool
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

func invalid(format string, args ...any) error {
	return &exitError{code: ExitInvalid, err: fmt.Errorf(format, args...)}
}

// ExitCode maps an error from Run to the process exit code.
func ExitCode(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	var se *spec.Errors
	if errors.As(err, &se) {
		return ExitInvalid
	}
	return ExitFailed
}

// Run executes bulkhead with args (without the program name). It prints the
// error once, on stderr, and returns it for the exit code.
func Run(ctx context.Context, s Streams, args []string) error {
	return RunAs(ctx, s, "bulkhead", args)
}

// RunAs is Run with the name that help and usage lines show: see Name.
func RunAs(ctx context.Context, s Streams, name string, args []string) error {
	root := newRootCmd(s, name)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err != nil {
		var ee *exitError
		if !errors.As(err, &ee) || !ee.silent {
			fmt.Fprintf(s.ErrOut, "error: %s\n", credentials.Redact(err.Error()))
		}
	}
	return err
}

// Name is the name bulkhead was invoked by, from the program path argv0:
// "kubectl bulkhead" when kubectl runs it as the plugin kubectl-bulkhead
// (krew's naming: a binary kubectl-NAME on the PATH), else "bulkhead".
func Name(argv0 string) string {
	if strings.TrimSuffix(filepath.Base(argv0), ".exe") == "kubectl-bulkhead" {
		return "kubectl bulkhead"
	}
	return "bulkhead"
}

func newRootCmd(s Streams, name string) *cobra.Command {
	f := &factory{}
	root := &cobra.Command{
		Use:   "bulkhead",
		Short: "Isolated, guard-railed Kubernetes workspaces for every researcher and team",
		Long: `bulkhead turns a declarative list of Tenants into isolated namespaces with their
ServiceAccounts, Roles and RoleBindings, issues expiring credentials, and proves
the isolation with each member's own credentials.`,
		SilenceErrors: true,
		SilenceUsage:  true,
		// Help, usage and "See '... --help'" lines start with the display
		// name, so under kubectl they read "kubectl bulkhead apply".
		Annotations: map[string]string{cobra.CommandDisplayNameAnnotation: name},
	}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.ErrOut)
	f.addFlags(root)
	var log logging
	log.addFlags(root)
	root.PersistentPreRunE = func(cmd *cobra.Command, _ []string) error { return log.setup(cmd, s.ErrOut) }
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &exitError{code: ExitInvalid, err: fmt.Errorf("%w\nSee '%s --help'", err, c.CommandPath())}
	})
	root.AddCommand(
		newApplyCmd(s, f),
		newKubeconfigCmd(s, f),
		newVerifyCmd(s, f),
		newRenderCmd(s),
		newPlanCmd(s, f),
		newRevokeCmd(s, f),
		newAuditCmd(s, f),
		newWhoCanCmd(s, f),
		newCanCmd(s, f),
		newInstallCmd(s, f),
		newVersionCmd(s),
		newControllerCmd(s, f),
	)
	return root
}

// args wraps a cobra argument check so that a wrong count exits with 2.
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			return &exitError{code: ExitInvalid, err: fmt.Errorf("%w\nSee '%s --help'", err, cmd.CommandPath())}
		}
		return nil
	}
}
