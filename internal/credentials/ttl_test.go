package credentials

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/spec"
)

func TestMaxTTL(t *testing.T) {
	cases := []struct {
		name        string
		annotations map[string]string
		want        time.Duration
		wantErr     string
	}{
		{"no annotations: applied by an older bulkhead", nil, spec.DefaultMaxTokenTTL, ""},
		{"other annotations only", map[string]string{v1alpha1.MembersAnnotation: "ServiceAccount/edit/bob-user"}, spec.DefaultMaxTokenTTL, ""},
		{"as render writes it", map[string]string{v1alpha1.MaxTokenTTLAnnotation: (720 * time.Hour).String()}, 720 * time.Hour, ""},
		{"short form", map[string]string{v1alpha1.MaxTokenTTLAnnotation: "90m"}, 90 * time.Minute, ""},
		{"empty", map[string]string{v1alpha1.MaxTokenTTLAnnotation: ""}, 0, `annotation bulkhead.dev/max-token-ttl is "", not a positive duration`},
		{"not a duration", map[string]string{v1alpha1.MaxTokenTTLAnnotation: "forever"}, 0, `is "forever", not a positive duration such as 168h: apply the tenant again`},
		{"zero", map[string]string{v1alpha1.MaxTokenTTLAnnotation: "0s"}, 0, "not a positive duration"},
		{"negative", map[string]string{v1alpha1.MaxTokenTTLAnnotation: "-1h"}, 0, "not a positive duration"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := MaxTTL(tc.annotations)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("MaxTTL = %s, %v; want an error with %q", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("MaxTTL = %s, %v; want %s", got, err, tc.want)
			}
		})
	}
}

func TestCheckTTL(t *testing.T) {
	if err := CheckTTL("bob", 168*time.Hour, 168*time.Hour); err != nil {
		t.Errorf("a lifetime equal to the cap: %v", err)
	}
	err := CheckTTL("bob", 100000*time.Hour, 168*time.Hour)
	var tooLong *TTLTooLongError
	if !errors.As(err, &tooLong) {
		t.Fatalf("err = %v (%T), want *TTLTooLongError", err, err)
	}
	if *tooLong != (TTLTooLongError{Tenant: "bob", Requested: 100000 * time.Hour, Max: 168 * time.Hour}) {
		t.Errorf("error = %+v", *tooLong)
	}
	want := "a token lifetime of 100000h is longer than tenant bob's maximum token lifetime of 168h0m0s; " +
		"ask for a shorter one, or raise spec.credentials.maxTokenTTL in the tenant or its defaults (at most 8760h)"
	if err.Error() != want {
		t.Errorf("message\n%s\nwant\n%s", err, want)
	}
	if strings.Contains(err.Error(), "--") {
		t.Errorf("a library error names a flag: %s", err)
	}
}
