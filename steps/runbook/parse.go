package runbook

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"mswizard/wizard/answers"
)

// Problems is every error of a runbook file, each as FILE:LINE: message (the
// same type the answers file reports, so the CLI maps it to exit 2).
type Problems = answers.Problems

// refRE matches an answer reference, {{name}} or {{ name }}.
var refRE = regexp.MustCompile(`\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}`)

var (
	nodeRE    = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,62}$`)
	idRE      = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]*(/[a-z0-9][a-z0-9._-]*)*$`)
	nameRE    = regexp.MustCompile(`^[a-z][a-z0-9_]*$`)
	findingRE = regexp.MustCompile(`^[A-Z][A-Z0-9]*(-[A-Z0-9]+)+$`)
)

// refUse says what an answer reference in a field may name.
type refUse int

const (
	noRefs    refUse = iota // identifiers: no references at all
	publicRef               // argv, paths, lines: any answer but a secret
	secretRef               // stdin, env values, file content: secrets too
)

type decoder struct {
	file    string
	probs   Problems
	answers map[string]*AnswerSpec
}

func (d *decoder) errf(n *yaml.Node, format string, a ...any) {
	line := 0
	if n != nil {
		line = n.Line
	}
	d.errfLine(line, format, a...)
}

func (d *decoder) errfLine(line int, format string, a ...any) {
	d.probs = append(d.probs, answers.Problem{File: d.file, Line: line, Msg: fmt.Sprintf(format, a...)})
}

// Parse reads and validates a runbook. Every problem is reported at once.
func Parse(file string, data []byte) (*Runbook, error) {
	sum := sha256.Sum256(data)
	rb := &Runbook{File: file, Sum: hex.EncodeToString(sum[:])}
	d := &decoder{file: file, answers: map[string]*AnswerSpec{}}
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		line := 0
		if m := regexp.MustCompile(`line (\d+)`).FindStringSubmatch(err.Error()); m != nil {
			line, _ = strconv.Atoi(m[1])
		}
		msg := strings.TrimPrefix(err.Error(), "yaml: ")
		msg = regexp.MustCompile(`^line \d+: `).ReplaceAllString(msg, "")
		return nil, Problems{{File: file, Line: line, Msg: "not valid YAML: " + msg}}
	}
	if len(doc.Content) == 0 {
		return nil, Problems{{File: file, Msg: "empty runbook: it needs at least id, title and steps"}}
	}
	top := doc.Content[0]
	fields := d.mapping(top, "the runbook", []string{"id", "title", "description", "answers", "preflight", "steps"}, []string{"id", "title", "steps"})
	// Answers first: every other field's references are checked against them.
	if n := fields["answers"]; n != nil {
		rb.Answers = d.answerSpecs(n)
	}
	if n := fields["id"]; n != nil {
		rb.ID = d.str(n, noRefs)
		if rb.ID != "" && !idRE.MatchString(rb.ID) {
			d.errf(n, "id %q: use lower-case letters, digits, '.', '_' and '-'", rb.ID)
		}
	}
	if n := fields["title"]; n != nil {
		rb.Title = d.str(n, publicRef)
	}
	if n := fields["description"]; n != nil {
		rb.Description = d.str(n, publicRef)
	}
	if n := fields["preflight"]; n != nil {
		rb.Preflight = d.checks(n)
	}
	if n := fields["steps"]; n != nil {
		rb.Steps = d.steps(n)
	}
	d.checkDefaults(rb)
	if len(d.probs) > 0 {
		sort.SliceStable(d.probs, func(i, j int) bool { return d.probs[i].Line < d.probs[j].Line })
		return rb, d.probs
	}
	return rb, nil
}

