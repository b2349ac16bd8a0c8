package cli

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/apply"
	"github.com/bulkhead-dev/bulkhead/internal/credentials"
	"github.com/bulkhead-dev/bulkhead/internal/kubeconfig"
)

type kubeconfigOptions struct {
	tenant       string
	member       string
	ttl          time.Duration
	output       string
	force        bool
	legacy       bool
	server       string
	caFile       string
	tokenTimeout time.Duration
}

func newKubeconfigCmd(s Streams, f *factory) *cobra.Command {
	o := &kubeconfigOptions{}
	cmd := &cobra.Command{
		Use:   "kubeconfig TENANT",
		Short: "Issue a kubeconfig with an expiring token for a member of a tenant",
		Long: `Issue a kubeconfig for one ServiceAccount member of a tenant. By default the token
is a bound, expiring token from the TokenRequest API; --legacy-token creates the
hand procedure's Secret-based token instead, which never expires until revoked.
The server and CA come from your own kubeconfig's current context.`,
		Example: `  # A 24-hour kubeconfig for bob's only ServiceAccount, written with mode 0600
  bulkhead kubeconfig bob -o bob.kubeconfig

  # An 8-hour one for a named member of a team, to standard output
  bulkhead kubeconfig vision --member pipeline --ttl 8h`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			o.tenant = a[0]
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd, s, f)
		},
	}
	cmd.Flags().StringVar(&o.member, "member", "", "the ServiceAccount member (default: the tenant's only ServiceAccount member)")
	cmd.Flags().DurationVar(&o.ttl, "ttl", 24*time.Hour, "token lifetime (at least 10m; the API server may cap it)")
	cmd.Flags().StringVarP(&o.output, "output-file", "o", "", "write the kubeconfig to this file (mode 0600) instead of standard output")
	cmd.Flags().BoolVar(&o.force, "force", false, "overwrite the output file if it exists")
	cmd.Flags().BoolVar(&o.legacy, "legacy-token", false, "use a never-expiring Secret-based token (kubernetes.io/service-account-token)")
	cmd.Flags().StringVar(&o.server, "server", "", "API server URL to put in the kubeconfig (default: your context's server)")
	cmd.Flags().StringVar(&o.caFile, "certificate-authority", "", "CA bundle to put in the kubeconfig (default: your context's CA)")
	cmd.Flags().DurationVar(&o.tokenTimeout, "token-timeout", 30*time.Second, "with --legacy-token: how long to wait for the token controller")
	return cmd
}

func (o *kubeconfigOptions) validate() error {
	if o.legacy && o.ttl != 24*time.Hour {
		return invalid("--ttl does not apply to --legacy-token: Secret-based tokens never expire")
	}
	if !o.legacy && o.ttl < credentials.MinTTL {
		return invalid("--ttl %s is below the API server's minimum of %s", o.ttl, credentials.MinTTL)
	}
	if o.output != "" && !o.force {
		if _, err := os.Lstat(o.output); err == nil {
			return invalid("%s exists: pass --force to overwrite it", o.output)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return invalid("%v", err)
		}
	}
	return nil
}

func (o *kubeconfigOptions) run(cmd *cobra.Command, s Streams, f *factory) error {
	ctx := cmd.Context()
	client, cfg, err := f.client()
	if err != nil {
		return err
	}
	ts, err := apply.Discover(ctx, client, o.tenant)
	if err != nil {
		return err
	}
	if len(ts) == 0 {
		return fmt.Errorf("tenant %q is not on this cluster: run `bulkhead apply -f SPEC` first", o.tenant)
	}
	t := ts[0]
	sa, err := o.pickMember(t)
	if err != nil {
		return err
	}
	name, err := f.clusterName()
	if err != nil {
		return err
	}
	cl, err := kubeconfig.ClusterFromREST(name, cfg)
	if err != nil {
		return err
	}
	if o.server != "" {
		cl.Server = o.server
	}
	if o.caFile != "" {
		if cl.CAData, err = os.ReadFile(o.caFile); err != nil {
			return invalid("read --certificate-authority: %v", err)
		}
	}

	var tok credentials.Token
	if o.legacy {
		fmt.Fprintf(s.ErrOut, "waiting for the token controller to fill secret %s in %s...\n", credentials.LegacySecretName(sa), t.Spec.Namespace)
		tok, err = credentials.Legacy(ctx, client.CoreV1(), t.Name, t.Spec.Namespace, sa, o.tokenTimeout)
	} else {
		tok, err = credentials.Request(ctx, client.CoreV1(), t.Spec.Namespace, sa, o.ttl)
	}
	if err != nil {
		return err
	}
	kc := kubeconfig.ForToken(cl, sa+"@"+t.Name, t.Spec.Namespace, tok.Value)

	what := "a token that never expires (secret " + tok.Secret + "; revoke by deleting it)"
	if !tok.Expires.IsZero() {
		what = "a token that expires " + tok.Expires.UTC().Format(time.RFC3339)
	}
	if o.output == "" {
		data, err := kubeconfig.Encode(kc)
		if err != nil {
			return err
		}
		if _, err := s.Out.Write(data); err != nil {
			return err
		}
		fmt.Fprintf(s.ErrOut, "kubeconfig for serviceaccount %s in %s with %s\n", sa, t.Spec.Namespace, what)
		return nil
	}
	if err := kubeconfig.WriteFile(kc, o.output, o.force); err != nil {
		if errors.Is(err, kubeconfig.ErrExists) {
			return &exitError{code: ExitInvalid, err: err}
		}
		return err
	}
	fmt.Fprintf(s.ErrOut, "wrote %s for serviceaccount %s in %s with %s\n", o.output, sa, t.Spec.Namespace, what)
	return nil
}

// pickMember returns the ServiceAccount to issue for: --member, or the only one.
func (o *kubeconfigOptions) pickMember(t v1alpha1.Tenant) (string, error) {
	var sas []string
	for _, m := range t.Spec.Members {
		if m.Name == o.member && m.Kind != v1alpha1.ServiceAccountMember {
			return "", invalid("member %q of tenant %s is a %s: bulkhead issues tokens only for ServiceAccount members; %ss sign in through the cluster's identity provider", m.Name, t.Name, m.Kind, strings.ToLower(string(m.Kind)))
		}
		if m.Kind == v1alpha1.ServiceAccountMember {
			if m.Name == o.member {
				return m.Name, nil
			}
			sas = append(sas, m.Name)
		}
	}
	switch {
	case o.member != "":
		return "", invalid("tenant %s has no member %q; its ServiceAccount members: %s", t.Name, o.member, listOrNone(sas))
	case len(sas) == 1:
		return sas[0], nil
	case len(sas) == 0:
		return "", invalid("tenant %s has no ServiceAccount member to issue a token for", t.Name)
	}
	return "", invalid("tenant %s has several ServiceAccount members (%s): choose one with --member", t.Name, strings.Join(sas, ", "))
}

func listOrNone(s []string) string {
	if len(s) == 0 {
		return "none"
	}
	return strings.Join(s, ", ")
}
