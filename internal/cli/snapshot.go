package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/bulkhead-dev/bulkhead/internal/audit"
)

// snapshotOptions are the flags of the verbs that read access objects
// (audit, who-can, can): from the cluster, or from manifests with -f.
type snapshotOptions struct {
	files          []string
	tenants        []string
	tenantSelector string
	quiet          bool // no progress line (who-can and can print only their answer)
}

func (o *snapshotOptions) addFlags(cmd *cobra.Command) {
	cmd.Flags().StringSliceVarP(&o.files, "filename", "f", nil, "manifests (RBAC objects, Namespaces, ServiceAccounts, Secrets, Lists, Tenant specs): files, directories or - for stdin; default: read the cluster")
}

// addTenantFlags registers the flags that say which namespaces are tenants.
func (o *snapshotOptions) addTenantFlags(cmd *cobra.Command) {
	cmd.Flags().StringSliceVar(&o.tenants, "tenants", nil, "the namespaces that are tenants (default: the namespaces bulkhead manages, or else every non-system namespace)")
	cmd.Flags().StringVar(&o.tenantSelector, "tenant-selector", "", "a label selector choosing the tenant namespaces, e.g. team=ml")
}

func (o *snapshotOptions) validate() (labels.Selector, error) {
	if o.tenantSelector == "" {
		return nil, nil
	}
	if len(o.tenants) > 0 {
		return nil, invalid("give --tenants or --tenant-selector, not both")
	}
	sel, err := labels.Parse(o.tenantSelector)
	if err != nil {
		return nil, invalid("--tenant-selector: %v", err)
	}
	return sel, nil
}

// load reads the snapshot and picks the tenants; progress goes to stderr.
func (o *snapshotOptions) load(ctx context.Context, s Streams, f *factory) (*audit.Snapshot, []audit.Tenant, error) {
	sel, err := o.validate()
	if err != nil {
		return nil, nil, err
	}
	start := time.Now()
	var snap *audit.Snapshot
	if len(o.files) > 0 {
		var ignored audit.Ignored
		snap, ignored, err = audit.ReadFiles(o.files, s.In)
		if err != nil {
			return nil, nil, err
		}
		if len(ignored) > 0 {
			fmt.Fprintf(s.ErrOut, "audit: skipped documents of kinds that grant no access: %s\n", ignored)
		}
	} else {
		client, cfg, err := f.client()
		if err != nil {
			return nil, nil, err
		}
		var warnings []string
		snap, warnings, err = audit.ReadCluster(ctx, client, "cluster "+cfg.Host)
		if err != nil {
			return nil, nil, err
		}
		for _, w := range warnings {
			fmt.Fprintf(s.ErrOut, "warning: %s\n", w)
		}
	}
	from := "the cluster"
	if len(o.files) > 0 {
		from = fmt.Sprintf("%d objects from files, with the API server's bootstrap policy", len(snap.Origins))
	}
	if o.quiet {
		return snap, nil, nil
	}
	fmt.Fprintf(s.ErrOut, "read %s: %d namespaces, %d roles, %d clusterroles, %d rolebindings, %d clusterrolebindings in %s\n",
		from, len(snap.Namespaces), len(snap.Roles), len(snap.ClusterRoles), len(snap.RoleBindings), len(snap.ClusterRoleBindings),
		time.Since(start).Round(time.Millisecond))
	tenants, err := audit.Tenants(snap, audit.TenantOptions{Names: o.tenants, Selector: sel})
	if err != nil {
		return nil, nil, &exitError{code: ExitInvalid, err: err}
	}
	return snap, tenants, nil
}

// requireTenants refuses to audit nothing: a selector typo must not pass.
func (o *snapshotOptions) requireTenants(s Streams, tenants []audit.Tenant) error {
	if len(tenants) == 0 {
		if o.tenantSelector != "" {
			return invalid("no namespace matches --tenant-selector %q", o.tenantSelector)
		}
		return invalid("no tenants: the input has no namespace bulkhead manages and none besides default and kube-*; name them with --tenants")
	}
	how := "namespaces bulkhead manages"
	switch {
	case len(o.tenants) > 0:
		how = "--tenants"
	case o.tenantSelector != "":
		how = "--tenant-selector " + o.tenantSelector
	case !tenants[0].Managed:
		how = "every namespace but default and kube-*; bulkhead manages none"
	}
	names := make([]string, len(tenants))
	for i, t := range tenants {
		names[i] = t.Namespace
	}
	noun := "tenants"
	if len(tenants) == 1 {
		noun = "tenant"
	}
	fmt.Fprintf(s.ErrOut, "auditing %d %s (%s): %s\n", len(tenants), noun, how, audit.Abbreviate(names, 8))
	return nil
}

func joinOr(list []string) string {
	return strings.Join(list[:len(list)-1], ", ") + " or " + list[len(list)-1]
}