// mapping checks that n is a mapping whose keys are all known, none repeated,
// and the required ones present; it returns the value nodes by key.
func (d *decoder) mapping(n *yaml.Node, what string, known, required []string) map[string]*yaml.Node {
	out := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		d.errf(n, "%s must be a mapping (key: value lines), not %s", what, kindName(n))
		return out
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if !contains(known, k.Value) {
			msg := fmt.Sprintf("unknown key %q in %s", k.Value, what)
			if s := suggest(k.Value, known); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			} else {
				msg += "; known keys: " + strings.Join(known, ", ")
			}
			d.errf(k, "%s", msg)
			continue
		}
		if _, dup := out[k.Value]; dup {
			d.errf(k, "key %q appears twice in %s", k.Value, what)
			continue
		}
		out[k.Value] = v
	}
	for _, r := range required {
		if _, ok := out[r]; !ok {
			d.errf(n, "%s has no %q (required)", what, r)
		}
	}
	return out
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias"
	}
	if n.Tag == "!!null" {
		return "empty"
	}
	return fmt.Sprintf("the value %q", n.Value)
}

// str reads a scalar string and checks its answer references.
func (d *decoder) str(n *yaml.Node, use refUse) string {
	if n.Kind != yaml.ScalarNode || n.Tag == "!!null" {
		d.errf(n, "expected a string, found %s", kindName(n))
		return ""
	}
	d.refs(n, n.Value, use)
	return n.Value
}

func (d *decoder) refs(n *yaml.Node, s string, use refUse) {
	for _, m := range refRE.FindAllStringSubmatch(s, -1) {
		name := m[1]
		if use == noRefs {
			d.errf(n, "%q: answer references are not allowed here", m[0])
			continue
		}
		a, ok := d.answers[name]
		if !ok {
			msg := fmt.Sprintf("%s names no answer of this runbook", m[0])
			if s := suggest(name, keys(d.answers)); s != "" {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			d.errf(n, "%s", msg)
			continue
		}
		if a.Type == TypeSecret && use != secretRef {
			d.errf(n, "%s is a secret: it may go only into stdin, env or a file's content, never into argv, a path or a line the plan shows", m[0])
		}
	}
}

func (d *decoder) boolean(n *yaml.Node) bool {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
		d.errf(n, "expected true or false, found %s", kindName(n))
		return false
	}
	return n.Value == "true"
}

func (d *decoder) integer(n *yaml.Node) (int64, bool) {
	if n.Kind != yaml.ScalarNode || n.Tag != "!!int" {
		d.errf(n, "expected an integer, found %s", kindName(n))
		return 0, false
	}
	v, err := strconv.ParseInt(n.Value, 0, 64)
	if err != nil {
		d.errf(n, "expected an integer: %v", err)
		return 0, false
	}
	return v, true
}

