package cli

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/apply"
	"github.com/bulkhead-dev/bulkhead/internal/credentials"
)

func newRevokeCmd(s Streams, f *factory) *cobra.Command {
	var member string
	cmd := &cobra.Command{
		Use:   "revoke TENANT [--member NAME]",
		Short: "Revoke every credential of a tenant's ServiceAccount members now",
		Long: `Deletes the members' token Secrets and their ServiceAccounts, which invalidates
every bound token issued for them, then recreates each ServiceAccount (a new
identity) so new kubeconfigs can be issued. The API server may accept a token
used in the last 10 seconds for up to 10 more seconds (its authentication cache).`,
		Example: `  bulkhead revoke bob
  bulkhead revoke vision --member pipeline`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			ctx := cmd.Context()
			client, _, err := f.client()
			if err != nil {
				return err
			}
			ts, err := apply.Discover(ctx, client, a[0])
			if err != nil {
				return err
			}
			if len(ts) == 0 {
				return fmt.Errorf("tenant %q is not on this cluster", a[0])
			}
			t := ts[0]
			var targets []string
			for _, m := range t.Spec.Members {
				if member != "" && m.Name != member {
					continue
				}
				if m.Kind != v1alpha1.ServiceAccountMember {
					if member != "" {
						return invalid("member %q of tenant %s is a %s: its credentials come from your identity provider; remove it from the spec and run `bulkhead apply -f SPEC` to remove its access", m.Name, t.Name, m.Kind)
					}
					continue
				}
				targets = append(targets, m.Name)
			}
			if len(targets) == 0 {
				return invalid("tenant %s has no ServiceAccount member %q", t.Name, member)
			}
			for _, sa := range targets {
				r, err := credentials.Revoke(ctx, client.CoreV1(), t.Spec.Namespace, sa, v1alpha1.OwnershipLabels(t.Name), true)
				if err != nil {
					return err
				}
				fmt.Fprintf(s.Out, "serviceaccount/%s in %s revoked: %d token secret(s) deleted, every bound token invalid, serviceaccount recreated\n",
					sa, t.Spec.Namespace, len(r.Secrets))
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&member, "member", "", "only this ServiceAccount member (default: all of the tenant's ServiceAccounts)")
	return cmd
}
