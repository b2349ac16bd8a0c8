package localcluster

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

const (
	pollInterval = 100 * time.Millisecond
	// probeTimeout bounds a single probe so one hung request cannot eat the
	// whole start budget.
	probeTimeout = 5 * time.Second
)

// poll calls check until it reports done, a started process dies, or ctx
// ends. The last check error goes into the timeout message because it
// usually says what is wrong ("connection refused", "403", ...).
func (c *Cluster) poll(ctx context.Context, what string, check func(context.Context) (bool, error)) error {
	fmt.Fprintf(c.opts.Log, "localcluster: waiting for %s\n", what)
	var lastErr error
	t := time.NewTicker(pollInterval)
	defer t.Stop()
	for {
		if err := c.exitedEarly(); err != nil {
			return fmt.Errorf("waiting for %s: %w", what, err)
		}
		probeCtx, cancel := context.WithTimeout(ctx, probeTimeout)
		done, err := check(probeCtx)
		cancel()
		if done {
			return nil
		}
		if err != nil {
			lastErr = err
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("timed out waiting for %s (last error: %v); logs are in %s: %w",
				what, lastErr, c.layout.logDir(), ctx.Err())
		case <-t.C:
		}
	}
}

func (c *Cluster) waitEtcd(ctx context.Context, clientURL string) error {
	client := &http.Client{}
	return c.poll(ctx, "etcd", func(ctx context.Context) (bool, error) {
		body, err := get(ctx, client, clientURL+"/health")
		if err != nil {
			return false, err
		}
		var h struct {
			Health string `json:"health"`
		}
		if err := json.Unmarshal(body, &h); err != nil {
			return false, fmt.Errorf("decode etcd /health: %w", err)
		}
		return h.Health == "true", fmt.Errorf("etcd /health says %s", body)
	})
}

func (c *Cluster) waitAPIServer(ctx context.Context) error {
	client, err := rest.HTTPClientFor(c.rest)
	if err != nil {
		return fmt.Errorf("build apiserver http client: %w", err)
	}
	defer client.CloseIdleConnections()
	return c.poll(ctx, "kube-apiserver /readyz", func(ctx context.Context) (bool, error) {
		_, err := get(ctx, client, c.server+"/readyz")
		return err == nil, err
	})
}

// waitControllers waits for evidence that the controller manager works: the
// serviceaccount controller creates "default" in every namespace, and the
// aggregation controller fills the built-in "edit" role, which the
// apiserver creates with an aggregation rule but no rules of its own.
func (c *Cluster) waitControllers(ctx context.Context) error {
	cs, err := kubernetes.NewForConfig(c.RESTConfig())
	if err != nil {
		return fmt.Errorf("build clientset: %w", err)
	}
	if err := c.poll(ctx, "ServiceAccount default/default", func(ctx context.Context) (bool, error) {
		_, err := cs.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return false, fmt.Errorf("serviceaccount default/default not created yet")
		}
		return err == nil, err
	}); err != nil {
		return err
	}
	return c.poll(ctx, "ClusterRole edit to be aggregated", func(ctx context.Context) (bool, error) {
		role, err := cs.RbacV1().ClusterRoles().Get(ctx, "edit", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		return len(role.Rules) > 0, fmt.Errorf("clusterrole edit has no rules yet")
	})
}

// get returns the body of a 200 response, or an error with the status and
// body (which for /readyz lists the failing checks).
func get(ctx context.Context, client *http.Client, url string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", url, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, body)
	}
	return body, nil
}