func (d *decoder) duration(n *yaml.Node) time.Duration {
	if n.Kind != yaml.ScalarNode {
		d.errf(n, "expected a duration such as 30s or 2m, found %s", kindName(n))
		return 0
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil || v <= 0 {
		d.errf(n, "%q is not a positive duration (write 30s, 2m, 1h)", n.Value)
		return 0
	}
	return v
}

func (d *decoder) list(n *yaml.Node, what string) []*yaml.Node {
	if n.Kind != yaml.SequenceNode {
		d.errf(n, "%s must be a list, found %s", what, kindName(n))
		return nil
	}
	return n.Content
}

func (d *decoder) argv(n *yaml.Node, what string) []string {
	items := d.list(n, what)
	if n.Kind == yaml.SequenceNode && len(items) == 0 {
		d.errf(n, "%s is empty: give the program and its arguments", what)
	}
	var out []string
	for _, it := range items {
		out = append(out, d.str(it, publicRef))
	}
	return out
}

func (d *decoder) exits(n *yaml.Node) []int {
	var out []int
	for _, it := range d.list(n, "exit") {
		if v, ok := d.integer(it); ok {
			if v < 0 || v > 255 {
				d.errf(it, "exit code %d is outside 0..255", v)
			}
			out = append(out, int(v))
		}
	}
	return out
}

func (d *decoder) oneOf(n *yaml.Node, what string, choices []string) string {
	s := d.str(n, noRefs)
	if s != "" && !contains(choices, s) {
		msg := fmt.Sprintf("%s %q: must be one of %s", what, s, strings.Join(choices, ", "))
		if sg := suggest(s, choices); sg != "" {
			msg += fmt.Sprintf("; did you mean %q?", sg)
		}
		d.errf(n, "%s", msg)
	}
	return s
}

func (d *decoder) answerSpecs(n *yaml.Node) []*AnswerSpec {
	if n.Kind != yaml.MappingNode {
		d.errf(n, "answers must be a mapping of answer names, found %s", kindName(n))
		return nil
	}
	var out []*AnswerSpec
	// Names first, so defaults may name answers declared after them.
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if !nameRE.MatchString(k.Value) {
			d.errf(k, "answer name %q: use lower-case letters, digits and '_', starting with a letter", k.Value)
		}
		if _, dup := d.answers[k.Value]; dup {
			d.errf(k, "answer %q is declared twice", k.Value)
			continue
		}
		a := &AnswerSpec{Name: k.Value, Line: k.Line, Type: TypeString}
		d.answers[k.Value] = a
		out = append(out, a)
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		a := d.answers[k.Value]
		f := d.mapping(v, fmt.Sprintf("answer %q", k.Value), []string{"type", "default", "help", "min", "max", "choices"}, []string{"type", "help"})
		if t := f["type"]; t != nil {
			a.Type = d.oneOf(t, "type", answerTypes)
		}
		if h := f["help"]; h != nil {
			a.Help = d.str(h, noRefs)
		}
		if x := f["min"]; x != nil {
			if v, ok := d.integer(x); ok {
				a.Min = &v
			}
		}
		if x := f["max"]; x != nil {
			if v, ok := d.integer(x); ok {
				a.Max = &v
			}
		}
		if (a.Min != nil || a.Max != nil) && a.Type != TypeInt && a.Type != TypePort {
			d.errf(v, "answer %q: min and max apply to int and port answers only", a.Name)
		}
		if a.Min != nil && a.Max != nil && *a.Min > *a.Max {
			d.errf(f["min"], "answer %q: min %d is above max %d", a.Name, *a.Min, *a.Max)
		}
		if c := f["choices"]; c != nil {
			for _, it := range d.list(c, "choices") {
				a.Choices = append(a.Choices, d.str(it, noRefs))
			}
		}
		if a.Type == TypeChoice && len(a.Choices) == 0 {
			d.errf(v, "answer %q of type choice needs choices", a.Name)
		}
		if x := f["default"]; x != nil {
			if a.Type == TypeSecret {
				d.errf(x, "answer %q is a secret and cannot have a default in the runbook", a.Name)
			}
			if x.Kind != yaml.ScalarNode {
				d.errf(x, "default of %q must be a scalar, found %s", a.Name, kindName(x))
			} else {
				a.Default, a.HasDefault = x.Value, true
				d.refs(x, x.Value, publicRef)
				if !refRE.MatchString(x.Value) {
					if err := checkValue(a, x.Value); err != nil {
						d.errf(x, "default of %q: %v", a.Name, err)
					}
				}
			}
		}
	}
	return out
}

// checkDefaults refuses defaults that refer to each other in a circle.
func (d *decoder) checkDefaults(rb *Runbook) {
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(a *AnswerSpec) bool
	visit = func(a *AnswerSpec) bool {
		switch state[a.Name] {
		case 1:
			return false
		case 2:
			return true
		}
		state[a.Name] = 1
		for _, m := range refRE.FindAllStringSubmatch(a.Default, -1) {
			if b, ok := d.answers[m[1]]; ok && !visit(b) {
				if state[a.Name] == 1 {
					d.probs = append(d.probs, answers.Problem{File: d.file, Line: a.Line, Msg: fmt.Sprintf("the default of %q refers back to itself through {{%s}}", a.Name, m[1])})
				}
				state[a.Name] = 2
				return false
			}
		}
		state[a.Name] = 2
		return true
	}
	for _, a := range rb.Answers {
		visit(a)
	}
}

