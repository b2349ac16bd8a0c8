package audit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strings"

	admissionregistrationv1 "k8s.io/api/admissionregistration/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
	"github.com/bulkhead-dev/bulkhead/internal/render"
	"github.com/bulkhead-dev/bulkhead/internal/spec"
)

// ReadFiles builds a snapshot from manifests: files, directories of *.yaml
// and *.yml files, or "-" for stdin, each a stream of YAML or JSON documents.
// Documents may be Namespaces, ServiceAccounts, Secrets, Roles, ClusterRoles,
// RoleBindings, ClusterRoleBindings, ValidatingAdmissionPolicies and their bindings,
// Lists of those (kubectl get -o yaml), and bulkhead Tenant and
// TenantDefaults specs, which are rendered as bulkhead apply would provision
// them. Other kinds are counted in Ignored and otherwise skipped. Any
// malformed document fails the whole read with *spec.Errors, every problem
// with its file and line.
func ReadFiles(paths []string, stdin io.Reader) (*Snapshot, Ignored, error) {
	files, err := spec.ReadFiles(paths, stdin)
	if errs, ok := err.(*spec.Errors); ok {
		return nil, nil, &ManifestErrors{Errs: *errs}
	} else if err != nil {
		return nil, nil, err
	}
	snap, ignored, err := ParseFiles(files)
	if err != nil {
		return nil, nil, err
	}
	snap.Source = "files: " + Abbreviate(paths, 5)
	return snap, ignored, nil
}

// Ignored counts the documents of kinds audit does not read, by kind, when
// they could matter to access (workloads that run as ServiceAccounts,
// webhooks, custom resources an operator may act on): kinds that grant
// nothing (grantsNothing) are skipped silently.
type Ignored map[string]int

func (ig Ignored) String() string {
	kinds := make([]string, 0, len(ig))
	for k, n := range ig {
		kinds = append(kinds, fmt.Sprintf("%d %s", n, k))
	}
	sort.Strings(kinds)
	return strings.Join(kinds, ", ")
}

// ParseFiles is ReadFiles for inputs already in memory.
func ParseFiles(files []spec.File) (*Snapshot, Ignored, error) {
	p := &parser{snap: &Snapshot{Origins: map[string]string{}}, ignored: Ignored{}, seen: map[string]string{}}
	var tenantFiles []spec.File
	for _, f := range files {
		if blanked, ok := p.file(f); ok {
			tenantFiles = append(tenantFiles, spec.File{Name: f.Name, Data: blanked})
		}
	}
	if len(tenantFiles) > 0 {
		p.tenants(tenantFiles)
	}
	if len(p.errs) > 0 {
		return nil, nil, &ManifestErrors{Errs: p.errs}
	}
	base, err := loadBaseline()
	if err != nil {
		return nil, nil, err
	}
	base.addTo(p.snap)
	return p.snap, p.ignored, nil
}

type parser struct {
	snap    *Snapshot
	ignored Ignored
	seen    map[string]string // object key -> origin, to refuse duplicates
	errs    spec.Errors
}

func (p *parser) fail(file string, line int, field, format string, args ...any) {
	p.errs = append(p.errs, spec.Error{File: file, Line: line, Field: field, Detail: fmt.Sprintf(format, args...)})
}

// file reads one stream. When it holds bulkhead documents it also returns
// the stream with every other document blanked out (line for line, so the
// spec loader's line numbers stay those of the file).
func (p *parser) file(f spec.File) ([]byte, bool) {
	var blanked bytes.Buffer
	hasTenants := false
	for _, c := range spec.Documents(f.Data) {
		c.Line = contentLine(c)
		var tm struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := yaml.Unmarshal(c.Text, &tm); err != nil {
			p.fail(f.Name, c.Line, "", "not a valid YAML or JSON document: %v", cleanYAMLError(err))
			blanked.Write(blankLines(c.Text))
			continue
		}
		if strings.HasPrefix(tm.APIVersion, v1alpha1.GroupName+"/") {
			hasTenants = true
			blanked.Write(c.Text)
			continue
		}
		blanked.Write(blankLines(c.Text))
		p.object(f.Name, c.Line, c.Text, tm.APIVersion, tm.Kind)
	}
	return blanked.Bytes(), hasTenants
}

// blankLines keeps only the line breaks of text.
func blankLines(text []byte) []byte {
	return bytes.Repeat([]byte("\n"), bytes.Count(text, []byte("\n")))
}

