package cli

import (
	"flag"
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/bulkhead-dev/bulkhead/internal/credentials"
)

// logging wires client-go's and controller-runtime's logs (klog) to the -v
// flag: silent by default, so an unreachable API server does not add
// client-go's own lines to bulkhead's summary; on stderr at -v 1 and above,
// requests at -v 6 and above, bodies at -v 8, as kubectl does. Every line
// goes through credentials.LogFilter, so no verbosity shows a token. klog's
// state is process-wide, so only the CLI sets it.
type logging struct {
	verbosity int
}

// logsAlways is the annotation of a command that logs at every verbosity,
// -v 0 included: a daemon says what it does.
const logsAlways = "bulkhead.dev/logs-always"

func (l *logging) addFlags(cmd *cobra.Command) {
	cmd.PersistentFlags().IntVarP(&l.verbosity, "v", "v", 0, "log verbosity, 0-9 (6: every API request, 8: with bodies, credentials left out); logs go to stderr")
}

// setup applies -v before cmd runs.
func (l *logging) setup(cmd *cobra.Command, stderr io.Writer) error {
	if l.verbosity < 0 || l.verbosity > 9 {
		return invalid("-v %d is out of range: use 0 to 9", l.verbosity)
	}
	fs := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(fs)
	for _, kv := range [][2]string{
		// Everything goes to the filtered writer below, once: klog writes
		// entries at or above stderrthreshold to os.Stderr directly, and
		// without one_output an error three times (ERROR, WARNING, INFO).
		{"logtostderr", "false"},
		{"alsologtostderr", "false"},
		{"stderrthreshold", "FATAL"},
		{"one_output", "true"},
		{"v", fmt.Sprint(l.verbosity)},
	} {
		if err := fs.Set(kv[0], kv[1]); err != nil {
			return fmt.Errorf("configure logging: %w", err)
		}
	}
	if l.verbosity == 0 && cmd.Annotations[logsAlways] == "" {
		klog.SetOutput(io.Discard)
		return nil
	}
	klog.SetOutput(credentials.LogFilter(stderr))
	return nil
}
