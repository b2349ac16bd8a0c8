package credentials

import (
	"context"
	"fmt"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// Revoked says what a revocation removed.
type Revoked struct {
	// Secrets are the legacy token Secrets deleted.
	Secrets []string
	// ServiceAccount is true when the ServiceAccount was deleted, which
	// invalidates every bound token issued for it.
	ServiceAccount bool
}

// Client is what revocation needs.
type Client interface {
	corev1client.SecretsGetter
	corev1client.ServiceAccountsGetter
}

// Revoke kills every credential of ServiceAccount ns/sa: it deletes the
// legacy token Secrets that name it (bulkhead's or not) and then the
// ServiceAccount itself. Bound tokens carry the ServiceAccount's UID, so the
// API server refuses them once it is gone. With recreate, a new
// ServiceAccount of the same name (a new UID) is applied with labels, so the
// member can be issued fresh credentials.
//
// The API server caches successful token authentications for up to 10 s
// (kube-apiserver's TokenSuccessCacheTTL): a token used just before revocation
// may keep working that long.
func Revoke(ctx context.Context, c Client, ns, sa string, labels map[string]string, recreate bool) (Revoked, error) {
	var out Revoked
	secretsCtx := quiet(ctx) // the token Secrets listed and deleted hold tokens
	secrets, err := c.Secrets(ns).List(secretsCtx, metav1.ListOptions{FieldSelector: "type=" + string(corev1.SecretTypeServiceAccountToken)})
	if err != nil {
		return out, fmt.Errorf("list token secrets in %s: %w", ns, err)
	}
	for _, s := range secrets.Items {
		if s.Annotations[corev1.ServiceAccountNameKey] != sa {
			continue
		}
		if err := c.Secrets(ns).Delete(secretsCtx, s.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			return out, fmt.Errorf("delete token secret %s in %s: %w", s.Name, ns, err)
		}
		out.Secrets = append(out.Secrets, s.Name)
	}
	err = c.ServiceAccounts(ns).Delete(ctx, sa, metav1.DeleteOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return out, fmt.Errorf("delete serviceaccount %s in %s: %w", sa, ns, err)
	default:
		out.ServiceAccount = true
	}
	if !recreate {
		return out, nil
	}
	_, err = c.ServiceAccounts(ns).Apply(ctx, corev1ac.ServiceAccount(sa, ns).WithLabels(labels),
		metav1.ApplyOptions{FieldManager: v1alpha1.FieldManager, Force: true})
	if err != nil {
		return out, fmt.Errorf("recreate serviceaccount %s in %s: %w", sa, ns, err)
	}
	return out, nil
}
