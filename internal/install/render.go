// Package install renders bulkhead's controller manifests (the kustomize tree
// embedded from config/) and applies them with server-side apply: the CRDs
// first, once they are Established the rest. It is what `bulkhead install`
// runs, and renders exactly what `kubectl apply -k config/default` applies.
package install

import (
	"bytes"
	"fmt"
	"io/fs"
	"path"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/pkg/util"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/bulkhead-dev/bulkhead/config"
)

// Where the controller's image is named in the tree: the images entry of
// the manager kustomization that replaces the placeholder "controller".
const (
	imageKustomization = "manager/kustomization.yaml"
	imagePlaceholder   = "controller"
)

// Options say what to render.
type Options struct {
	// Image, when set, replaces the controller image of the tree
	// (NAME[:TAG][@DIGEST]), as `kustomize edit set image controller=IMAGE` would.
	Image string
}

// Manifests are the rendered objects, in kustomize's legacy order
// (Namespaces and CRDs first), and the same as one YAML stream.
type Manifests struct {
	Objects []*unstructured.Unstructured
	YAML    []byte
}

// Render builds config/default from the embedded tree.
func Render(o Options) (*Manifests, error) {
	mem, err := memFS(config.FS)
	if err != nil {
		return nil, fmt.Errorf("read embedded manifests: %w", err)
	}
	if o.Image != "" {
		if err := setImage(mem, o.Image); err != nil {
			return nil, err
		}
	}
	opts := krusty.MakeDefaultOptions()
	opts.Reorder = krusty.ReorderOptionLegacy // kubectl kustomize's order
	rm, err := krusty.MakeKustomizer(opts).Run(mem, "/"+config.Default)
	if err != nil {
		return nil, fmt.Errorf("build kustomization %s: %w", config.Default, err)
	}
	out := &Manifests{}
	if out.YAML, err = rm.AsYaml(); err != nil {
		return nil, fmt.Errorf("encode manifests: %w", err)
	}
	// Through JSON, so numbers are int64 as in every unstructured object.
	for _, r := range rm.Resources() {
		b, err := r.MarshalJSON()
		if err != nil {
			return nil, fmt.Errorf("encode %s: %w", r.CurId(), err)
		}
		u := &unstructured.Unstructured{}
		if err := u.UnmarshalJSON(b); err != nil {
			return nil, fmt.Errorf("decode %s: %w", r.CurId(), err)
		}
		out.Objects = append(out.Objects, u)
	}
	return out, nil
}

// memFS copies an fs.FS into kustomize's in-memory file system, rooted at /.
func memFS(src fs.FS) (filesys.FileSystem, error) {
	mem := filesys.MakeFsInMemory()
	err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return mem.MkdirAll(path.Join("/", p))
		}
		b, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		return mem.WriteFile(path.Join("/", p), b)
	})
	return mem, err
}

// setImage rewrites the images entry of the placeholder, or adds one.
func setImage(mem filesys.FileSystem, image string) error {
	name, tag, digest := util.SplitImageName(image)
	if name == "" {
		return fmt.Errorf("image %q has no name: give NAME[:TAG][@DIGEST], e.g. ghcr.io/bulkhead-dev/bulkhead:v0.1.0", image)
	}
	file := "/" + imageKustomization
	b, err := mem.ReadFile(file)
	if err != nil {
		return fmt.Errorf("read embedded %s: %w", imageKustomization, err)
	}
	var k types.Kustomization
	if err := yaml.UnmarshalStrict(b, &k); err != nil {
		return fmt.Errorf("parse embedded %s: %w", imageKustomization, err)
	}
	want := types.Image{Name: imagePlaceholder, NewName: name, NewTag: tag, Digest: digest}
	replaced := false
	for i := range k.Images {
		if k.Images[i].Name == imagePlaceholder {
			k.Images[i], replaced = want, true
		}
	}
	if !replaced {
		k.Images = append(k.Images, want)
	}
	if b, err = yaml.Marshal(k); err != nil {
		return fmt.Errorf("encode %s: %w", imageKustomization, err)
	}
	return mem.WriteFile(file, b)
}

// ObjectName is how kubectl names an object in its output:
// kind.group/name, the kind lowercased, no group for the core API.
func ObjectName(u *unstructured.Unstructured) string {
	gvk := u.GroupVersionKind()
	kind := string(bytes.ToLower([]byte(gvk.Kind)))
	if gvk.Group != "" {
		kind += "." + gvk.Group
	}
	return kind + "/" + u.GetName()
}
