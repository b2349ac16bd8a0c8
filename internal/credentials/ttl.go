package credentials

import (
	"fmt"
	"time"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/spec"
)

// MinTTL is the shortest lifetime the TokenRequest API accepts.
const MinTTL = v1alpha1.MinTokenTTL

// MaxTTL returns the longest lifetime bulkhead issues a tenant's tokens
// with, read from the annotations of the tenant's Namespace, where render
// writes the cap the spec resolves to (spec.credentials.maxTokenTTL). A
// namespace without the annotation was applied by a bulkhead that predates
// the cap; its tenant gets the built-in default. The cap is bulkhead's own:
// the API server knows nothing of it, so it holds only for tokens bulkhead
// issues.
func MaxTTL(annotations map[string]string) (time.Duration, error) {
	v, ok := annotations[v1alpha1.MaxTokenTTLAnnotation]
	if !ok {
		return spec.DefaultMaxTokenTTL, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("annotation %s is %q, not a positive duration such as 168h: apply the tenant again to rewrite it",
			v1alpha1.MaxTokenTTLAnnotation, v)
	}
	return d, nil
}

// TTLTooLongError refuses a token lifetime longer than the tenant's cap.
type TTLTooLongError struct {
	Tenant    string
	Requested time.Duration
	Max       time.Duration
}

func (e *TTLTooLongError) Error() string {
	return fmt.Sprintf("a token lifetime of %s is longer than tenant %s's maximum token lifetime of %s; "+
		"ask for a shorter one, or raise spec.credentials.maxTokenTTL in the tenant or its defaults (at most %s)",
		spec.FormatDuration(e.Requested), e.Tenant, e.Max, spec.FormatDuration(v1alpha1.MaxTokenTTLLimit))
}

// CheckTTL returns a *TTLTooLongError when ttl is longer than max, the
// tenant's cap (see MaxTTL). Call it before Request: the API server would
// issue the token.
func CheckTTL(tenant string, ttl, max time.Duration) error {
	if ttl > max {
		return &TTLTooLongError{Tenant: tenant, Requested: ttl, Max: max}
	}
	return nil
}