func (d *decoder) cond(n *yaml.Node, what string) *Cond {
	f := d.mapping(n, what, []string{"command", "exit", "output", "path", "grep", "port", "svstat", "up_for", "any", "not", "timeout"}, nil)
	c := &Cond{Line: n.Line}
	set := 0
	for _, k := range []string{"command", "path", "grep", "port", "svstat", "any"} {
		if f[k] != nil {
			set++
		}
	}
	if n.Kind == yaml.MappingNode && set != 1 {
		d.errf(n, "%s needs exactly one of command, path, grep, port, svstat or any (found %d)", what, set)
	}
	if x := f["command"]; x != nil {
		c.Command = d.argv(x, "command")
	}
	if x := f["exit"]; x != nil {
		if f["command"] == nil {
			d.errf(x, "exit applies to a command condition only")
		}
		c.Exit = d.exits(x)
	}
	if x := f["output"]; x != nil {
		if f["command"] == nil {
			d.errf(x, "output applies to a command condition only")
		}
		c.Output = d.str(x, publicRef)
	}
	if x := f["path"]; x != nil {
		c.Path = d.str(x, publicRef)
	}
	if x := f["grep"]; x != nil {
		g := d.mapping(x, "grep", []string{"path", "pattern"}, []string{"path", "pattern"})
		c.Grep = &Grep{}
		if p := g["path"]; p != nil {
			c.Grep.Path = d.str(p, publicRef)
		}
		if p := g["pattern"]; p != nil {
			c.Grep.Pattern = d.str(p, publicRef)
			if !refRE.MatchString(c.Grep.Pattern) {
				if _, err := regexp.Compile(c.Grep.Pattern); err != nil {
					d.errf(p, "pattern: %v", err)
				}
			}
		}
	}
	if x := f["port"]; x != nil {
		c.Port = d.str(x, publicRef)
	}
	if x := f["svstat"]; x != nil {
		c.Svstat = d.str(x, publicRef)
	}
	if x := f["up_for"]; x != nil {
		if f["svstat"] == nil {
			d.errf(x, "up_for applies to an svstat condition only")
		}
		c.UpForT = d.str(x, publicRef)
		if m := refRE.FindStringSubmatch(c.UpForT); m == nil {
			c.UpFor = d.duration(x)
		} else if a, ok := d.answers[m[1]]; m[0] != c.UpForT {
			d.errf(x, "up_for %q: write a duration (30s) or one reference to a duration answer, nothing around it", c.UpForT)
		} else if ok && a.Type != TypeDuration {
			// Otherwise the value would not parse as a duration and the
			// proof would silently ask only "up", not "up for so long".
			d.errf(x, "up_for %s: answer %s is of type %s; up_for needs a duration answer (type: duration)", m[0], a.Name, a.Type)
		}
	}
	if x := f["any"]; x != nil {
		items := d.list(x, "any")
		if x.Kind == yaml.SequenceNode && len(items) < 2 {
			d.errf(x, "any needs at least two alternatives")
		}
		for _, it := range items {
			c.Any = append(c.Any, d.cond(it, "an alternative of any"))
		}
	}
	if x := f["not"]; x != nil {
		c.Not = d.boolean(x)
	}
	if x := f["timeout"]; x != nil {
		c.Timeout = d.duration(x)
	}
	return c
}

func (d *decoder) checks(n *yaml.Node) []*CheckSpec {
	var out []*CheckSpec
	seen := map[string]int{}
	for _, it := range d.list(n, "preflight") {
		f := d.mapping(it, "a preflight check", []string{"id", "severity", "message", "fix", "check"}, []string{"id", "message", "fix", "check"})
		c := &CheckSpec{Line: it.Line, Severity: "inhibitor"}
		if x := f["id"]; x != nil {
			c.ID = d.str(x, noRefs)
			if c.ID != "" && !findingRE.MatchString(c.ID) {
				d.errf(x, "finding id %q: write it like PRE-AREA-001 (upper case, dash-separated)", c.ID)
			}
			if prev, dup := seen[c.ID]; dup {
				d.errf(x, "finding id %s is used twice (first at line %d)", c.ID, prev)
			}
			seen[c.ID] = x.Line
		}
		if x := f["severity"]; x != nil {
			c.Severity = d.oneOf(x, "severity", []string{"inhibitor", "warning"})
		}
		if x := f["message"]; x != nil {
			c.Message = d.str(x, publicRef)
		}
		if x := f["fix"]; x != nil {
			c.Fix = d.str(x, publicRef)
		}
		if x := f["check"]; x != nil {
			c.Cond = d.cond(x, "check")
		}
		out = append(out, c)
	}
	return out
}

