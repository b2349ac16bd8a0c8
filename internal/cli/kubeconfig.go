package cli

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/apply"
	"github.com/bulkhead-dev/bulkhead/internal/credentials"
	"github.com/bulkhead-dev/bulkhead/internal/kubeconfig"
	"github.com/bulkhead-dev/bulkhead/internal/spec"
)

type kubeconfigOptions struct {
	tenant       string
	member       string
	ttl          time.Duration
	ttlSet       bool
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
The server and CA come from your own kubeconfig's current context; a
context that skips TLS verification (insecure-skip-tls-verify) is refused
unless --certificate-authority is given: a member's kubeconfig always
verifies the server. The -o path is checked before any token is requested.

A bound token lives at most the tenant's maximum token lifetime,
spec.credentials.maxTokenTTL of the tenant or its TenantDefaults (168h unless
raised, at most 8760h): a longer --ttl is refused, and the default of 24h is
shortened to a smaller maximum. The check is bulkhead's own, made before any
token is requested, whatever the API server would allow.`,
		Example: `  # A 24-hour kubeconfig for bob's only ServiceAccount, written with mode 0600
  bulkhead kubeconfig bob -o bob.kubeconfig

  # An 8-hour one for a named member of a team, to standard output
  bulkhead kubeconfig vision --member pipeline --ttl 8h`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			o.tenant = a[0]
			o.ttlSet = cmd.Flags().Changed("ttl")
			if err := o.validate(); err != nil {
				return err
			}
			return o.run(cmd, s, f)
		},
	}
	cmd.Flags().StringVar(&o.member, "member", "", "the ServiceAccount member (default: the tenant's only ServiceAccount member)")
	cmd.Flags().DurationVar(&o.ttl, "ttl", defaultTTL, "token lifetime: at least 10m, at most the tenant's maximum (spec.credentials.maxTokenTTL, 168h unless raised); the API server may shorten it")
	cmd.Flags().StringVarP(&o.output, "output-file", "o", "", "write the kubeconfig to this file (mode 0600) instead of standard output")
	cmd.Flags().BoolVar(&o.force, "force", false, "overwrite the output file if it exists (never a directory or a symbolic link)")
	cmd.Flags().BoolVar(&o.legacy, "legacy-token", false, "use a never-expiring Secret-based token (kubernetes.io/service-account-token)")
	cmd.Flags().StringVar(&o.server, "server", "", "API server URL to put in the kubeconfig (default: your context's server)")
	cmd.Flags().StringVar(&o.caFile, "certificate-authority", "", "CA bundle to put in the kubeconfig (default: your context's CA)")
	cmd.Flags().DurationVar(&o.tokenTimeout, "token-timeout", 30*time.Second, "with --legacy-token: how long to wait for the token controller")
	return cmd
}

// defaultTTL is --ttl's default: a working day and then some. A tenant
// whose cap is shorter gets the cap instead.
const defaultTTL = 24 * time.Hour

func (o *kubeconfigOptions) validate() error {
	if o.legacy && o.ttlSet {
		return invalid("--ttl does not apply to --legacy-token: Secret-based tokens never expire")
	}
	if !o.legacy && o.ttl < credentials.MinTTL {
		return invalid("--ttl %s is below the API server's minimum of %s", o.ttl, credentials.MinTTL)
	}
	// Checked before a token exists: one issued for a path that cannot be
	// written would be thrown away (and a legacy one would stay valid).
	if o.output != "" {
		return outputError(kubeconfig.CheckPath(o.output, o.force))
	}
	return nil
}

// outputError words a problem with the -o path for the command line.
func outputError(err error) error {
	var pe *kubeconfig.PathError
	switch {
	case !errors.As(err, &pe):
		return err
	case errors.Is(err, kubeconfig.ErrExists):
		return invalid("-o %s exists: pass --force to overwrite it, or choose another path", pe.Path)
	}
	return invalid("-o %w", err)
}

// tokenTTL is the lifetime to ask for: --ttl, unless it exceeds the tenant's
// cap. The default is shortened to the cap (and says so); a --ttl given is
// refused, since the user asked for exactly that.
func (o *kubeconfigOptions) tokenTTL(ns *corev1.Namespace, tenant string, s Streams) (time.Duration, error) {
	max, err := credentials.MaxTTL(ns.Annotations)
	if err != nil {
		return 0, fmt.Errorf("namespace %s of tenant %s: %w", ns.Name, tenant, err)
	}
	if !o.ttlSet && o.ttl > max {
		fmt.Fprintf(s.ErrOut, "tenant %s's tokens live at most %s: issuing one for that long\n", tenant, max)
		return max, nil
	}
	err = credentials.CheckTTL(tenant, o.ttl, max)
	var tooLong *credentials.TTLTooLongError
	if errors.As(err, &tooLong) {
		return 0, invalid("--ttl %s is longer than tenant %s's maximum token lifetime of %s; ask for a shorter --ttl, "+
			"or raise spec.credentials.maxTokenTTL in the tenant or its defaults (at most %s)",
			spec.FormatDuration(o.ttl), tenant, tooLong.Max, spec.FormatDuration(v1alpha1.MaxTokenTTLLimit))
	}
	return o.ttl, err
}

// legacyWarning is what --legacy-token prints on stderr first.
const legacyWarning = "warning: a legacy token never expires and survives the person it is issued to: " +
	"it keeps working after they leave, until you run `bulkhead revoke` or delete its Secret; " +
	"prefer a bound token (without --legacy-token)\n"

func (o *kubeconfigOptions) run(cmd *cobra.Command, s Streams, f *factory) error {
	ctx := cmd.Context()
	if o.legacy {
		fmt.Fprint(s.ErrOut, legacyWarning)
	}
	client, cfg, err := f.client()
	if err != nil {
		return err
	}
	cl, err := o.cluster(f, cfg)
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
	ttl := o.ttl
	if !o.legacy {
		ns, err := client.CoreV1().Namespaces().Get(ctx, t.Spec.Namespace, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("get namespace %s of tenant %s: %w", t.Spec.Namespace, t.Name, err)
		}
		if ttl, err = o.tokenTTL(ns, t.Name, s); err != nil {
			return err
		}
	}

	var tok credentials.Token
	if o.legacy {
		fmt.Fprintf(s.ErrOut, "waiting for the token controller to fill secret %s in %s...\n", credentials.LegacySecretName(sa), t.Spec.Namespace)
		tok, err = credentials.Legacy(ctx, client.CoreV1(), t.Name, t.Spec.Namespace, sa, o.tokenTimeout)
	} else {
		tok, err = credentials.Request(ctx, client.CoreV1(), t.Spec.Namespace, sa, ttl)
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
		return outputError(err)
	}
	fmt.Fprintf(s.ErrOut, "wrote %s for serviceaccount %s in %s with %s\n", o.output, sa, t.Spec.Namespace, what)
	return nil
}

// cluster is where the kubeconfig points: the admin's context, --server and
// --certificate-authority. It is refused before the cluster is contacted
// when the member could reach it only without TLS verification.
func (o *kubeconfigOptions) cluster(f *factory, cfg *rest.Config) (kubeconfig.Cluster, error) {
	name, err := f.clusterName()
	if err != nil {
		return kubeconfig.Cluster{}, err
	}
	cl, err := kubeconfig.ClusterFromREST(name, cfg)
	if err != nil {
		return kubeconfig.Cluster{}, err
	}
	if o.server != "" {
		cl.Server = o.server
	}
	if o.caFile != "" {
		if cl.CAData, err = os.ReadFile(o.caFile); err != nil {
			return kubeconfig.Cluster{}, invalid("read --certificate-authority: %v", err)
		}
	}
	if err := cl.Check(); errors.Is(err, kubeconfig.ErrInsecure) {
		return kubeconfig.Cluster{}, invalid("cluster %s in your kubeconfig skips TLS verification (insecure-skip-tls-verify), which a member's "+
			"kubeconfig never does: pass --certificate-authority FILE with the CA bundle of %s", cl.Name, cl.Server)
	}
	return cl, nil
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
