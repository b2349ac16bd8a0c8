// Package kubeconfig builds and writes the kubeconfig files handed to tenant
// members, with client-go's clientcmd rather than text templates.
package kubeconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Cluster is where a kubeconfig points.
type Cluster struct {
	Name     string // the admin's cluster name, kept so members recognise it
	Server   string
	CAData   []byte
	Insecure bool // only when the admin's own kubeconfig skips TLS verification
}

// ClusterFromREST takes server and CA from an admin's client configuration.
func ClusterFromREST(name string, c *rest.Config) (Cluster, error) {
	ca := c.CAData
	if len(ca) == 0 && c.CAFile != "" {
		b, err := os.ReadFile(c.CAFile)
		if err != nil {
			return Cluster{}, fmt.Errorf("read the cluster's CA file: %w", err)
		}
		ca = b
	}
	return Cluster{Name: name, Server: c.Host, CAData: ca, Insecure: c.Insecure}, nil
}

// ForToken returns a kubeconfig for one member, whose only context points at
// the tenant's namespace.
func ForToken(cl Cluster, user, namespace, token string) *clientcmdapi.Config {
	cfg := clientcmdapi.NewConfig()
	cluster := clientcmdapi.NewCluster()
	cluster.Server = cl.Server
	cluster.CertificateAuthorityData = cl.CAData
	cluster.InsecureSkipTLSVerify = cl.Insecure && len(cl.CAData) == 0
	cfg.Clusters[cl.Name] = cluster

	auth := clientcmdapi.NewAuthInfo()
	auth.Token = token
	cfg.AuthInfos[user] = auth

	ctx := clientcmdapi.NewContext()
	ctx.Cluster = cl.Name
	ctx.AuthInfo = user
	ctx.Namespace = namespace
	name := user + "@" + cl.Name
	cfg.Contexts[name] = ctx
	cfg.CurrentContext = name
	return cfg
}

// Encode serialises cfg as kubectl writes kubeconfig files.
func Encode(cfg *clientcmdapi.Config) ([]byte, error) {
	return clientcmd.Write(*cfg)
}

// ErrExists is returned by WriteFile when path exists and force is false.
var ErrExists = errors.New("file exists")

// WriteFile writes cfg to path with mode 0600, atomically: a reader sees the
// old file or the new one, never half of one, and the token is never in a
// file readable by others, not even briefly.
func WriteFile(cfg *clientcmdapi.Config, path string, force bool) error {
	if !force {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%s: %w; pass --force to overwrite it", path, ErrExists)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	data, err := Encode(cfg)
	if err != nil {
		return fmt.Errorf("encode kubeconfig: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write kubeconfig: %w", err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	if !force {
		// Link fails if path appeared meanwhile, so a concurrent writer is not clobbered.
		if err := os.Link(tmp.Name(), path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				return fmt.Errorf("%s: %w; pass --force to overwrite it", path, ErrExists)
			}
			return fmt.Errorf("write kubeconfig %s: %w", path, err)
		}
		return nil
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}
