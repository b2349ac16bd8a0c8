// Package audit finds every way one tenant can reach another, or lift its
// own guardrails, in a snapshot of a cluster's access objects read from the
// cluster or from manifests. Each pattern of ISOLATION.md is a rule; rules ask
// the RBAC engine in internal/access and never scan all bindings per question.
//
// The pipeline is Read (ReadCluster or ReadFiles) → Snapshot → Run → Report,
// and the Report is written as a table, JSON or one self-contained HTML page.
package audit
