package version

import (
	"encoding/json"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"
)

func TestFromBuildInfo(t *testing.T) {
	clientGo := &debug.Module{Path: "k8s.io/client-go", Version: "v0.34.4"}
	vcs := func(modified string) []debug.BuildSetting {
		return []debug.BuildSetting{
			{Key: "GOOS", Value: "darwin"}, {Key: "GOARCH", Value: "arm64"},
			{Key: "vcs", Value: "git"},
			{Key: "vcs.revision", Value: "18a8f8a880ec31c1a3cc0c574128e3da5628c116"},
			{Key: "vcs.time", Value: "2026-12-02T00:54:25Z"},
			{Key: "vcs.modified", Value: modified},
		}
	}
	cases := []struct {
		name string
		bi   debug.BuildInfo
		want Info
	}{{
		name: "go install @latest: a tag, no commit",
		bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.3.0"}, Deps: []*debug.Module{clientGo},
			Settings: []debug.BuildSetting{{Key: "GOOS", Value: "linux"}, {Key: "GOARCH", Value: "amd64"}}},
		want: Info{Version: "v0.3.0", GoVersion: "go1.26.8", Platform: "linux/amd64", ClientGo: "v0.34.4", Kubernetes: "v1.34"},
	}, {
		name: "build in a clean clone",
		bi:   debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261202005425-18a8f8a880ec"}, Deps: []*debug.Module{clientGo}, Settings: vcs("false")},
		want: Info{Version: "v0.0.0-20261202005425-18a8f8a880ec", GitCommit: "18a8f8a880ec31c1a3cc0c574128e3da5628c116",
			GitTreeState: "clean", GitCommitTime: "2026-12-02T00:54:25Z", GoVersion: "go1.26.8", Platform: "darwin/arm64", ClientGo: "v0.34.4", Kubernetes: "v1.34"},
	}, {
		name: "build in a clone with changes",
		bi:   debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.0.0-20261202005425-18a8f8a880ec+dirty"}, Deps: []*debug.Module{clientGo}, Settings: vcs("true")},
		want: Info{Version: "v0.0.0-20261202005425-18a8f8a880ec+dirty", GitCommit: "18a8f8a880ec31c1a3cc0c574128e3da5628c116",
			GitTreeState: "dirty", GitCommitTime: "2026-12-02T00:54:25Z", GoVersion: "go1.26.8", Platform: "darwin/arm64", ClientGo: "v0.34.4", Kubernetes: "v1.34"},
	}, {
		name: "worktree or -buildvcs=false: devel, no commit",
		bi:   debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}, Deps: []*debug.Module{clientGo}},
		want: Info{Version: Devel, GoVersion: "go1.26.8", Platform: runtime.GOOS + "/" + runtime.GOARCH, ClientGo: "v0.34.4", Kubernetes: "v1.34"},
	}, {
		name: "client-go replaced by another version",
		bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.3.0"},
			Deps: []*debug.Module{{Path: "k8s.io/client-go", Version: "v0.34.4", Replace: &debug.Module{Path: "k8s.io/client-go", Version: "v0.34.5"}}}},
		want: Info{Version: "v0.3.0", GoVersion: "go1.26.8", Platform: runtime.GOOS + "/" + runtime.GOARCH, ClientGo: "v0.34.5", Kubernetes: "v1.34"},
	}, {
		name: "client-go replaced by a directory",
		bi: debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v0.3.0"},
			Deps: []*debug.Module{{Path: "k8s.io/client-go", Version: "v0.34.4", Replace: &debug.Module{Path: "../client-go"}}}},
		want: Info{Version: "v0.3.0", GoVersion: "go1.26.8", Platform: runtime.GOOS + "/" + runtime.GOARCH, ClientGo: "v0.34.4 => ../client-go", Kubernetes: "v1.34"},
	}, {
		name: "test binary: no main version, no client-go",
		bi:   debug.BuildInfo{GoVersion: "go1.26.8"},
		want: Info{Version: Devel, GoVersion: "go1.26.8", Platform: runtime.GOOS + "/" + runtime.GOARCH, ClientGo: "unknown", Kubernetes: "v1.34"},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := FromBuildInfo(&c.bi); got != c.want {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
		})
	}
}

func TestReadReportsTheRunningToolchain(t *testing.T) {
	info := Read()
	if info.GoVersion != runtime.Version() {
		t.Errorf("GoVersion %q, want %q", info.GoVersion, runtime.Version())
	}
	if info.Kubernetes != Kubernetes || info.Version == "" {
		t.Errorf("got %+v", info)
	}
}

// TestTargetIsTheBootstrapPolicyVersion keeps the two things the target
// stands for in step: the Pod Security pin and the bootstrap RBAC policy
// audit embeds (hack/baseline.sh regenerates it).
func TestTargetIsTheBootstrapPolicyVersion(t *testing.T) {
	raw, err := os.ReadFile("../audit/baseline/rbac-defaults.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Version string `json:"version"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.Version, Kubernetes+".") {
		t.Errorf("the embedded bootstrap policy is %s's, the target is %s: regenerate one or change the other", doc.Version, Kubernetes)
	}
}
