package cli

import (
	"context"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"

	"github.com/bulkhead-dev/bulkhead/internal/read"
	"github.com/bulkhead-dev/bulkhead/internal/transient"
)

// newRetry returns how a run retries requests that fail transiently: one
// Retrier shared by every request of the run, so that an outage is waited
// out once and, past timeout, every request stops at once. A timeout of 0
// sends each request once.
func newRetry(_ *cobra.Command, timeout time.Duration) read.Retry {
	if timeout == 0 {
		return nil
	}
	r := transient.New(transient.Policy{
		Budget: timeout,
		OnRetry: func(what string, err error, wait time.Duration) {
			klog.V(2).InfoS("retrying", "request", what, "after", wait, "error", err)
		},
	})
	return func(ctx context.Context, fn func(context.Context) error) error {
		return r.Do(ctx, "request", fn)
	}
}
