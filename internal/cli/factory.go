package cli

import (
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
)

// factory turns the global --kubeconfig and --context flags into clients,
// with kubectl's rules: --kubeconfig, else $KUBECONFIG, else ~/.kube/config.
type factory struct {
	kubeconfig string
	context    string
}

func (f *factory) addFlags(cmd *cobra.Command) {
	cmd.PersistentFlags().StringVar(&f.kubeconfig, "kubeconfig", "", "path to the kubeconfig file (default: $KUBECONFIG or ~/.kube/config)")
	cmd.PersistentFlags().StringVar(&f.context, "context", "", "the kubeconfig context to use (default: the current context)")
}

func (f *factory) clientConfig() clientcmd.ClientConfig {
	rules := clientcmd.NewDefaultClientConfigLoadingRules()
	rules.ExplicitPath = f.kubeconfig
	return clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: f.context})
}

// restConfig is the admin's configuration, tuned for bulk work: client-go's
// default of 5 requests per second would make a thousand tenants take minutes.
func (f *factory) restConfig() (*rest.Config, error) {
	cfg, err := f.clientConfig().ClientConfig()
	if err != nil {
		return nil, fmt.Errorf("load kubeconfig: %w (set --kubeconfig, $KUBECONFIG or --context)", err)
	}
	cfg.QPS, cfg.Burst = 1000, 2000
	cfg.UserAgent = "bulkhead"
	return cfg, nil
}

// clusterName is the name of the cluster the chosen context points at.
func (f *factory) clusterName() (string, error) {
	raw, err := f.clientConfig().RawConfig()
	if err != nil {
		return "", fmt.Errorf("load kubeconfig: %w", err)
	}
	name := f.context
	if name == "" {
		name = raw.CurrentContext
	}
	if c, ok := raw.Contexts[name]; ok && c.Cluster != "" {
		return c.Cluster, nil
	}
	return "kubernetes", nil
}

// client returns a typed clientset that speaks protobuf, the cheapest encoding
// for the client and the server; JSON at -v 8 and above, where client-go logs
// bodies, so that they can be read (and credentials.LogFilter can see what
// to leave out: it drops hex dumps of protobuf bodies).
func (f *factory) client() (kubernetes.Interface, *rest.Config, error) {
	cfg, err := f.restConfig()
	if err != nil {
		return nil, nil, err
	}
	pb := rest.CopyConfig(cfg)
	if klog.V(8).Enabled() {
		pb.ContentType = "application/json"
		pb.AcceptContentTypes = "application/json"
		c, err := kubernetes.NewForConfig(pb)
		return c, cfg, err
	}
	pb.ContentType = "application/vnd.kubernetes.protobuf"
	pb.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	c, err := kubernetes.NewForConfig(pb)
	if err != nil {
		return nil, nil, err
	}
	return c, cfg, nil
}
