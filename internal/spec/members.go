package spec

import (
	"fmt"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/bulkhead-dev/bulkhead/api/v1alpha1"
)

// bindingName is the name of the RoleBinding that grants a member its
// role, as the renderer names it (bulkhead-<role>-<member>). Names of users
// and groups that are not valid object names (an e-mail address,
// "oidc:alice") are hash-suffixed by the renderer and not checked here.
func bindingName(role v1alpha1.RoleName, member string) string {
	return "bulkhead-" + string(role) + "-" + member
}

// validateMembers checks defaulted members.
func validateMembers(members []v1alpha1.Member) []finding {
	var out []finding
	add := func(fe *field.Error, hint string) {
		out = append(out, finding{err: problem(fe, hint)})
	}
	seen := map[v1alpha1.Member]int{}
	for i, m := range members {
		p := field.NewPath("spec", "members").Index(i)
		kindKnown := slices.Contains(v1alpha1.MemberKinds, m.Kind)
		roleKnown := slices.Contains(v1alpha1.RoleNames, m.Role)
		if !kindKnown {
			add(field.NotSupported(p.Child("kind"), m.Kind, v1alpha1.MemberKinds), "set kind to one of them")
		}
		if !roleKnown {
			add(field.NotSupported(p.Child("role"), m.Role, v1alpha1.RoleNames), "set role to one of them")
		}
		namePath := p.Child("name")
		if m.Name == "" {
			add(field.Required(namePath, ""), "set the member's name")
			continue
		}
		switch m.Kind {
		case v1alpha1.ServiceAccountMember:
			if msgs := apivalidation.ValidateServiceAccountName(m.Name, false); len(msgs) > 0 {
				add(field.Invalid(namePath, m.Name, strings.Join(msgs, "; ")), "rename the ServiceAccount")
			} else if roleKnown {
				out = append(out, checkBindingName(namePath, m)...)
			}
		case v1alpha1.UserMember, v1alpha1.GroupMember:
			if detail := subjectNameProblem(m.Name); detail != "" {
				add(field.Invalid(namePath, m.Name, detail), "fix the "+strings.ToLower(string(m.Kind))+" name")
			}
		}
		// Members are the same subject when kind and name match, whatever
		// their roles: one subject with two roles is a mistake either way.
		key := v1alpha1.Member{Kind: m.Kind, Name: m.Name}
		if first, ok := seen[key]; ok {
			add(field.Duplicate(namePath, m.Name), fmt.Sprintf(
				"%s %q is already listed as spec.members[%d]; remove one of them", m.Kind, m.Name, first))
			continue
		}
		seen[key] = i
	}
	return out
}

// checkBindingName makes sure the RoleBinding named after a ServiceAccount
// member is a valid object name: a ServiceAccount name may use all 253
// characters an object name may have, leaving no room for the prefix.
func checkBindingName(namePath *field.Path, m v1alpha1.Member) []finding {
	binding := bindingName(m.Role, m.Name)
	msgs := validation.IsDNS1123Subdomain(binding)
	if len(msgs) == 0 {
		return nil
	}
	room := validation.DNS1123SubdomainMaxLength - len(bindingName(m.Role, ""))
	fe := field.Invalid(namePath, m.Name, fmt.Sprintf("the role binding named %s would be invalid: %s",
		bindingName(m.Role, "<name>"), strings.Join(msgs, "; ")))
	return []finding{{err: problem(fe, fmt.Sprintf("shorten the name to %d characters or less", room))}}
}

// subjectNameProblem checks a user or group name. Kubernetes accepts any
// string there, but control characters and surrounding blanks can never
// match what an authenticator reports, so they are typos that would
// silently grant nothing.
func subjectNameProblem(name string) string {
	if !utf8.ValidString(name) {
		return "must be valid UTF-8"
	}
	if strings.IndexFunc(name, unicode.IsControl) >= 0 {
		return "must not contain control characters"
	}
	if strings.TrimSpace(name) != name {
		return "must not start or end with blanks"
	}
	return ""
}
