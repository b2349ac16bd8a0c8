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

// maxMembers bounds a tenant's member list, as the CRD's schema does: each
// member is a RoleBinding, and a team larger than this is better bound as a
// group.
const maxMembers = 100

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
				add(field.Invalid(namePath, m.Name, dnsProblem(m.Name, msgs, subdomainChars)), "rename the ServiceAccount")
			} else if roleKnown {
				out = append(out, checkBindingName(namePath, m)...)
			}
		case v1alpha1.UserMember, v1alpha1.GroupMember:
			if detail := subjectNameProblem(m.Name); detail != "" {
				add(field.Invalid(namePath, m.Name, detail), "fix the "+strings.ToLower(string(m.Kind))+" name")
			} else if detail := sharedIdentity(m); detail != "" {
				add(field.Forbidden(namePath, detail), "name the people or the team's own group instead")
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

// checkBindingName makes sure the RoleBinding the renderer names after a
// ServiceAccount member is a valid object name: a ServiceAccount name may use
// all 253 characters an object name may have, leaving no room for the
// binding's prefix. The renderer's own function is used so the two cannot
// disagree. (User and group names are shortened and hashed by the renderer,
// so they need no such check.)
func checkBindingName(namePath *field.Path, m v1alpha1.Member) []finding {
	msgs := validation.IsDNS1123Subdomain(v1alpha1.BindingName(m))
	if len(msgs) == 0 {
		return nil
	}
	prefix := v1alpha1.BindingName(v1alpha1.Member{Kind: m.Kind, Role: m.Role})
	room := validation.DNS1123SubdomainMaxLength - len(prefix)
	fe := field.Invalid(namePath, m.Name, fmt.Sprintf("the role binding named %s<name> would be invalid: %s",
		prefix, strings.Join(msgs, "; ")))
	return []finding{{err: problem(fe, fmt.Sprintf("shorten the name to %d characters or less", room))}}
}

// sharedIdentity refuses the identities the API server gives to everyone (or
// to every ServiceAccount): binding one would open the tenant to all other
// tenants at once (ISOLATION.md, pattern 2).
func sharedIdentity(m v1alpha1.Member) string {
	if v1alpha1.IsSharedIdentity(m.Name) {
		return fmt.Sprintf("%s %q is an identity Kubernetes shares between tenants or with the cluster's own components; binding it would open this namespace to all of them", m.Kind, m.Name)
	}
	return ""
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
	if p := invisibleProblem(name); p != "" {
		return p
	}
	if strings.TrimSpace(name) != name {
		return "must not start or end with blanks"
	}
	return ""
}
