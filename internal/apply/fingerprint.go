package apply

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"reflect"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	corev1ac "k8s.io/client-go/applyconfigurations/core/v1"
	metav1ac "k8s.io/client-go/applyconfigurations/meta/v1"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/render"
)

// A no-op apply of thousands of tenants is decided by one question per
// object: is it still what bulkhead applied? Extracting the fields a
// manager owns (managedfields.ExtractInto) answers it exactly but costs
// most of a no-op's CPU. The fast path: every applied object carries a
// digest of what was applied (v1alpha1.AppliedAnnotation); if the digest
// matches and bulkhead's field manager is the only one that ever wrote the
// object (no other manager in managedFields, status subresources aside),
// nobody changed it. Anything else takes the exact path.

// stamp adds the digest of obj, as it stands, to obj's annotations.
func stamp(obj render.Object) error {
	b, err := json.Marshal(obj)
	if err != nil {
		return fmt.Errorf("encode %s: %w", RefOf(obj), err)
	}
	sum := sha256.Sum256(b)
	meta := objectMeta(obj)
	if meta == nil {
		return fmt.Errorf("internal error: %T has no metadata", obj)
	}
	meta.WithAnnotations(map[string]string{v1alpha1.AppliedAnnotation: hex.EncodeToString(sum[:16])})
	return nil
}

// objectMeta finds the metadata every apply configuration embeds.
func objectMeta(obj render.Object) *metav1ac.ObjectMetaApplyConfiguration {
	v := reflect.ValueOf(obj)
	if v.Kind() != reflect.Pointer || v.IsNil() || v.Elem().Kind() != reflect.Struct {
		return nil
	}
	f := v.Elem().FieldByName("ObjectMetaApplyConfiguration")
	if !f.IsValid() {
		return nil
	}
	if f.IsNil() {
		f.Set(reflect.ValueOf(&metav1ac.ObjectMetaApplyConfiguration{}))
	}
	meta, _ := f.Interface().(*metav1ac.ObjectMetaApplyConfiguration)
	return meta
}

// unchangedFast reports whether live is provably what desired (stamped)
// describes: same digest, and written by bulkhead's field manager alone.
func unchangedFast(desired render.Object, live metav1.Object) bool {
	meta := objectMeta(desired)
	if meta == nil || meta.Annotations[v1alpha1.AppliedAnnotation] == "" ||
		live.GetAnnotations()[v1alpha1.AppliedAnnotation] != meta.Annotations[v1alpha1.AppliedAnnotation] {
		return false
	}
	// Another writer that only removes fields (kubectl label x-, a merge
	// patch with null) becomes no manager of anything: the digest and the
	// managers cannot tell, so the maps such edits touch are compared.
	if !subset(meta.Labels, live.GetLabels()) || !subset(meta.Annotations, live.GetAnnotations()) {
		return false
	}
	if q, ok := live.(*corev1.ResourceQuota); ok {
		if d, ok := desired.(*corev1ac.ResourceQuotaApplyConfiguration); ok && d.Spec != nil && d.Spec.Hard != nil {
			for k := range *d.Spec.Hard {
				if _, ok := q.Spec.Hard[k]; !ok {
					return false
				}
			}
		}
	}
	ours := false
	for _, m := range live.GetManagedFields() {
		switch {
		case m.Subresource != "":
			// status written by controllers: not bulkhead's fields
		case m.Manager == v1alpha1.FieldManager && m.Operation == metav1.ManagedFieldsOperationApply:
			ours = true
		default:
			return false
		}
	}
	return ours
}

// subset reports whether every entry of want is in got with the same value.
func subset(want, got map[string]string) bool {
	for k, v := range want {
		if g, ok := got[k]; !ok || g != v {
			return false
		}
	}
	return true
}
