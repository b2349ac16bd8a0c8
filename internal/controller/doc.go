// Package controller runs bulkhead as a Kubernetes controller. Tenant objects
// (tenants.bulkhead.dev) are reconciled by the same core as `bulkhead apply`
// (internal/apply); the objects it makes are watched through their
// bulkhead.dev/tenant label (never owner references: a deleted Tenant's
// namespace is cordoned, not garbage-collected), so drift is repaired as soon
// as the watch reports it. Each tenant is verified with SubjectAccessReviews
// (internal/verify) after every change and periodically, and the continuous
// audit (internal/auditloop) over the informer cache feeds its findings to
// status, Events and metrics. Replicas elect a leader; only the leader writes.
//
// A reconcile that needs nothing costs no request: it plans against the
// informer cache first and reads the API server only when that plan finds
// something to do. Lists that only read the cache skip its deep copies
// (client.UnsafeDisableDeepCopy): nothing here writes to what they return.
package controller