// grantsNothing are the kinds that cannot change who may do what: skipping
// them is not worth a word.
var grantsNothing = map[string]bool{
	"LimitRange": true, "ConfigMap": true, "Service": true, "Endpoints": true, "EndpointSlice": true, "Ingress": true,
	"IngressClass": true, "PersistentVolumeClaim": true, "PriorityClass": true, "StorageClass": true, "PodDisruptionBudget": true,
	"HorizontalPodAutoscaler": true, "Event": true, "Lease": true, "RuntimeClass": true, "CustomResourceDefinition": true,
	"Kustomization": true,
}

// kinds audit reads, by kind, with the apiVersion each must have.
var readKinds = map[string]string{
	"Namespace":                        "v1",
	"ServiceAccount":                   "v1",
	"Secret":                           "v1",
	"Role":                             "rbac.authorization.k8s.io/v1",
	"ClusterRole":                      "rbac.authorization.k8s.io/v1",
	"RoleBinding":                      "rbac.authorization.k8s.io/v1",
	"ClusterRoleBinding":               "rbac.authorization.k8s.io/v1",
	"ValidatingAdmissionPolicyBinding": "admissionregistration.k8s.io/v1",
	"ValidatingAdmissionPolicy":        "admissionregistration.k8s.io/v1",
	"NetworkPolicy":                    "networking.k8s.io/v1",
	"ResourceQuota":                    "v1",
}

var namespacedKinds = map[string]bool{"ServiceAccount": true, "Secret": true, "Role": true, "RoleBinding": true, "NetworkPolicy": true, "ResourceQuota": true}

// object decodes one document (or the items of a List) into the snapshot.
func (p *parser) object(file string, line int, data []byte, apiVersion, kind string) {
	switch {
	case kind == "" && apiVersion == "":
		return // an empty document, or only comments
	case kind == "":
		p.fail(file, line, "kind", "Required value: every document needs apiVersion and kind")
		return
	case kind == "List" || strings.HasSuffix(kind, "List"):
		var list struct {
			Items []json.RawMessage `json:"items"`
		}
		if err := yaml.Unmarshal(data, &list); err != nil {
			p.fail(file, line, "items", "cannot read the %s: %v", kind, cleanYAMLError(err))
			return
		}
		for i, item := range list.Items {
			var tm struct {
				APIVersion string `json:"apiVersion"`
				Kind       string `json:"kind"`
			}
			if err := json.Unmarshal(item, &tm); err != nil || tm.Kind == "" {
				p.fail(file, line, fmt.Sprintf("items[%d]", i), "Required value: every item needs apiVersion and kind")
				continue
			}
			p.object(file, line, item, tm.APIVersion, tm.Kind)
		}
		return
	}
	want, known := readKinds[kind]
	if !known {
		if !grantsNothing[kind] {
			p.ignored[kind]++
		}
		return
	}
	if apiVersion != want {
		hint := ""
		if strings.HasPrefix(apiVersion, "rbac.authorization.k8s.io/") {
			hint = " (v1alpha1 and v1beta1 are no longer served since Kubernetes 1.22)"
		}
		p.fail(file, line, "apiVersion", "Unsupported value: %q for %s%s; use %s", apiVersion, kind, hint, want)
		return
	}
	var meta objectMeta
	if err := yaml.Unmarshal(data, &meta); err != nil {
		p.fail(file, line, "metadata", "%s: %v", kind, cleanYAMLError(err))
		return
	}
	switch {
	case meta.Metadata.Name == "":
		p.fail(file, line, "metadata.name", "Required value: %s without a name", kind)
		return
	case namespacedKinds[kind] && meta.Metadata.Namespace == "":
		p.fail(file, line, "metadata.namespace", "Required value: %s %s has no namespace, so it would land in whatever "+
			"namespace kubectl is pointed at; add metadata.namespace so the audit knows where it applies", kind, meta.Metadata.Name)
		return
	case !namespacedKinds[kind] && meta.Metadata.Namespace != "":
		p.fail(file, line, "metadata.namespace", "Invalid value: %q: %s is cluster-scoped; remove metadata.namespace", meta.Metadata.Namespace, kind)
		return
	}
	key := objectKey(kind, meta.Metadata.Namespace, meta.Metadata.Name)
	origin := fmt.Sprintf("%s:%d", file, line)
	if prev, dup := p.seen[key]; dup {
		p.fail(file, line, "metadata.name", "Duplicate value: %s is also defined at %s; the API server would keep only "+
			"the last one applied, so remove one of them", key, prev)
		return
	}
	if err := p.decode(kind, data); err == nil {
		if field, detail := p.invalid(kind); detail != "" {
			p.fail(file, line, field, "%s: %s", key, detail)
			return
		}
	} else {
		msg := cleanYAMLError(err)
		field := ""
		if m := unknownField.FindStringSubmatch(msg); m != nil {
			field = m[1]
			line = fieldLine(data, field, line)
			msg = fmt.Sprintf("unknown field %q: %s has no such field; check its spelling against the %s API (a misspelt field changes what it grants)", field, kind, kind)
		}
		p.fail(file, line, field, "%s: %s", key, msg)
		return
	}
	p.seen[key] = origin
	p.snap.Origins[key] = origin
}

