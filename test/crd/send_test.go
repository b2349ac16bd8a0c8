package crd_test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// sent is what became of one document of a fixture: it did not get to the
// server (client holds why), or the server answered (refused is nil when it
// accepted the object).
type sent struct {
	client  error
	refused error
}

// sendFile sends every document of a YAML file to the API server as a
// server-side dry-run create, the way kubectl does: strict YAML decoding,
// the REST mapping of its apiVersion and kind, fieldValidation=Strict.
// Empty documents are skipped.
func (e *env) sendFile(ctx context.Context, path string) ([]sent, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return e.sendYAML(ctx, data), nil
}

func (e *env) sendYAML(ctx context.Context, data []byte) []sent {
	var out []sent
	r := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			return append(out, sent{client: err})
		}
		obj, err := decode(doc)
		switch {
		case err != nil:
			out = append(out, sent{client: err})
		case obj != nil:
			out = append(out, e.send(ctx, obj))
		}
	}
}

// decode turns one YAML document into an object; nil, nil for a document
// that holds nothing but comments.
func decode(doc []byte) (*unstructured.Unstructured, error) {
	js, err := yaml.YAMLToJSONStrict(doc)
	if err != nil {
		return nil, fmt.Errorf("decode YAML: %w", err)
	}
	if string(bytes.TrimSpace(js)) == "null" {
		return nil, nil
	}
	var obj map[string]any
	if err := yaml.Unmarshal(js, &obj); err != nil {
		return nil, fmt.Errorf("decode object: %w", err)
	}
	return &unstructured.Unstructured{Object: obj}, nil
}

func (e *env) send(ctx context.Context, obj *unstructured.Unstructured) sent {
	gvk := obj.GroupVersionKind()
	mapping, err := e.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		return sent{client: fmt.Errorf("map %s: %w", gvk, err)}
	}
	_, err = e.dynamic.Resource(mapping.Resource).Create(ctx, obj, metav1.CreateOptions{
		DryRun:          []string{metav1.DryRunAll},
		FieldValidation: metav1.FieldValidationStrict,
	})
	return sent{refused: err}
}

// refusals joins the server's refusals of the documents; it fails the test
// on any other error (a refusal is Invalid or BadRequest).
func refusals(t *testing.T, docs []sent) string {
	t.Helper()
	var msgs []string
	for _, d := range docs {
		if d.refused == nil {
			continue
		}
		if !apierrors.IsInvalid(d.refused) && !apierrors.IsBadRequest(d.refused) {
			t.Errorf("the server failed rather than refused: %v", d.refused)
		}
		msgs = append(msgs, d.refused.Error())
	}
	return strings.Join(msgs, "\n")
}

// sendTenant sends one Tenant whose spec is given as YAML.
func (e *env) sendTenant(t *testing.T, name, spec string) sent {
	t.Helper()
	doc := "apiVersion: bulkhead.dev/v1alpha1\nkind: Tenant\nmetadata:\n  name: " + name + "\nspec:\n" + spec
	docs := e.sendYAML(context.Background(), []byte(doc))
	if len(docs) != 1 || docs[0].client != nil {
		t.Fatalf("tenant %s did not reach the server: %+v", name, docs)
	}
	return docs[0]
}
