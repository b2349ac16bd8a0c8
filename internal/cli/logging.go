package cli

import (
	"flag"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
)

// logging wires client-go's logs (klog) to the -v flag: silent by default,
// so an unreachable API server does not add client-go's own lines to
// bulkhead's summary; on stderr at -v 1 and above, requests at -v 6 and
// above, as kubectl does. klog's state is process-wide, so only the CLI
// sets it.
type logging struct {
	verbosity int
}

func (l *logging) addFlags(cmd *cobra.Command) {
	cmd.PersistentFlags().IntVarP(&l.verbosity, "v", "v", 0, "log verbosity, 0-9 (6: every API request, 8: with bodies); logs go to stderr")
}

// setup applies -v before a command runs.
func (l *logging) setup(stderr io.Writer) error {
	if l.verbosity < 0 || l.verbosity > 9 {
		return invalid("-v %d is out of range: use 0 to 9", l.verbosity)
	}
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	set := func(name, value string) error {
		if err := fs.Set(name, value); err != nil {
			return fmt.Errorf("configure logging: %w", err)
		}
		return nil
	}
	if err := set("logtostderr", "false"); err != nil {
		return err
	}
	if err := set("alsologtostderr", "false"); err != nil {
		return err
	}
	if err := set("v", fmt.Sprint(l.verbosity)); err != nil {
		return err
	}
	if l.verbosity == 0 {
		klog.SetOutput(io.Discard)
		return set("stderrthreshold", "FATAL")
	}
	klog.SetOutput(stderr)
	return nil
}
