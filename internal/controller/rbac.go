package controller

// The controller's ClusterRole, generated into config/rbac/role.yaml by
// `make generate`. docs/controller-rbac.md explains each rule and why
// escalate and bind, limited to bulkhead's own Role names, replace holding
// every right a tenant is given.

// Tenants and their defaults: the controller reads them, adds its finalizer
// and writes status.
// +kubebuilder:rbac:groups=bulkhead.dev,resources=tenants,verbs=get;list;watch;update;patch
// +kubebuilder:rbac:groups=bulkhead.dev,resources=tenants/status,verbs=get;update;patch
// +kubebuilder:rbac:groups=bulkhead.dev,resources=tenants/finalizers,verbs=update
// +kubebuilder:rbac:groups=bulkhead.dev,resources=tenantdefaults,verbs=get;list;watch

// What a tenant is made of. Server-side apply of an object that does not
// exist yet needs create as well as patch; nothing is written with update.
// Tenant namespaces and ServiceAccounts have any name, so these are
// cluster-wide; ServiceAccounts are deleted by revoke.
// +kubebuilder:rbac:groups="",resources=namespaces;serviceaccounts,verbs=get;list;watch;create;patch;delete

// Objects whose names bulkhead fixes: writes are limited to those names
// (render's GuardrailName, IngressPolicyName, EgressPolicyName,
// RoleObjectName and RoleBindingPolicyName). Reads stay cluster-wide: a
// list cannot be limited by name.
// +kubebuilder:rbac:groups="",resources=resourcequotas;limitranges,verbs=get;list;watch
// +kubebuilder:rbac:groups="",resources=resourcequotas;limitranges,verbs=create;patch;delete,resourceNames=bulkhead
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=get;list;watch
// +kubebuilder:rbac:groups=networking.k8s.io,resources=networkpolicies,verbs=create;patch;delete,resourceNames=bulkhead-isolate-ingress;bulkhead-restrict-egress
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingadmissionpolicies;validatingadmissionpolicybindings,verbs=get;list;watch
// +kubebuilder:rbac:groups=admissionregistration.k8s.io,resources=validatingadmissionpolicies;validatingadmissionpolicybindings,verbs=create;patch;delete,resourceNames=bulkhead-tenant-rolebindings

// RBAC. The tenant Roles grant rights the controller does not hold (pods/exec,
// secrets, workloads), so creating them needs escalate and binding them needs
// bind; both are checked by the API server against the Role's name, and are
// limited to bulkhead's three Role names. RoleBinding names depend on the
// member, so their writes are cluster-wide. ClusterRoles and their bindings
// are only read, for the audit.
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings;clusterroles;clusterrolebindings,verbs=get;list;watch
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles,verbs=create;patch;delete;escalate;bind,resourceNames=bulkhead-admin;bulkhead-edit;bulkhead-view
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=rolebindings,verbs=create;patch;delete

// Legacy token Secrets: listed (the cache keeps only their metadata) for
// the audit and deleted when a member is revoked. No get: the controller
// never reads a Secret's data by name.
// +kubebuilder:rbac:groups="",resources=secrets,verbs=list;watch;delete

// Reporting: Events on Tenants, and SubjectAccessReviews to check what a
// member can do.
// +kubebuilder:rbac:groups="";events.k8s.io,resources=events,verbs=create;patch
// +kubebuilder:rbac:groups=authorization.k8s.io,resources=subjectaccessreviews,verbs=create
