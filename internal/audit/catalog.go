package audit

import (
	"strings"
	"unicode"
)

// RuleInfo describes one audit rule for tools that want more than the
// findings: SARIF's tool.driver.rules, where code scanning shows the help
// beside each alert.
type RuleInfo struct {
	ID       string
	Pattern  int      // the docs/isolation.md item; 0 for network and quota
	Severity Severity // the usual severity; a finding may say otherwise
	Short    string   // one line: what is found
	Full     string   // why it breaks isolation
	Help     string   // how to fix it in general; each finding's fix is concrete
}

// Name is the rule id in PascalCase ("cross-tenant-access" →
// "CrossTenantAccess"), the form SARIF viewers expect of reportingDescriptor.name.
func (r RuleInfo) Name() string {
	var b strings.Builder
	for _, part := range strings.Split(r.ID, "-") {
		for i, c := range part {
			if i == 0 {
				c = unicode.ToUpper(c)
			}
			b.WriteRune(c)
		}
	}
	return b.String()
}

// ExpiredSuppression is the rule of an --ignore-file entry whose expiry
// date has passed: it no longer suppresses anything and is itself reported.
const ExpiredSuppression = "expired-suppression"

// ruleCatalog is every rule audit reports, in docs/audit-json.md's order.
var ruleCatalog = []RuleInfo{
	{"cross-tenant-access", 1, Critical, "A subject of one tenant holds rights in another tenant's namespace",
		"A subject of tenant A, directly or through an identity it can act as, holds rights in tenant B's namespace: it can read or change B's data and run code there.",
		"Remove the binding (or the subject from it) that gives the outside subject access; the finding names it. Provision tenants with bulkhead apply, which binds only each tenant's own members."},
	{"cluster-binding", 1, Critical, "A ClusterRoleBinding gives a tenant subject namespaced rights everywhere",
		"A ClusterRoleBinding grants its rights in every namespace, the other tenants' included.",
		"Replace the ClusterRoleBinding with a RoleBinding in the tenant's own namespace."},
	{"shared-member", 1, Low, "A user or group is a member of several tenants",
		"A user or group in several tenants carries data and credentials between them.",
		"Keep each person in one tenant, or accept the sharing knowingly."},
	{"foreign-binding", 1, Medium, "A hand-made RoleBinding lets outsiders into a namespace bulkhead manages",
		"A RoleBinding bulkhead did not make lets users or groups the tenant does not list into its namespace.",
		"Add the subject to the tenant's members (bulkhead apply binds it) or delete the binding."},
	{"outside-tenant", 1, High, "A tenant subject holds rights in a namespace no tenant owns",
		"A tenant subject holds rights in a namespace that belongs to no tenant (default, kube-*, a shared namespace): writes there reach the cluster's own workloads.",
		"Remove the binding that gives the tenant subject access outside its namespace."},
	{"broad-group", 2, Critical, "A binding names a group that contains every tenant",
		"system:authenticated, system:unauthenticated, system:anonymous and system:serviceaccounts[:ns] contain every tenant (or everyone) at once.",
		"Bind the users or ServiceAccounts that need the access instead of the group."},
	{"rolebinding-write", 3, High, "A tenant can create or update RoleBindings",
		"A subject that writes RoleBindings can open its namespace to anyone, for instance by binding a Role to system:authenticated.",
		"Remove create/update/patch on rolebindings from the tenant's role, or install bulkhead's admission policy that limits what tenant admins can bind."},
	{"cluster-rbac-write", 3, Critical, "A tenant can write cluster-scoped RBAC",
		"Writing ClusterRoles or ClusterRoleBindings changes who can do what in every namespace.",
		"Remove write verbs on clusterroles and clusterrolebindings from the tenant's roles."},
	{"wildcard", 4, Medium, "A role grants '*' verbs, resources or groups",
		"Wildcards cover whatever CRDs and new subresources add later, not just what exists today.",
		"List the verbs, API groups and resources the tenant needs instead of '*'."},
	{"aggregated-role", 5, Medium, "A tenant is bound to an aggregated ClusterRole",
		"Any operator that installs an aggregate-to-* ClusterRole widens an aggregated role (admin, edit, view) later; the controller overwrites its rules.",
		"Bind a role with explicit rules, or change the labelled source ClusterRole that feeds the aggregation."},
	{"acts-as", 6, Medium, "A subject can act as another identity with more rights",
		"Reading token Secrets, creating or changing pods and pod controllers, minting tokens, impersonating or exec'ing gives a subject every right of another identity.",
		"Remove the right that lets the subject become the other identity, or narrow the identity's own rights; the finding names both."},
	{"impersonate", 9, Critical, "A subject can impersonate any user or group, or system:masters",
		"Impersonating any user or group, or the group system:masters, is full control of the cluster.",
		"Remove impersonate, or limit it with resourceNames to the identities really needed."},
	{"bind-escalate", 10, High, "A subject has bind or escalate on roles",
		"bind and escalate bypass the API server's check that nobody grants more than they hold.",
		"Remove bind and escalate from the tenant's roles."},
	{"nodes-proxy", 12, Critical, "A subject can reach nodes/proxy",
		"The kubelet API behind nodes/proxy can exec into any pod on the node, past admission and audit logging; get is enough.",
		"Remove nodes/proxy from every role a tenant holds."},
	{"no-pod-security", 13, High, "A tenant namespace has no Pod Security enforce label",
		"Without Pod Security Admission at baseline or restricted, pods may be privileged or mount the node's filesystem and escape to the node.",
		"kubectl label namespace NS pod-security.kubernetes.io/enforce=restricted (or baseline); bulkhead apply sets it."},
	{"namespace-write", 13, High, "A tenant can change Namespace objects",
		"Removing a namespace's pod-security labels lets its tenant run privileged and hostPath pods.",
		"Grant at most get on namespaces; manage namespace labels with bulkhead apply."},
	{"node-escape", 13, High, "A subject can run privileged pods or create PersistentVolumes",
		"Privileged pods, hostPath PersistentVolumes and pods in namespaces whose Pod Security allows them reach the node and every tenant on it.",
		"Enforce Pod Security baseline or restricted where the subject creates pods, and remove create on persistentvolumes."},
	{"csr-approve", 14, Critical, "A subject can create and approve CertificateSigningRequests",
		"Creating and approving CSRs yields a client certificate for any identity, system:masters included.",
		"Remove approve on certificatesigningrequests/approval and signers from tenant roles."},
	{"admission-write", 15, Critical, "A subject can write admission webhooks or policies",
		"Writing a webhook configuration or ValidatingAdmissionPolicy (even one named object) lets the subject read or rewrite every object that passes admission, or disable the guardrails.",
		"Remove write verbs on admissionregistration.k8s.io resources from tenant roles."},
	{"operator-deputy", 16, Medium, "An operator's ServiceAccount acts broadly on objects tenants create",
		"A controller with broad rights that acts on tenant-created objects is a confused deputy: it does for the tenant what the tenant may not.",
		"Narrow the operator's rights to the namespaces and resources it manages."},
	{"legacy-token", 18, Medium, "A Secret holds a never-expiring ServiceAccount token",
		"Secret-based ServiceAccount tokens never expire and survive the person who used them.",
		"Issue expiring tokens (bulkhead kubeconfig, kubectl create token) and delete the Secret."},
	{"status-write", 19, High, "A subject can write pods/status, services/status or nodes/status",
		"Rewriting status redirects traffic (load balancer ingress, pod IPs) and misleads controllers and the scheduler.",
		"Remove the status subresources from the role; read status with get on the object."},
	{"dangling-role-ref", 20, High, "A RoleBinding refers to a role that does not exist",
		"Whoever later creates a role of the missing name inherits the grant; the subjects meanwhile lack the access they were meant to get.",
		"Create the role the binding names in the right namespace, or delete the binding."},
	{"misplaced-role", 20, High, "A Role sits in a namespace other than the one whose binding expects it",
		"A Role created in the wrong namespace locks its owner out and hands its rights to whoever binds it where it is.",
		"Move the Role to the namespace whose RoleBinding names it."},
	{"stale-binding", 20, High, "A bulkhead RoleBinding gives access the tenant's spec no longer does",
		"A removed member, or a member whose role changed, still holds the access of a binding labelled as bulkhead's.",
		"Run bulkhead apply with the current spec (it prunes the binding), or delete the binding."},
	{"missing-subject", 20, Medium, "A binding names a subject that does not exist",
		"Whoever creates the missing ServiceAccount (or namespace) later inherits the grant.",
		"Remove the subject from the binding, or fix its name or namespace."},
	{"dangling-subject", 20, Medium, "A binding names a ServiceAccount of a namespace that does not exist",
		"Often a typo (teamb for team-b): whoever creates that namespace and ServiceAccount later inherits the grant, and the intended subject never gets it.",
		"Correct the subject's namespace (the finding suggests the likely one), or remove the subject."},
	{"unused-role", 20, Low, "A role is bound by nothing",
		"An unbound role grants nothing today but hands out its rights to whoever binds it later.",
		"Delete the role, or bind it where it is meant to be used."},
	{"guardrail-write", 20, High, "A tenant can change its own quota, limit range or network policy",
		"Writable guardrails are no guardrails: the tenant lifts its own GPU quota, limits or network isolation.",
		"Grant only get, list and watch on resourcequotas, limitranges and networkpolicies."},
	{"no-network-isolation", 0, Medium, "A tenant namespace has no NetworkPolicy isolating it",
		"Without an ingress NetworkPolicy every pod of every tenant can connect to the namespace's pods.",
		"Add a NetworkPolicy with podSelector {} admitting only the namespace itself; bulkhead apply renders one."},
	{"no-quota", 0, Medium, "A tenant namespace has no ResourceQuota",
		"Without a quota one tenant can take every GPU, CPU and pod of the cluster.",
		"Add a ResourceQuota (requests.nvidia.com/gpu, cpu, memory, pods); bulkhead apply renders one."},
	{ExpiredSuppression, 0, Medium, "An --ignore-file entry has expired",
		"A suppression past its expiry date no longer hides its finding: the accepted risk needs a new decision.",
		"Fix the finding it suppressed, or renew the entry with a new expires date and reason."},
}

// Rules lists every rule audit reports.
func Rules() []RuleInfo { return append([]RuleInfo(nil), ruleCatalog...) }

// ruleInfo returns the catalogue entry of id, or one made from a finding of
// a rule the catalogue does not know (its message and fix as the help).
func ruleInfo(id string, example *Finding) (RuleInfo, bool) {
	for _, r := range ruleCatalog {
		if r.ID == id {
			return r, true
		}
	}
	r := RuleInfo{ID: id, Short: id}
	if example != nil {
		r.Pattern, r.Severity, r.Full, r.Help = example.Pattern, example.Severity, example.Message, example.Fix
	}
	return r, false
}
