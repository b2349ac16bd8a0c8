// Package verify proves a tenant's isolation on a live cluster, in two ways
// that answer one list of checks (checks, in plan.go).
//
// Run tests it the way an attacker would: each member makes real requests
// with its own credentials (a short-lived token for ServiceAccounts,
// impersonation for users and groups), writes as server-side dry runs, and
// every answer is compared with what isolation requires. The requests pass
// through authentication, authorization and admission, so Run proves the
// whole chain.
//
// Review, for the controller and `verify --reviews`, issues no credentials
// and makes no request as a member: each check is one SubjectAccessReview
// for the member's identity, which asks the authorizer alone. A report from
// Review reads like one from Run (same checks, same fields), with two
// differences:
//
//   - State checks. What Run expects admission to reject (outcome Rejected)
//     no SubjectAccessReview can ask. Review asks the authorizer whether the
//     request is authorized (it must be) and then reads the state that makes
//     admission reject it, saying so in the check's Detail, passed or not:
//     privileged and hostPath pods - the namespace's
//     pod-security.kubernetes.io/enforce label is baseline or restricted;
//     pods over the GPU quota - ResourceQuota "bulkhead" caps the GPU
//     resource below what the probe asks; an admin's RoleBindings of a
//     ClusterRole, of system:authenticated or of another tenant's
//     ServiceAccount - ValidatingAdmissionPolicy bulkhead-tenant-rolebindings
//     holds bulkhead's rules, its binding denies, and both select the
//     namespace. Every other check is a SubjectAccessReview.
//   - What only a request shows: Review does not see admission refusing
//     what it should let through, nor RBAC's escalation check on an admin's
//     allowed RoleBinding, nor that a ServiceAccount can get a token.
//
// Checks that ask the same identity the same question (a compliant pod, a
// privileged pod and a pod over quota are all "create pods") share one
// SubjectAccessReview.
//
// Both check subjects that only a RoleBinding bulkhead left behind lets in
// (a removed member, a member's old role) with SubjectAccessReviews, since
// such a subject may have no credentials verify can get.
package verify
