package cli

import (
	"time"

	"github.com/spf13/cobra"

	"github.com/bulkhead-dev/bulkhead/internal/read"
)

// newRetry returns how a run retries requests that fail transiently.
func newRetry(_ *cobra.Command, timeout time.Duration) read.Retry {
	_ = timeout
	return nil
}
