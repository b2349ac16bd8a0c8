// Package access answers "who can do what, where" from a snapshot of a
// cluster's RBAC objects, with the same decisions as the API server's RBAC
// authorizer (k8s.io/kubernetes plugin/pkg/auth/authorizer/rbac).
//
// The audit runs on clusters with thousands of tenant namespaces, so the
// Engine is built once per snapshot and then answers many questions:
//
//   - every distinct list of PolicyRules is compiled once (roles created from
//     one template share a compiled form);
//   - bindings are indexed by namespace and, inside it, by user name and
//     group name, so a question only touches the bindings that can apply to
//     the asker in the asked namespace plus the ClusterRoleBindings;
//   - the reverse question (WhoCan) walks the ClusterRoleBindings and the one
//     namespace's RoleBindings and evaluates each compiled rule set at most once.
//
// Nothing is expanded into a subject × namespace × resource × verb matrix:
// wildcards and CRDs would make it unbounded, and most of it is never asked.
//
// Only RBAC is modelled. Other authorizers (system:masters, Node, webhooks)
// grant access the snapshot cannot show; see docs/isolation.md item 17.
package access