// ManifestErrors is every problem a read found, each with file and line.
// It unwraps to *spec.Errors, so callers treat it as invalid input.
type ManifestErrors struct{ Errs spec.Errors }

func (m *ManifestErrors) Error() string {
	noun := "problems"
	if len(m.Errs) == 1 {
		noun = "problem"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s in the manifests:", len(m.Errs), noun)
	for _, e := range m.Errs {
		b.WriteString("\n  ")
		b.WriteString(e.Error())
	}
	return b.String()
}

func (m *ManifestErrors) Unwrap() error { return &m.Errs }

var unknownField = regexp.MustCompile(`unknown field "([^"]+)"`)

// contentLine is the line of a document's first content (not the "---"
// marker, a comment or a blank line above it).
func contentLine(c spec.Chunk) int {
	for i, l := range strings.Split(string(c.Text), "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, "%") || t == "---" || strings.HasPrefix(t, "--- ") {
			continue
		}
		return c.Line + i
	}
	return c.Line
}

// fieldLine finds the line of the key path's last element in a document
// that starts at line start; start when it is not there (JSON on one line).
func fieldLine(data []byte, path string, start int) int {
	key := path[strings.LastIndex(path, ".")+1:]
	re := regexp.MustCompile(`^\s*(-\s+)?"?` + regexp.QuoteMeta(key) + `"?\s*:`)
	first := -1 // the index of the line start stands for
	for i, l := range strings.Split(string(data), "\n") {
		t := strings.TrimSpace(l)
		if first < 0 && (t == "" || strings.HasPrefix(t, "#") || strings.HasPrefix(t, "%") || strings.HasPrefix(t, "---")) {
			continue
		}
		if first < 0 {
			first = i
		}
		if re.MatchString(l) {
			return start + i - first
		}
	}
	return start
}

type objectMeta struct {
	Metadata struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
}

// decode decodes strictly: a misspelled field in an RBAC object changes
// what it grants, so it is an error, not a guess.
func (p *parser) decode(kind string, data []byte) error {
	s := p.snap
	switch kind {
	case "Namespace":
		var o corev1.Namespace
		return into(data, &o, func() { s.Namespaces = append(s.Namespaces, o) })
	case "ServiceAccount":
		var o corev1.ServiceAccount
		return into(data, &o, func() { s.ServiceAccounts = append(s.ServiceAccounts, o) })
	case "Secret":
		var o corev1.Secret
		return into(data, &o, func() {
			if o.Type == corev1.SecretTypeServiceAccountToken {
				s.Secrets = append(s.Secrets, TokenSecretMeta(o))
			}
		})
	case "Role":
		var o rbacv1.Role
		return into(data, &o, func() { s.Roles = append(s.Roles, o) })
	case "ClusterRole":
		var o rbacv1.ClusterRole
		return into(data, &o, func() { s.ClusterRoles = append(s.ClusterRoles, o) })
	case "RoleBinding":
		var o rbacv1.RoleBinding
		return into(data, &o, func() { s.RoleBindings = append(s.RoleBindings, o) })
	case "ClusterRoleBinding":
		var o rbacv1.ClusterRoleBinding
		return into(data, &o, func() { s.ClusterRoleBindings = append(s.ClusterRoleBindings, o) })
	case "ValidatingAdmissionPolicy":
		var o admissionregistrationv1.ValidatingAdmissionPolicy
		return into(data, &o, func() { s.AdmissionPolicies = append(s.AdmissionPolicies, o) })
	case "NetworkPolicy":
		var o networkingv1.NetworkPolicy
		return into(data, &o, func() { s.NetworkPolicies = append(s.NetworkPolicies, o) })
	case "ResourceQuota":
		var o corev1.ResourceQuota
		return into(data, &o, func() { s.ResourceQuotas = append(s.ResourceQuotas, o) })
	case "ValidatingAdmissionPolicyBinding":
		var o admissionregistrationv1.ValidatingAdmissionPolicyBinding
		return into(data, &o, func() {
			s.AdmissionPolicyBindings = append(s.AdmissionPolicyBindings, o)
		})
	}
	return nil
}

func into[T any](data []byte, o *T, keep func()) error {
	if err := yaml.UnmarshalStrict(data, o); err != nil {
		return err
	}
	keep()
	return nil
}

