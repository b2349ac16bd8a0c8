package v1alpha1

import metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

// TenantStatus is what the controller last saw of a Tenant: whether its
// objects match the spec (Ready), whether its isolation held when last
// checked (Verified), and whether anything weakens it now (Degraded).
type TenantStatus struct {
	// ObservedGeneration is the generation of the spec the conditions describe.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// Namespace is the namespace the tenant owns.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// MemberCount is how many members the tenant has.
	// +optional
	MemberCount int `json:"memberCount,omitempty"`
	// Conditions are Ready, Verified and Degraded.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`
	// Objects are the objects the controller manages for the tenant.
	// +listType=atomic
	// +optional
	Objects []ManagedObject `json:"objects,omitempty"`
	// Verification is the outcome of the last verification.
	// +optional
	Verification *VerificationStatus `json:"verification,omitempty"`
	// Audit sums up the audit findings that involve the tenant.
	// +optional
	Audit *AuditStatus `json:"audit,omitempty"`
}

// ManagedObject names one object the controller manages.
type ManagedObject struct {
	// Kind is the object's kind, e.g. RoleBinding.
	Kind string `json:"kind"`
	// Name is the object's name.
	Name string `json:"name"`
	// Namespace is empty for cluster-scoped objects.
	// +optional
	Namespace string `json:"namespace,omitempty"`
}

// VerificationStatus is the outcome of one verification: the same checks as
// `bulkhead verify`, answered with SubjectAccessReviews.
type VerificationStatus struct {
	// Time is when the checks ran.
	Time metav1.Time `json:"time"`
	// Passed and Failed count the checks.
	Passed int `json:"passed"`
	Failed int `json:"failed"`
	// Failures are the first failed checks (at most MaxStatusItems).
	// +listType=atomic
	// +optional
	Failures []VerificationFailure `json:"failures,omitempty"`
}

// VerificationFailure is one check whose expectation did not hold.
type VerificationFailure struct {
	// Member is Kind/name of the subject checked.
	Member string `json:"member"`
	// Action is what it tried, e.g. "list pods".
	Action string `json:"action"`
	// Namespace is where; empty for the cluster scope.
	// +optional
	Namespace string `json:"namespace,omitempty"`
	// Expected and Got are allowed or forbidden.
	Expected string `json:"expected"`
	Got      string `json:"got"`
	// Detail says why, when the server said.
	// +optional
	Detail string `json:"detail,omitempty"`
}

// AuditStatus counts the findings of the last continuous audit that
// involve the tenant, by severity, and shows the worst of them.
type AuditStatus struct {
	// Time is when the audit first found these findings (a later run with
	// the same findings does not rewrite status).
	Time     metav1.Time `json:"time"`
	Critical int         `json:"critical"`
	High     int         `json:"high"`
	Medium   int         `json:"medium"`
	Low      int         `json:"low"`
	// Top are the most severe findings (at most MaxStatusItems).
	// +listType=atomic
	// +optional
	Top []AuditFinding `json:"top,omitempty"`
}

// AuditFinding is one finding, as `bulkhead audit` reports it.
type AuditFinding struct {
	Rule     string `json:"rule"`
	Severity string `json:"severity"`
	// +optional
	Subject string `json:"subject,omitempty"`
	// +optional
	Namespace string `json:"namespace,omitempty"`
	Message   string `json:"message"`
	// +optional
	Fix string `json:"fix,omitempty"`
}

// MaxStatusItems bounds the lists in status, so a badly broken tenant
// cannot grow its object past etcd's limits.
const MaxStatusItems = 10

// Condition types and reasons of a Tenant.
const (
	// ConditionReady: the tenant's objects match its spec.
	ConditionReady = "Ready"
	// ConditionVerified: the last verification's checks all held.
	ConditionVerified = "Verified"
	// ConditionDegraded: something weakens the tenant's isolation now (a
	// failed check, a high or critical audit finding, a failed write).
	ConditionDegraded = "Degraded"

	ReasonReconciled         = "Reconciled"         // Ready=True
	ReasonInvalid            = "Invalid"            // the spec fails a check the CRD schema cannot make
	ReasonConflict           = "Conflict"           // an object it needs belongs to someone else
	ReasonApplyFailed        = "ApplyFailed"        // the API server refused or did not answer
	ReasonOffboarding        = "Offboarding"        // the Tenant is being deleted
	ReasonPending            = "Pending"            // not checked yet
	ReasonChecksPassed       = "ChecksPassed"       // Verified=True
	ReasonChecksFailed       = "ChecksFailed"       // Verified=False
	ReasonVerifyError        = "VerifyError"        // the checks could not run
	ReasonAsExpected         = "AsExpected"         // Degraded=False
	ReasonFindings           = "Findings"           // Degraded=True: high or critical audit findings
	ReasonVerificationFailed = "VerificationFailed" // Degraded=True
)

// ControllerTenantSet is the tenant set of every tenant the controller
// reconciles (on its Namespace's TenantSetLabel). The CLI refuses to write
// tenants of this set and to use it as a --tenant-set; the controller
// leaves tenants of any other set, or of none, alone.
const ControllerTenantSet = "bulkhead-controller"

// Finalizer holds a deleted Tenant until the controller has offboarded it.
const Finalizer = "bulkhead.dev/offboard"

// ReleaseAnnotation="true" on a Tenant object hands the tenant over to the
// CLI: deleting the object then leaves the namespace and its access as they
// are (only the controller's tenant set label is removed), so `bulkhead
// apply` can take it.
const ReleaseAnnotation = "bulkhead.dev/release"

// AdoptAnnotation="true" on a Tenant object lets the controller take over
// existing objects in its way that bulkhead does not manage (a namespace
// made by hand), as `bulkhead apply --adopt` does. Objects of another
// bulkhead tenant or tenant set are never taken.
const AdoptAnnotation = "bulkhead.dev/adopt"
