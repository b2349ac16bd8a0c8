// Package crd_test proves the CRDs in config/crd/bases against a real API
// server: every valid spec fixture is accepted, and every invalid one is
// either refused by the schema with the message the table expects, or
// classified as a problem the schema cannot see (the controller's, the
// CLI's, or one that never reaches a server). docs/crd-validation.md is the
// prose form of that table.
package crd_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"sigs.k8s.io/yaml"

	"github.com/bulkhead-dev/bulkhead/internal/localcluster"
)

// crdDir holds the generated CRDs under test.
const crdDir = "../../config/crd/bases"

var crdResource = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// env is the shared cluster with the CRDs installed; nil when the cluster
// tests are skipped (BULKHEAD_SKIP_E2E=1 outside CI).
type env struct {
	dynamic    dynamic.Interface
	mapper     meta.RESTMapper
	kubeconfig string
	cfg        *rest.Config // for the controller of controller-only fixtures
}

var (
	shared     *env
	skipReason string
)

func TestMain(m *testing.M) {
	os.Exit(localcluster.RunTests(m, "crd", func(ctx context.Context, c *localcluster.Cluster) error {
		e, err := install(ctx, c)
		shared = e
		return err
	}, &skipReason))
}

// install creates every CRD of crdDir, waits until each is Established (so
// the API server serves it and has compiled its CEL rules) and returns a
// client with a REST mapper that knows the new kinds.
func install(ctx context.Context, cluster *localcluster.Cluster) (*env, error) {
	cfg := cluster.RESTConfig()
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	files, err := filepath.Glob(filepath.Join(crdDir, "*.yaml"))
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no CRDs in %s (run make generate): %v", crdDir, err)
	}
	var names []string
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		var crd unstructured.Unstructured
		if err := yaml.Unmarshal(data, &crd.Object); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		// A CRD whose CEL rules cost too much is refused here, with the
		// rule named: that is the check that the bounds suffice.
		if _, err := dyn.Resource(crdResource).Create(ctx, &crd, metav1.CreateOptions{}); err != nil {
			return nil, fmt.Errorf("install %s: %w", f, err)
		}
		names = append(names, crd.GetName())
	}
	for _, name := range names {
		err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
			crd, err := dyn.Resource(crdResource).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, err
			}
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			for _, c := range conds {
				c, _ := c.(map[string]any)
				if c["type"] == "Established" && c["status"] == "True" {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			return nil, fmt.Errorf("CRD %s not established: %w", name, err)
		}
	}
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, err
	}
	groups, err := restmapper.GetAPIGroupResources(dc)
	if err != nil {
		return nil, err
	}
	return &env{dynamic: dyn, mapper: restmapper.NewDiscoveryRESTMapper(groups), kubeconfig: cluster.KubeconfigPath(), cfg: cfg}, nil
}

// needCluster skips a test when the cluster was skipped, and returns the
// shared environment.
func needCluster(t *testing.T) *env {
	t.Helper()
	if shared == nil {
		t.Skip(skipReason)
	}
	return shared
}
