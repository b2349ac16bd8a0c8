package apply

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
)

// diff lists, one line per field, how the fields bulkhead owns in a live
// object (from) differ from the desired ones (to): "~ path: old → new",
// "+ path: new", "- path: old". Both are normalized JSON values.
func diff(from, to any) []string {
	var out []string
	walk("", from, to, &out)
	return out
}

func walk(path string, from, to any, out *[]string) {
	fm, fok := from.(map[string]any)
	tm, tok := to.(map[string]any)
	if fok && tok {
		keys := map[string]bool{}
		for k := range fm {
			keys[k] = true
		}
		for k := range tm {
			keys[k] = true
		}
		sorted := make([]string, 0, len(keys))
		for k := range keys {
			sorted = append(sorted, k)
		}
		sort.Strings(sorted)
		for _, k := range sorted {
			walk(join(path, k), fm[k], tm[k], out)
		}
		return
	}
	fl, fok := from.([]any)
	tl, tok := to.([]any)
	if fok && tok && len(fl) == len(tl) {
		for i := range fl {
			walk(path+"["+strconv.Itoa(i)+"]", fl[i], tl[i], out)
		}
		return
	}
	switch {
	case from == nil && to == nil:
	case from == nil:
		*out = append(*out, fmt.Sprintf("+ %s: %s", path, compact(to)))
	case to == nil:
		*out = append(*out, fmt.Sprintf("- %s: %s", path, compact(from)))
	case compact(from) != compact(to):
		*out = append(*out, fmt.Sprintf("~ %s: %s → %s", path, compact(from), compact(to)))
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func compact(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
