package render

import (
	"bytes"
	"fmt"

	"sigs.k8s.io/yaml"
)

// YAML writes objects as one multi-document YAML stream, the form
// `kubectl apply -f` reads.
func YAML(objs []Object) ([]byte, error) {
	var buf bytes.Buffer
	for i, o := range objs {
		b, err := yaml.Marshal(o)
		if err != nil {
			return nil, fmt.Errorf("marshal %s/%s: %w", *o.GetKind(), *o.GetName(), err)
		}
		if i > 0 {
			buf.WriteString("---\n")
		}
		buf.Write(b)
	}
	return buf.Bytes(), nil
}