func (d *decoder) steps(n *yaml.Node) []*StepSpec {
	var out []*StepSpec
	seen := map[string]int{}
	items := d.list(n, "steps")
	if n.Kind == yaml.SequenceNode && len(items) == 0 {
		d.errf(n, "steps is empty")
	}
	for _, it := range items {
		known := append([]string{"id", "title", "node", "optional", "when"}, stepKinds...)
		f := d.mapping(it, "a step", known, []string{"id", "title"})
		s := &StepSpec{Line: it.Line, Node: "local"}
		if x := f["id"]; x != nil {
			s.ID = d.str(x, noRefs)
			if s.ID == PreflightID {
				d.errf(x, "step id %q is reserved for the runbook's preflight checks", s.ID)
			}
			if s.ID != "" && !idRE.MatchString(s.ID) {
				d.errf(x, "step id %q: use slash-separated lower-case words (\"services/qmail-run\")", s.ID)
			}
			if prev, dup := seen[s.ID]; dup {
				d.errf(x, "step id %s is used twice (first at line %d)", s.ID, prev)
			}
			seen[s.ID] = x.Line
		}
		if x := f["title"]; x != nil {
			s.Title = d.str(x, publicRef)
		}
		if x := f["optional"]; x != nil {
			s.Optional = d.boolean(x)
		}
		if x := f["node"]; x != nil {
			// "local", a node named in the answers' [Nodes], or "each".
			s.Node = d.str(x, noRefs)
			if s.Node != "" && !nodeRE.MatchString(s.Node) {
				d.errf(x, "node %q: write local, each, or a node name from the answers' [Nodes] (a letter, then letters, digits, '-', '_')", s.Node)
			}
		}
		if x := f["when"]; x != nil {
			s.When, s.WhenLine = d.str(x, noRefs), x.Line
			for _, msg := range d.whenProblems(s.When) {
				d.errf(x, "when %q: %s", s.When, msg)
			}
		}
		var kinds []string
		for _, k := range stepKinds {
			if f[k] != nil {
				kinds = append(kinds, k)
			}
		}
		if it.Kind == yaml.MappingNode && len(kinds) != 1 {
			if len(kinds) == 0 {
				d.errf(it, "step %s has no kind: give one of %s", s.ID, strings.Join(stepKinds, ", "))
			} else {
				d.errf(it, "step %s has %d kinds (%s): give exactly one", s.ID, len(kinds), strings.Join(kinds, ", "))
			}
		}
		for _, k := range kinds {
			s.Kind = k
			x := f[k]
			what := fmt.Sprintf("%s of step %s", k, s.ID)
			switch k {
			case KindRun:
				s.Run = d.runSpec(x, what)
			case KindEdit:
				s.Edit = d.editSpec(x, what)
			case KindFile:
				s.File = d.fileSpec(x, what)
			case KindService:
				s.Service = d.serviceSpec(x, what)
			case KindWait:
				s.Wait = d.waitSpec(x, what)
			case KindBackup:
				s.Backup = d.backupSpec(x, what)
			case KindConfirm:
				s.Confirm = d.confirmSpec(x, what)
			}
		}
		out = append(out, s)
	}
	return out
}

