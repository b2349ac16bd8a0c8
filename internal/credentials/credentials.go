// Package credentials obtains tokens for a tenant's ServiceAccounts: bound,
// expiring tokens from the TokenRequest API (the default), or the hand
// procedure's legacy Secret-based token for clusters and tools that need it.
// Tokens are returned, never logged: the requests whose bodies hold them are
// made with a logger that cannot log bodies, and LogFilter redacts what
// any other request might show.
package credentials

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	corev1client "k8s.io/client-go/kubernetes/typed/core/v1"
)

// Token is a bearer token and when it stops working.
type Token struct {
	Value string
	// Expires is zero for legacy tokens: they live until their Secret is deleted.
	Expires time.Time
	// Secret names the legacy token's Secret; empty for bound tokens.
	Secret string
}

// Request asks the TokenRequest API for a token of ServiceAccount ns/name that
// expires after ttl. The API server may shorten ttl (its
// --service-account-max-token-expiration); Token.Expires says what was granted.
func Request(ctx context.Context, c corev1client.ServiceAccountsGetter, ns, name string, ttl time.Duration) (Token, error) {
	if ttl < MinTTL {
		return Token{}, fmt.Errorf("token lifetime %s is below the API server's minimum of %s; ask for %s or more", ttl, MinTTL, MinTTL)
	}
	secs := int64(ttl / time.Second)
	ctx = quiet(ctx) // the response holds the token
	tr, err := c.ServiceAccounts(ns).CreateToken(ctx, name, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &secs},
	}, metav1.CreateOptions{})
	if err != nil {
		return Token{}, fmt.Errorf("request a token for serviceaccount %s in %s: %w%s", name, ns, err, hintNotFound(err))
	}
	return Token{Value: tr.Status.Token, Expires: tr.Status.ExpirationTimestamp.Time}, nil
}

// LegacySecretName is the name of a ServiceAccount's legacy token Secret.
func LegacySecretName(sa string) string { return sa + "-token" }

// Legacy creates (or reuses) a Secret of type kubernetes.io/service-account-token
// for ServiceAccount ns/sa and waits up to timeout for kube-controller-manager's
// token controller to fill it. The Secret carries bulkhead's labels so revoke
// and prune can find it.
func Legacy(ctx context.Context, c interface {
	corev1client.SecretsGetter
	corev1client.ServiceAccountsGetter
}, tenant, ns, sa string, timeout time.Duration) (Token, error) {
	ctx = quiet(ctx) // the Secret, once filled, holds the token
	if _, err := c.ServiceAccounts(ns).Get(ctx, sa, metav1.GetOptions{}); err != nil {
		return Token{}, fmt.Errorf("get serviceaccount %s in %s: %w%s", sa, ns, err, hintNotFound(err))
	}
	name := LegacySecretName(sa)
	secret := corev1ac.Secret(name, ns).
		WithLabels(v1alpha1.OwnershipLabels(tenant)).
		WithAnnotations(map[string]string{corev1.ServiceAccountNameKey: sa}).
		WithType(corev1.SecretTypeServiceAccountToken)
	if _, err := c.Secrets(ns).Apply(ctx, secret, metav1.ApplyOptions{FieldManager: v1alpha1.FieldManager, Force: true}); err != nil {
		return Token{}, fmt.Errorf("create token secret %s in %s: %w", name, ns, err)
	}
	var token []byte
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		s, err := c.Secrets(ns).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		token = s.Data[corev1.ServiceAccountTokenKey]
		return len(token) > 0, nil
	})
	if err != nil {
		if wait.Interrupted(err) {
			return Token{}, fmt.Errorf("secret %s in %s has no token after %s: is kube-controller-manager running with its serviceaccount-token controller? or use a bound token instead", name, ns, timeout)
		}
		return Token{}, fmt.Errorf("wait for token secret %s in %s: %w", name, ns, err)
	}
	return Token{Value: string(token), Secret: name}, nil
}

func hintNotFound(err error) string {
	var status apierrors.APIStatus
	if errors.As(err, &status) && apierrors.IsNotFound(err) {
		return " (apply the tenant first)"
	}
	return ""
}
