package daemon

import (
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// checkShape walks a YAML tree against the Go type that decodes it and
// reports, in the file's terms and all at once, every key the type does not
// know (with the nearest known key as a suggestion) and every value of the
// wrong kind. The decoder's own errors name Go types and stop at the
// first; a person editing the file wants the line, the key and what would
// be right.
func checkShape(n *yaml.Node, t reflect.Type, path []string, p *problems) {
	if n.Kind == yaml.DocumentNode {
		for _, c := range n.Content {
			checkShape(c, t, path, p)
		}
		return
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if isNull(n) {
		return // an empty value keeps the default
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == reflect.TypeFor[Duration]():
		if _, err := time.ParseDuration(n.Value); n.Kind != yaml.ScalarNode || err != nil {
			p.at(n, path, "%s is not a duration (like 90s, 5m or 2h)", describeNode(n))
		}
		return
	case t == reflect.TypeFor[StringList]() && n.Kind == yaml.ScalarNode:
		return // one value for a list of one
	}
	switch t.Kind() {
	case reflect.Struct:
		if n.Kind != yaml.MappingNode {
			p.at(n, path, "expected a mapping of keys (%s), got %s", strings.Join(yamlKeys(t), ", "), describeNode(n))
			return
		}
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			f, ok := fields[k.Value]
			if !ok {
				msg := fmt.Sprintf("unknown key %s", k.Value)
				if len(path) > 0 {
					msg += " in " + strings.Join(path, ".")
				}
				if s := nearest(k.Value, yamlKeys(t)); s != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", s)
				}
				p.errs = append(p.errs, fmt.Errorf("line %d: %s", k.Line, msg))
				continue
			}
			checkShape(v, f.Type, append(path, k.Value), p)
		}
	case reflect.Map:
		if n.Kind != yaml.MappingNode {
			p.at(n, path, "expected a mapping, got %s", describeNode(n))
			return
		}
		for i := 0; i+1 < len(n.Content); i += 2 {
			checkShape(n.Content[i+1], t.Elem(), append(path, n.Content[i].Value), p)
		}
	case reflect.Slice:
		if n.Kind != yaml.SequenceNode {
			p.at(n, path, "expected a list, got %s", describeNode(n))
			return
		}
		for i, c := range n.Content {
			checkShape(c, t.Elem(), append(path[:len(path):len(path)], strconv.Itoa(i)), p)
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			p.at(n, path, "expected a text value, got %s", describeNode(n))
		}
	case reflect.Bool:
		var b bool
		if n.Kind != yaml.ScalarNode || n.Decode(&b) != nil {
			p.at(n, path, "expected true or false, got %s", describeNode(n))
		}
	case reflect.Int, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.Decode(&i) != nil {
			p.at(n, path, "expected a whole number, got %s", describeNode(n))
		}
	}
	// Interfaces (approval values) take anything here; their meaning is
	// checked by validate.
}

// at reports a problem at a node's line.
func (p *problems) at(n *yaml.Node, path []string, format string, args ...any) {
	p.errs = append(p.errs, fmt.Errorf("line %d: %s: %s", n.Line, strings.Join(path, "."), fmt.Sprintf(format, args...)))
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// describeNode says what a value is, for error messages.
func describeNode(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	}
	return strconv.Quote(n.Value)
}

// yamlFields maps a struct's YAML keys to its fields.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			out[name] = f
		}
	}
	return out
}

// yamlKeys lists a struct's YAML keys in field order.
func yamlKeys(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("yaml"), ",")
		if name != "" && name != "-" {
			out = append(out, name)
		}
	}
	return out
}

// nearest returns the candidate closest to s by edit distance, if it is
// close enough to be a likely typo, or "".
func nearest(s string, candidates []string) string {
	best, bestD := "", len(s)/2+2
	for _, c := range candidates {
		if d := editDistance(s, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// editDistance is Levenshtein's distance between two strings.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// DecodeFragment decodes a YAML fragment of gated's configuration over v,
// a pointer to Config or to one of its parts (a ProjectYAML, say), with the
// checks and messages of ParseConfig's first stage: every unknown key and
// wrongly typed value, by line (the scenario runner checks the fragments
// of a scenario with it, before it writes them into a file).
func DecodeFragment(data []byte, v any) error {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return fmt.Errorf("invalid YAML: %w", err)
	}
	p := &problems{root: &root}
	checkShape(&root, reflect.TypeOf(v).Elem(), nil, p)
	if len(p.errs) > 0 {
		return errors.Join(p.errs...)
	}
	if len(root.Content) == 0 {
		return nil
	}
	return root.Decode(v)
}