func (d *decoder) runSpec(n *yaml.Node, what string) *RunSpec {
	f := d.mapping(n, what, []string{"argv", "check", "undo", "exit", "timeout", "stdin", "env", "dir", "idempotent"}, []string{"argv"})
	r := &RunSpec{}
	if x := f["argv"]; x != nil {
		r.Argv = d.argv(x, "argv")
		d.lintMultilogArgv(x.Content)
	}
	if x := f["check"]; x != nil {
		r.Check = d.cond(x, "check")
	}
	if x := f["undo"]; x != nil {
		r.Undo = d.argv(x, "undo")
		d.lintMultilogArgv(x.Content)
	}
	if x := f["exit"]; x != nil {
		r.Exit = d.exits(x)
	}
	if x := f["timeout"]; x != nil {
		r.Timeout = d.duration(x)
	}
	if x := f["stdin"]; x != nil {
		r.Stdin = d.str(x, secretRef)
	}
	if x := f["env"]; x != nil {
		if x.Kind != yaml.MappingNode {
			d.errf(x, "env must be a mapping of NAME: value, found %s", kindName(x))
		} else {
			r.Env = map[string]string{}
			for i := 0; i+1 < len(x.Content); i += 2 {
				k := x.Content[i]
				if !regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`).MatchString(k.Value) {
					d.errf(k, "env name %q is not a valid variable name", k.Value)
				}
				r.Env[k.Value] = d.str(x.Content[i+1], secretRef)
				r.EnvOrder = append(r.EnvOrder, k.Value)
			}
		}
	}
	if x := f["dir"]; x != nil {
		r.Dir = d.str(x, publicRef)
	}
	if x := f["idempotent"]; x != nil {
		r.Idempotent = d.boolean(x)
	}
	return r
}

func (d *decoder) editSpec(n *yaml.Node, what string) *EditSpec {
	f := d.mapping(n, what, []string{"path", "line", "replaces", "append", "key", "value", "separator", "state", "comment"}, []string{"path", "state"})
	e := &EditSpec{Separator: "=", Comment: "#"}
	if x := f["path"]; x != nil {
		e.Path = d.str(x, publicRef)
	}
	if x := f["line"]; x != nil {
		e.Line = d.str(x, publicRef)
	}
	if x := f["replaces"]; x != nil {
		e.Replaces = d.str(x, publicRef)
	}
	if x := f["append"]; x != nil {
		e.Append = d.boolean(x)
	}
	if x := f["key"]; x != nil {
		e.Key = d.str(x, publicRef)
	}
	if x := f["value"]; x != nil {
		e.Value = d.str(x, publicRef)
	}
	if x := f["separator"]; x != nil {
		e.Separator = d.str(x, noRefs)
	}
	if x := f["comment"]; x != nil {
		e.Comment = d.str(x, noRefs)
		if e.Comment == "" {
			d.errf(x, "comment must not be empty")
		}
	}
	if x := f["state"]; x != nil {
		e.State = d.oneOf(x, "state", []string{StatePresent, StateAbsent, StateCommented, StateUncommented})
	}
	if n.Kind == yaml.MappingNode {
		switch {
		case (f["line"] == nil) == (f["key"] == nil):
			d.errf(n, "%s needs exactly one of line (a whole line) or key (a KEY=VALUE record)", what)
		case f["key"] != nil && e.State == StatePresent && f["value"] == nil:
			d.errf(n, "%s: a present record needs a value", what)
		case f["line"] != nil && f["value"] != nil:
			d.errf(f["value"], "value applies to a key record, not to a line")
		}
		if f["replaces"] != nil && (e.State != StatePresent || f["line"] == nil) {
			d.errf(f["replaces"], "replaces applies to a present line only")
		}
		if f["append"] != nil && f["replaces"] == nil {
			d.errf(f["append"], "append applies with replaces only (a present line without replaces is appended when missing)")
		}
		if f["line"] != nil && strings.Contains(e.Line, "\n") {
			d.errf(f["line"], "line must be one line")
		}
	}
	return e
}

func parseMode(s string) (uint32, error) {
	v, err := strconv.ParseUint(s, 8, 32)
	if err != nil || v > 0o777 {
		return 0, fmt.Errorf("mode %q: write an octal permission mode 0000..0777 such as \"0755\"", s)
	}
	return uint32(v), nil
}

func (d *decoder) fileSpec(n *yaml.Node, what string) *FileSpec {
	f := d.mapping(n, what, []string{"path", "state", "content", "copy", "target", "mode", "owner", "group", "undo_contents"}, []string{"path"})
	s := &FileSpec{UndoContents: "refuse"}
	if x := f["path"]; x != nil {
		s.Path = d.str(x, publicRef)
	}
	if x := f["content"]; x != nil {
		s.Content, s.HasBody = d.str(x, secretRef), true
		d.lintMultilogText(x, s.Content)
	}
	if x := f["copy"]; x != nil {
		s.Copy = d.str(x, publicRef)
	}
	if x := f["target"]; x != nil {
		s.Target = d.str(x, publicRef)
	}
	switch {
	case f["target"] != nil:
		s.State = FileSymlink
	case f["content"] != nil || f["copy"] != nil:
		s.State = FileFile
	}
	if x := f["state"]; x != nil {
		s.State = d.oneOf(x, "state", []string{FileFile, FileDirectory, FileSymlink, FileAbsent})
	}
	if x := f["mode"]; x != nil {
		if x.Kind == yaml.ScalarNode && x.Tag == "!!int" && !strings.HasPrefix(x.Value, "0") {
			d.errf(x, "mode %s: quote an octal mode (\"0%s\"): YAML reads an unquoted number as decimal", x.Value, x.Value)
		} else if v, err := parseMode(d.str(x, noRefs)); err != nil {
			d.errf(x, "%v", err)
		} else {
			s.Mode = &v
		}
	}
	if x := f["owner"]; x != nil {
		s.Owner = d.str(x, publicRef)
	}
	if x := f["group"]; x != nil {
		s.Group = d.str(x, publicRef)
	}
	if x := f["undo_contents"]; x != nil {
		s.UndoContents = d.oneOf(x, "undo_contents", []string{"refuse", "remove", "keep"})
	}
	if n.Kind != yaml.MappingNode {
		return s
	}
	switch s.State {
	case "":
		d.errf(n, "%s: say what to make: content or copy (a file), target (a symlink), or state: directory or absent", what)
	case FileFile:
		if (f["content"] == nil) == (f["copy"] == nil) {
			d.errf(n, "%s: a file needs exactly one of content or copy", what)
		}
	case FileSymlink:
		if f["target"] == nil {
			d.errf(n, "%s: a symlink needs a target", what)
		}
	}
	for _, k := range []string{"content", "copy", "target"} {
		if f[k] == nil {
			continue
		}
		if (k == "target") != (s.State == FileSymlink) || (k != "target" && s.State != FileFile) {
			d.errf(f[k], "%s does not apply to state %s", k, s.State)
		}
	}
	if s.State == FileAbsent || s.State == FileSymlink {
		for _, k := range []string{"mode", "owner", "group"} {
			if f[k] != nil {
				d.errf(f[k], "%s does not apply to state %s", k, s.State)
			}
		}
	}
	if f["undo_contents"] != nil && s.State != FileDirectory {
		d.errf(f["undo_contents"], "undo_contents applies to a directory only")
	}
	return s
}

func (d *decoder) serviceSpec(n *yaml.Node, what string) *ServiceSpec {
	f := d.mapping(n, what, []string{"regime", "state", "script", "dir", "source", "log", "timeout"}, []string{"regime", "state"})
	s := &ServiceSpec{Log: true, Timeout: 30 * time.Second}
	if x := f["regime"]; x != nil {
		if r := x.Value; x.Kind == yaml.ScalarNode && r != RegimeDaemontools && contains(answers.RegimeNames(), r) {
			// The upgrade's regimes (steps/service) stop and start the whole
			// Messaging Server of a service.Config (stop-msg, hareg,
			// scswitch, hares): they have no unit a runbook could name.
			d.errf(x, "regime %q is one of the Messaging Server upgrade's regimes, which control that server only; a runbook service step knows rc (an LSB script: script) and daemontools (a service directory: dir); a cluster's own commands go in run steps", r)
			s.Regime = r
		} else {
			s.Regime = d.oneOf(x, "regime", []string{RegimeRC, RegimeDaemontools})
		}
	}
	if x := f["script"]; x != nil {
		s.Script = d.str(x, publicRef)
	}
	if x := f["dir"]; x != nil {
		s.Dir = d.str(x, publicRef)
	}
	if x := f["source"]; x != nil {
		s.Source = d.str(x, publicRef)
	}
	if x := f["log"]; x != nil {
		s.Log = d.boolean(x)
	}
	if x := f["timeout"]; x != nil {
		s.Timeout = d.duration(x)
	}
	if x := f["state"]; x != nil {
		switch s.Regime {
		case RegimeRC:
			s.State = d.oneOf(x, "state of an rc service", []string{SvcStarted, SvcStopped})
		case RegimeDaemontools:
			s.State = d.oneOf(x, "state of a daemontools service", []string{SvcSupervised, SvcUp, SvcDown})
		}
	}
	if n.Kind != yaml.MappingNode {
		return s
	}
	switch s.Regime {
	case RegimeRC:
		if f["script"] == nil {
			d.errf(n, "%s: an rc service needs script (run as SCRIPT start|stop|status)", what)
		}
		for _, k := range []string{"dir", "source", "log"} {
			if f[k] != nil {
				d.errf(f[k], "%s applies to a daemontools service only", k)
			}
		}
	case RegimeDaemontools:
		if f["dir"] == nil {
			d.errf(n, "%s: a daemontools service needs dir (its entry in the scan directory)", what)
		}
		if s.State == SvcSupervised && f["source"] == nil {
			d.errf(n, "%s: supervised needs source (the service directory to link into the scan directory)", what)
		}
		if s.State != SvcSupervised && f["source"] != nil {
			d.errf(f["source"], "source applies to state supervised only")
		}
		if f["script"] != nil {
			d.errf(f["script"], "script applies to an rc service only")
		}
	}
	return s
}

func (d *decoder) waitSpec(n *yaml.Node, what string) *WaitSpec {
	f := d.mapping(n, what, []string{"until", "timeout", "interval", "stable"}, []string{"until", "timeout"})
	w := &WaitSpec{Interval: time.Second}
	if x := f["until"]; x != nil {
		w.Until = d.cond(x, "until")
	}
	if x := f["timeout"]; x != nil {
		w.Timeout = d.duration(x)
	}
	if x := f["interval"]; x != nil {
		w.Interval = d.duration(x)
	}
	if x := f["stable"]; x != nil {
		w.Stable = d.duration(x)
	}
	if w.Timeout > 0 && w.Stable >= w.Timeout {
		d.errf(f["stable"], "stable %s must be shorter than timeout %s", w.Stable, w.Timeout)
	}
	return w
}

func (d *decoder) backupSpec(n *yaml.Node, what string) *BackupSpec {
	f := d.mapping(n, what, []string{"path", "dest", "name", "exclude"}, []string{"path", "dest"})
	b := &BackupSpec{}
	if x := f["path"]; x != nil {
		b.Path = d.str(x, publicRef)
	}
	if x := f["dest"]; x != nil {
		b.Dest = d.str(x, publicRef)
	}
	if x := f["name"]; x != nil {
		b.Name = d.str(x, noRefs)
	}
	if x := f["exclude"]; x != nil {
		for _, it := range d.list(x, "exclude") {
			e := d.str(it, publicRef)
			if strings.HasPrefix(e, "/") || e == "." || strings.HasPrefix(e, "../") {
				d.errf(it, "exclude %q: give a path relative to the backup's path (\"cache\", \"queue/tmp\")", e)
			}
			b.Exclude = append(b.Exclude, e)
		}
	}
	return b
}

func (d *decoder) confirmSpec(n *yaml.Node, what string) *ConfirmSpec {
	f := d.mapping(n, what, []string{"text"}, []string{"text"})
	c := &ConfirmSpec{}
	if x := f["text"]; x != nil {
		c.Text = d.str(x, publicRef)
	}
	return c
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// suggest returns the known name nearest to s, when it is near enough to be a typo.
func suggest(s string, known []string) string {
	best, bestD := "", 1<<30
	for _, k := range known {
		if dd := distance(strings.ToLower(s), strings.ToLower(k)); dd < bestD {
			best, bestD = k, dd
		}
	}
	if bestD <= 2 || (bestD <= 3 && len(s) > 6) {
		return best
	}
	return ""
}

func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			c := 1
			if a[i-1] == b[j-1] {
				c = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+c)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