// TokenSecretMeta keeps what the audit needs of a token Secret (name,
// namespace, labels, the ServiceAccount it belongs to, type) and drops
// the token itself.
func TokenSecretMeta(s corev1.Secret) corev1.Secret {
	return corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{
			Name:        s.Name,
			Namespace:   s.Namespace,
			Labels:      s.Labels,
			Annotations: map[string]string{corev1.ServiceAccountNameKey: s.Annotations[corev1.ServiceAccountNameKey]},
		},
		Type: s.Type,
	}
}

// tenants renders the Tenant specs the way apply provisions them and reads
// the result like any other manifest.
func (p *parser) tenants(files []spec.File) {
	in, err := spec.ParseFiles(files)
	if err != nil {
		if errs, ok := err.(*spec.Errors); ok {
			p.errs = append(p.errs, *errs...)
			return
		}
		p.fail("", 0, "", "%v", err)
		return
	}
	ts := make([]v1alpha1.Tenant, len(in.Tenants))
	for i, t := range in.Tenants {
		ts[i] = t.Tenant
	}
	objs := render.Tenants(ts)
	data, err := render.YAML(objs)
	if err != nil {
		p.fail("", 0, "", "rendering the tenant specs: %v", err)
		return
	}
	name := renderedFrom + Abbreviate(tenantNames(in.Tenants), 3)
	before := len(p.errs)
	p.file(spec.File{Name: name, Data: data})
	if len(p.errs) > before {
		p.fail("", 0, "", "bulkhead rendered objects it cannot read back; this is a bug, please report it")
	}
}

// renderedFrom starts the origin of the objects rendered from Tenant specs.
const renderedFrom = "rendered from "

func tenantNames(ts []spec.Tenant) []string {
	out := make([]string, len(ts))
	for i, t := range ts {
		out[i] = t.Name
	}
	return out
}

// cleanYAMLError drops the "error converting YAML to JSON: " prefix the
// YAML library puts before what the user needs to know.
func cleanYAMLError(err error) string {
	msg := err.Error()
	for _, prefix := range []string{"error converting YAML to JSON: ", "error unmarshaling JSON: while decoding JSON: ", "yaml: "} {
		msg = strings.TrimPrefix(msg, prefix)
	}
	return msg
}

func objectKey(kind, namespace, name string) string {
	if namespace == "" {
		return kind + " " + name
	}
	return kind + " " + namespace + "/" + name
}

// denies reports whether a policy binding enforces (Warn and Audit only
// report).
func denies(b admissionregistrationv1.ValidatingAdmissionPolicyBinding) bool {
	for _, a := range b.Spec.ValidationActions {
		if a == admissionregistrationv1.Deny {
			return true
		}
	}
	return false
}

// invalid checks what the API server's validation would refuse in the
// binding just decoded, and that the audit would otherwise misjudge: a
// ClusterRoleBinding to a Role, unknown kinds, nameless subjects.
func (p *parser) invalid(kind string) (field, detail string) {
	var ref rbacv1.RoleRef
	var subjects []rbacv1.Subject
	switch kind {
	case "RoleBinding":
		b := p.snap.RoleBindings[len(p.snap.RoleBindings)-1]
		ref, subjects = b.RoleRef, b.Subjects
	case "ClusterRoleBinding":
		b := p.snap.ClusterRoleBindings[len(p.snap.ClusterRoleBindings)-1]
		ref, subjects = b.RoleRef, b.Subjects
		if ref.Kind == "Role" {
			return "roleRef.kind", "Unsupported value: \"Role\": a ClusterRoleBinding can only refer to a ClusterRole"
		}
	default:
		return "", ""
	}
	switch {
	case ref.Kind != "Role" && ref.Kind != "ClusterRole":
		return "roleRef.kind", fmt.Sprintf("Unsupported value: %q: supported values: \"Role\", \"ClusterRole\"", ref.Kind)
	case ref.Name == "":
		return "roleRef.name", "Required value: name the Role or ClusterRole"
	}
	for i, s := range subjects {
		at := fmt.Sprintf("subjects[%d]", i)
		switch {
		case s.Kind != rbacv1.UserKind && s.Kind != rbacv1.GroupKind && s.Kind != rbacv1.ServiceAccountKind:
			return at + ".kind", fmt.Sprintf("Unsupported value: %q: supported values: \"User\", \"Group\", \"ServiceAccount\"", s.Kind)
		case s.Name == "":
			return at + ".name", "Required value: name the subject"
		case s.Kind == rbacv1.ServiceAccountKind && s.Namespace == "" && kind == "ClusterRoleBinding":
			return at + ".namespace", "Required value: a ServiceAccount subject of a ClusterRoleBinding needs its namespace"
		}
	}
	return "", ""
}
