package spec

import (
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// StdinName is the file name standard input is reported under.
const StdinName = "<stdin>"

// maxInputSize bounds what is read from one input. Tenant specs are a few
// kilobytes; the bound stops `-f /dev/zero` or a mistyped path to a disk
// image from eating all memory.
const maxInputSize = 16 << 20

// Tenant is a loaded, defaulted tenant and where it came from.
type Tenant struct {
	v1alpha1.Tenant
	Source Source
}

// Load reads every path: files (whatever their extension), directories
// (recursively, taking *.yaml and *.yml files in lexical order and skipping
// hidden entries) and "-" for stdin. It decodes every document strictly,
// validates the tenants, applies the defaults (the TenantDefaults each
// tenant names in spec.defaults, wherever it appears in the input) and returns the tenants in
// input order, each with complete guardrails. On any problem it returns no
// tenants and an *Errors listing every problem found, so that nothing is
// applied from a half-valid spec. LoadAll also returns the TenantDefaults.
func Load(paths []string, stdin io.Reader) ([]Tenant, error) {
	in, err := LoadAll(paths, stdin)
	if err != nil {
		return nil, err
	}
	return in.Tenants, nil
}

// LoadAll is Load returning everything loaded.
func LoadAll(paths []string, stdin io.Reader) (*Input, error) {
	l := &loader{stdin: stdin}
	if len(paths) == 0 {
		l.errs = append(l.errs, Error{Detail: "no input given; pass spec files, directories or - for standard input"})
	}
	for _, p := range paths {
		l.add(p)
	}
	return l.finish()
}

// Parse is Load for one in-memory document stream; name stands for the file
// in messages.
func Parse(name string, data []byte) ([]Tenant, error) {
	in, err := ParseAll(name, data)
	if err != nil {
		return nil, err
	}
	return in.Tenants, nil
}

// ParseAll is Parse returning everything loaded.
func ParseAll(name string, data []byte) (*Input, error) {
	l := &loader{inputs: []input{{name: name, data: data}}, order: []string{name}}
	return l.finish()
}

type input struct {
	name string
	data []byte
}

// loader gathers inputs and problems of one Load or Parse call.
type loader struct {
	stdin     io.Reader
	stdinRead bool
	inputs    []input
	errs      []Error
	// order lists every name in input order, including those that failed
	// to read, to sort problems by.
	order []string
}

func (l *loader) fail(name, detail string) {
	l.order = append(l.order, name)
	l.errs = append(l.errs, Error{File: name, Detail: detail})
}

func (l *loader) add(path string) {
	if path == "-" {
		l.addStdin()
		return
	}
	info, err := os.Stat(path)
	if err != nil {
		l.fail(path, readProblem(err))
		return
	}
	if info.IsDir() {
		l.addDir(path)
		return
	}
	l.addFile(path)
}

func (l *loader) addStdin() {
	switch {
	case l.stdinRead:
		l.fail(StdinName, "standard input (-) is given more than once; give it once")
	case l.stdin == nil:
		l.fail(StdinName, "standard input (-) is not available here; pass a file instead")
	default:
		l.stdinRead = true
		l.read(StdinName, l.stdin)
	}
}

func (l *loader) addFile(path string) {
	f, err := os.Open(path)
	if err != nil {
		l.fail(path, readProblem(err))
		return
	}
	defer f.Close()
	l.read(path, f)
}

func (l *loader) read(name string, r io.Reader) {
	data, err := io.ReadAll(io.LimitReader(r, maxInputSize+1))
	switch {
	case err != nil:
		l.fail(name, readProblem(err))
	case len(data) > maxInputSize:
		l.fail(name, "input is larger than 16 MiB, far more than any tenant spec; check that this is the right file")
	default:
		l.inputs = append(l.inputs, input{name: name, data: data})
		l.order = append(l.order, name)
	}
}

// addDir adds the YAML files under root. Hidden files and directories are
// skipped: they are editor backups, VCS metadata or, in a mounted
// ConfigMap, "..data" links that would load every file twice. Symbolic links
// to files are followed; links to directories are not, so a link loop
// cannot hang the walk.
func (l *loader) addDir(root string) {
	var files []string
	failed := false
	walkErr := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			l.fail(path, readProblem(err))
			failed = true
			return nil
		}
		if path != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !hasYAMLExt(d.Name()) {
			return nil
		}
		if d.Type()&fs.ModeSymlink != 0 {
			info, err := os.Stat(path)
			if err != nil {
				l.fail(path, readProblem(err))
				failed = true
				return nil
			}
			if !info.Mode().IsRegular() {
				return nil
			}
		} else if !d.Type().IsRegular() {
			return nil
		}
		files = append(files, path)
		return nil
	})
	if walkErr != nil {
		l.fail(root, readProblem(walkErr))
		return
	}
	if len(files) == 0 && !failed {
		l.fail(root, "directory holds no *.yaml or *.yml files; pass the directory with the tenant specs")
		return
	}
	for _, f := range files {
		l.addFile(f)
	}
}

func hasYAMLExt(name string) bool {
	ext := filepath.Ext(name)
	return ext == ".yaml" || ext == ".yml"
}

// readProblem words a file system error without repeating the path, which
// the Error already carries.
func readProblem(err error) string {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return "no such file or directory; check the path"
	case errors.Is(err, fs.ErrPermission):
		return "permission denied; check the file's permissions"
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		err = pe.Err
	}
	return "cannot read: " + err.Error()
}
