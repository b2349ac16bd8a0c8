// Package version says what a bulkhead binary was built from: its module
// version, the commit, the Go toolchain, the client-go it links and the
// Kubernetes minor version it targets. Everything but the target comes from
// the build information the Go toolchain embeds in every binary, so `go
// install ...@latest`, `go build` and `make install` need no -ldflags to
// report it.
package version

import (
	"runtime"
	"runtime/debug"

	"github.com/bulkhead-dev/bulkhead/internal/render"
)

// Kubernetes is the minor version bulkhead targets: the Pod Security
// Standards version it pins on tenant namespaces, and the version of the
// bootstrap RBAC policy audit compares a cluster with.
const Kubernetes = render.PodSecurityVersion

// Devel is the module version of a binary built from a checkout whose
// commit the toolchain did not stamp (a git worktree, -buildvcs=false).
const Devel = "(devel)"

// clientGo is the module whose version Info reports as ClientGo.
const clientGo = "k8s.io/client-go"

// Info is what a binary was built from. The JSON names follow kubectl
// version's where they mean the same thing.
type Info struct {
	// Version is the module version: a release tag for go install
	// ...@latest, a pseudo-version (v0.0.0-DATE-COMMIT, "+dirty" when the
	// tree had changes) for a build from a git clone, else Devel.
	Version string `json:"version"`
	// GitCommit, GitTreeState ("clean" or "dirty") and GitCommitTime
	// (RFC 3339) are empty unless the toolchain stamped the commit, which
	// it does only for builds inside a git clone.
	GitCommit     string `json:"gitCommit,omitempty"`
	GitTreeState  string `json:"gitTreeState,omitempty"`
	GitCommitTime string `json:"gitCommitTime,omitempty"`
	GoVersion     string `json:"goVersion"`
	Platform      string `json:"platform"` // GOOS/GOARCH
	// ClientGo is the version of k8s.io/client-go linked in.
	ClientGo string `json:"clientGoVersion"`
	// Kubernetes is the minor version bulkhead targets (the constant).
	Kubernetes string `json:"targetKubernetesVersion"`
}

// Read returns the running binary's Info.
func Read() Info {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		// Only a binary built without module support lacks build info.
		bi = &debug.BuildInfo{GoVersion: runtime.Version()}
	}
	return FromBuildInfo(bi)
}

// FromBuildInfo returns the Info that bi describes.
func FromBuildInfo(bi *debug.BuildInfo) Info {
	info := Info{
		Version:    bi.Main.Version,
		GoVersion:  bi.GoVersion,
		Platform:   runtime.GOOS + "/" + runtime.GOARCH,
		ClientGo:   "unknown",
		Kubernetes: Kubernetes,
	}
	if info.Version == "" {
		info.Version = Devel // test binaries carry no main module version
	}
	var goos, goarch string
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.GitCommit = s.Value
		case "vcs.time":
			info.GitCommitTime = s.Value
		case "vcs.modified":
			info.GitTreeState = "clean"
			if s.Value == "true" {
				info.GitTreeState = "dirty"
			}
		case "GOOS":
			goos = s.Value
		case "GOARCH":
			goarch = s.Value
		}
	}
	if goos != "" && goarch != "" {
		info.Platform = goos + "/" + goarch
	}
	for _, dep := range bi.Deps {
		if dep.Path != clientGo {
			continue
		}
		switch {
		case dep.Replace == nil:
			info.ClientGo = dep.Version
		case dep.Replace.Version != "":
			info.ClientGo = dep.Replace.Version
		default: // replaced by a directory: its code, not dep.Version's
			info.ClientGo = dep.Version + " => " + dep.Replace.Path
		}
	}
	return info
}
