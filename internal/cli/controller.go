package cli

import (
	"os"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/klog/v2"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/bulkhead-dev/bulkhead/internal/controller"
)

type controllerOptions struct {
	controller.Options
}

func newControllerCmd(s Streams, f *factory) *cobra.Command {
	o := &controllerOptions{}
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Reconcile Tenant objects continuously (runs in the cluster, or beside it with --kubeconfig)",
		Long: `Run bulkhead as a controller: every Tenant object (tenants.bulkhead.dev) is
reconciled with the same core as bulkhead apply, drift of the objects it made
is put back within seconds, each tenant is verified with SubjectAccessReviews
after every change and every --verify-interval, and the audit runs over the
informer cache after RBAC changes. Status, Events and metrics say what it found.

The controller leaves tenants applied by the CLI alone, and the CLI refuses
the controller's. Deleting a Tenant offboards it (credentials revoked,
bindings removed, namespace cordoned with its data kept, unless
spec.deletionPolicy is Delete). In a cluster it uses the in-cluster
configuration; install it with bulkhead install.`,
		Example: `  # Beside a cluster, with the current kubeconfig context
  bulkhead controller --metrics-bind-address=:8080

  # As the install manifests run it
  bulkhead controller --leader-elect --metrics-bind-address=:8080 --health-probe-bind-address=:8081`,
		Args: args(cobra.NoArgs),
		// A daemon logs what it does: to stderr at every -v.
		Annotations: map[string]string{logsAlways: "true"},
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := o.validate(); err != nil {
				return err
			}
			cfg, err := f.restConfig()
			if err != nil {
				return err
			}
			cmd.SilenceUsage = true
			// klog's output is set up by the root command (logsAlways).
			ctrl.SetLogger(klog.NewKlogr())
			return controller.Run(cmd.Context(), cfg, o.Options)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&o.MetricsAddr, "metrics-bind-address", ":8080", `address of the Prometheus metrics endpoint; "0" turns it off`)
	fl.StringVar(&o.ProbeAddr, "health-probe-bind-address", ":8081", `address of /healthz and /readyz; "0" turns them off`)
	fl.StringVar(&o.PprofAddr, "pprof-bind-address", "0", `address of Go's pprof endpoints (/debug/pprof/); "0" turns them off`)
	fl.BoolVar(&o.LeaderElect, "leader-elect", false, "elect a leader among replicas through a Lease; only the leader reconciles")
	fl.StringVar(&o.LeaderElectionNamespace, "leader-election-namespace", envOr("POD_NAMESPACE", "bulkhead-system"),
		"namespace of the leader election Lease; $POD_NAMESPACE when set")
	fl.DurationVar(&o.VerifyInterval, "verify-interval", controller.DefaultVerifyInterval,
		"how often a tenant nothing changed in is verified again (it is always verified after a change)")
	fl.IntVar(&o.VerifyOthers, "verify-others", controller.DefaultVerifyOthers, "how many other tenants' namespaces each member is checked against")
	fl.IntVar(&o.Workers, "concurrency", controller.DefaultWorkers, "how many Tenants are reconciled at once")
	fl.DurationVar(&o.AuditDebounce, "audit-debounce", 2*time.Second, "quiet time after an RBAC change before the continuous audit runs; negative turns it off")
	return cmd
}

func (o *controllerOptions) validate() error {
	if o.VerifyInterval < time.Minute {
		return invalid("--verify-interval must be at least 1m, got %s", o.VerifyInterval)
	}
	if o.VerifyOthers < 0 {
		return invalid("--verify-others must not be negative, got %d", o.VerifyOthers)
	}
	if o.Workers < 1 {
		return invalid("--concurrency must be at least 1, got %d", o.Workers)
	}
	return nil
}

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
