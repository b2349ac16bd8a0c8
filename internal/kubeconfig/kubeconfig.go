// Package kubeconfig builds and writes the kubeconfig files handed to tenant
// members, with client-go's clientcmd rather than text templates.
package kubeconfig

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Cluster is where a kubeconfig points.
type Cluster struct {
	Name   string // the admin's cluster name, kept so members recognise it
	Server string
	CAData []byte
	// Insecure says the admin's own kubeconfig skips TLS verification
	// (insecure-skip-tls-verify). A member's kubeconfig never does: see Check.
	Insecure bool
}

// ErrInsecure is returned by Check for a cluster whose certificate the
// admin's kubeconfig does not verify and that has no CA to verify it with.
var ErrInsecure = errors.New("TLS verification is skipped and no CA is known")

// Check refuses a cluster that a member's kubeconfig could reach only
// without TLS verification: one the admin's kubeconfig skips verification
// for (insecure-skip-tls-verify), unless a CA was given since. A token
// sent without verification goes to whoever answers, so bulkhead neither
// copies the setting nor drops it silently (the file would not work).
func (c Cluster) Check() error {
	if c.Insecure && len(c.CAData) == 0 {
		return fmt.Errorf("cluster %s: %w", c.Name, ErrInsecure)
	}
	return nil
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
// the tenant's namespace. It verifies the server's certificate, with
// cl.CAData or else the system's roots, whatever cl.Insecure says (Check
// first).
func ForToken(cl Cluster, user, namespace, token string) *clientcmdapi.Config {
	cfg := clientcmdapi.NewConfig()
	cluster := clientcmdapi.NewCluster()
	cluster.Server = cl.Server
	cluster.CertificateAuthorityData = cl.CAData
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

// Encode serialises cfg as kubectl writes kubeconfig files. It refuses a
// cfg that skips TLS verification for any cluster.
func Encode(cfg *clientcmdapi.Config) ([]byte, error) {
	for name, c := range cfg.Clusters {
		if c.InsecureSkipTLSVerify {
			return nil, fmt.Errorf("cluster %s: %w", name, ErrInsecure)
		}
	}
	return clientcmd.Write(*cfg)
}

// ErrExists is wrapped in the *PathError WriteFile and CheckPath return
// when the path exists and overwriting was not asked for.
var ErrExists = errors.New("file exists")

// PathError says why no kubeconfig can be written at Path. Nothing was
// written there.
type PathError struct {
	Path string
	// Problem says what is wrong with Path, e.g. "is a directory".
	Problem string
	// Fix says what to do about it.
	Fix string
	// Err is ErrExists when the path is merely taken, else the error that
	// showed the problem, if any.
	Err error
}

func (e *PathError) Error() string { return e.Path + " " + e.Problem + "; " + e.Fix }
func (e *PathError) Unwrap() error { return e.Err }

// CheckPath returns the *PathError WriteFile would return for path, nil when
// WriteFile can write there: path is a regular file (only with overwrite)
// or nothing yet, in a directory that exists and is writable. It proves the
// directory writable by creating and removing a temporary file, so that a
// caller can check before it obtains a token it would have to throw away.
func CheckPath(path string, overwrite bool) error {
	if err := checkTarget(path, overwrite); err != nil {
		return err
	}
	tmp, err := createTemp(path)
	if err != nil {
		return err
	}
	tmp.Close()
	return os.Remove(tmp.Name())
}

// checkTarget refuses what WriteFile must not replace. A symbolic link is
// refused even with overwrite: replacing it would surprise whoever made it,
// and following it could put a token anywhere.
func checkTarget(path string, overwrite bool) error {
	fi, err := os.Lstat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
			return checkDir(path)
		}
		return &PathError{Path: path, Problem: "cannot be examined: " + errorReason(err), Fix: "choose another path", Err: err}
	}
	switch m := fi.Mode(); {
	case m.IsDir():
		return &PathError{Path: path, Problem: "is a directory", Fix: "name a file inside it"}
	case m&fs.ModeSymlink != 0:
		problem := "is a symbolic link"
		if target, err := os.Readlink(path); err == nil {
			problem += " to " + target
		}
		return &PathError{Path: path, Problem: problem,
			Fix: "kubeconfigs are never written through a link or in its place; name the file itself, or remove the link"}
	case !m.IsRegular():
		return &PathError{Path: path, Problem: "is not a regular file (" + describeMode(m) + ")", Fix: "choose another path"}
	case !overwrite:
		return existsError(path)
	}
	return nil
}

func existsError(path string) error {
	return &PathError{Path: path, Problem: "exists", Fix: "remove it or choose another path", Err: ErrExists}
}

// checkDir says why the directory of path, which does not exist, cannot
// hold it.
func checkDir(path string) error {
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		return &PathError{Path: path, Problem: "cannot be created: directory " + dir + " does not exist",
			Fix: "create the directory first, or choose another path", Err: err}
	case err != nil:
		return &PathError{Path: path, Problem: "cannot be created: " + errorReason(err), Fix: "choose another path", Err: err}
	case !fi.IsDir():
		return &PathError{Path: path, Problem: "cannot be created: " + dir + " is not a directory", Fix: "choose another path"}
	}
	return nil
}

// createTemp creates the file WriteFile fills and renames into place, in
// path's directory (a rename is atomic only within a file system).
func createTemp(path string) (*os.File, error) {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*")
	switch {
	case err == nil:
		return tmp, nil
	case errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS):
		return nil, &PathError{Path: path, Problem: "cannot be written: directory " + dir + " is not writable (" + errorReason(err) + ")",
			Fix: "choose a directory you can write to", Err: err}
	case errors.Is(err, fs.ErrNotExist):
		return nil, checkDir(path)
	}
	return nil, fmt.Errorf("write kubeconfig %s: %w", path, err)
}

// errorReason is the system's reason without the operation and path that
// *fs.PathError repeats.
func errorReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func describeMode(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "mode " + m.String()
}

// WriteFile writes cfg to path with mode 0600, atomically: a reader sees the
// old file or the new one, never half of one, and the token is never in a
// file readable by others, not even briefly. An existing file is replaced
// only with overwrite; directories, symbolic links and other special files
// never are (see CheckPath). Problems of the path itself are *PathError.
func WriteFile(cfg *clientcmdapi.Config, path string, overwrite bool) error {
	if err := checkTarget(path, overwrite); err != nil {
		return err
	}
	data, err := Encode(cfg)
	if err != nil {
		return fmt.Errorf("encode kubeconfig: %w", err)
	}
	tmp, err := createTemp(path)
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
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
	if !overwrite {
		// Link fails if path appeared meanwhile, so a concurrent writer is not clobbered.
		if err := os.Link(tmp.Name(), path); err != nil {
			if errors.Is(err, fs.ErrExist) {
				if err := checkTarget(path, false); err != nil {
					return err // say what appeared
				}
				return existsError(path)
			}
			return fmt.Errorf("write kubeconfig %s: %w", path, err)
		}
		return nil
	}
	// Rename replaces a link that appeared since checkTarget rather than
	// writing through it; it fails on a directory.
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write kubeconfig %s: %w", path, err)
	}
	return nil
}
