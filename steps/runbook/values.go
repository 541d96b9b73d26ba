package runbook

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"mswizard/steps/node"
	"mswizard/wizard/answers"
)

// Section is the answers-file section of the wizard's own keys for a runbook
// run; the runbook's answers go in a section named by the runbook's id.
//
//	[Runbook]
//	Runbook  = qmail-daemontools     # a shipped id or a runbook file
//	StateDir = /var/lib/mswizard/qmail
//	Confirm  = yes                   # every confirmation answered yes
//	Confirmed = confirm/backup-taken # one confirm step answered yes (repeatable)
//	Waive    = PRE-QMAIL-002 reason  # an inhibitor waived (repeatable)
//
//	[qmail-daemontools]
//	root = /
//	log_size = 99999
//	secret_name_file = /root/.mswizard/pw   # a secret by reference, to a 0600 file
const Section = "Runbook"

var wizardKeys = []string{"Runbook", "StateDir", "Confirm", "Confirmed", "Waive"}

// Values are the runbook's answers, resolved: defaults filled, references
// substituted, every value checked against its type.
type Values struct {
	Path      string // the answers file ("" when built from defaults)
	Runbook   string // [Runbook] Runbook
	StateDir  string
	Confirm   bool
	Confirmed []string
	Waivers   map[string]string
	Nodes     []node.Config // the answers' [Nodes], in order
	vals      map[string]string
	secrets   map[string]answers.Secret
	public    []string // names of non-secret answers, in declaration order
}

// Get returns an answer's value ("" for a secret: use Render with secretRef).
func (v *Values) Get(name string) string { return v.vals[name] }

// Hash is the sha256 of the runbook's bytes and its non-secret answers: the
// journal's pin refuses to resume with either changed.
func (v *Values) Hash(rb *Runbook) string {
	h := sha256.New()
	fmt.Fprintf(h, "runbook %s %s\n", rb.ID, rb.Sum)
	for _, n := range v.public {
		fmt.Fprintf(h, "%s=%q\n", n, v.vals[n])
	}
	return hex.EncodeToString(h.Sum(nil))
}

// LoadValues reads the answers file at path for rb. Every problem is reported
// at once, with its line.
func LoadValues(rb *Runbook, path string) (*Values, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, Problems{{File: path, Msg: fmt.Sprintf("cannot read: %v", err)}}
	}
	f, err := answers.Parse(path, data)
	if err != nil {
		return nil, err
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	v, err := valuesFrom(rb, f, filepath.Dir(path), fi.Mode().Perm())
	if v != nil {
		v.Path = path
	}
	return v, err
}

// ReadRunbookName returns the [Runbook] Runbook value of an answers file.
func ReadRunbookName(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	f, err := answers.Parse(path, data)
	if err != nil {
		return "", err
	}
	v, _ := f.Section(Section).Get("Runbook")
	return v, nil
}

// Defaults resolves the runbook's answers from their defaults alone (for
// validation and help); answers without a default are left empty.
func Defaults(rb *Runbook) *Values {
	v, _ := valuesFrom(rb, &answers.File{Name: "(defaults)"}, "/", 0o600)
	return v
}

func valuesFrom(rb *Runbook, f *answers.File, base string, perm os.FileMode) (*Values, error) {
	var probs Problems
	bad := func(line int, format string, a ...any) {
		probs = append(probs, answers.Problem{File: f.Name, Line: line, Msg: fmt.Sprintf(format, a...)})
	}
	v := &Values{vals: map[string]string{}, secrets: map[string]answers.Secret{}, Waivers: map[string]string{}}
	if w := f.Section(Section); w != nil {
		seen := map[string]int{}
		for _, kv := range w.Keys {
			if !contains(wizardKeys, kv.Key) {
				msg := fmt.Sprintf("unknown key %q in [%s]", kv.Key, Section)
				if s := suggest(kv.Key, wizardKeys); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				}
				bad(kv.Line, "%s", msg)
				continue
			}
			repeatable := kv.Key == "Waive" || kv.Key == "Confirmed"
			if prev, ok := seen[kv.Key]; ok && !repeatable {
				bad(kv.Line, "%s appears twice in [%s] (first at line %d)", kv.Key, Section, prev)
				continue
			}
			seen[kv.Key] = kv.Line
			switch kv.Key {
			case "Runbook":
				v.Runbook = kv.Value
			case "StateDir":
				if !filepath.IsAbs(kv.Value) {
					bad(kv.Line, "StateDir %q must be an absolute path", kv.Value)
				}
				v.StateDir = kv.Value
			case "Confirm":
				b, err := parseBool(kv.Value)
				if err != nil {
					bad(kv.Line, "Confirm: %v", err)
				}
				v.Confirm = b
			case "Confirmed":
				if !idRE.MatchString(kv.Value) {
					bad(kv.Line, "Confirmed %q: give a step id", kv.Value)
				} else if !hasStep(rb, kv.Value, KindConfirm) {
					bad(kv.Line, "Confirmed %q: the runbook has no confirm step of that id", kv.Value)
				}
				v.Confirmed = append(v.Confirmed, kv.Value)
			case "Waive":
				id, reason, _ := strings.Cut(kv.Value, " ")
				if strings.TrimSpace(reason) == "" {
					bad(kv.Line, "Waive %q: give the finding ID and the reason (Waive = PRE-X-001 why it is safe)", kv.Value)
				}
				if !hasFinding(rb, id) {
					// A typo'd ID would waive nothing and the run would stop
					// at the inhibitor the operator meant to waive.
					msg := fmt.Sprintf("Waive %s: runbook %s has no preflight finding of that id", id, rb.ID)
					if s := suggest(id, findingIDs(rb)); s != "" {
						msg += fmt.Sprintf("; did you mean %q?", s)
					} else if ids := findingIDs(rb); len(ids) > 0 {
						msg += " (its findings: " + strings.Join(ids, ", ") + ")"
					}
					bad(kv.Line, "%s", msg)
				}
				v.Waivers[id] = strings.TrimSpace(reason)
			}
		}
	}
	if v.Runbook != "" && rb.ID != "" && v.Runbook != rb.ID && !IsFile(v.Runbook) {
		bad(f.Section(Section).Line, "[%s] Runbook = %s, but this runbook is %s", Section, v.Runbook, rb.ID)
	}
	sec := f.Section(rb.ID)
	given := map[string]answers.KV{}
	if sec != nil {
		known := map[string]*AnswerSpec{}
		for _, a := range rb.Answers {
			known[a.Name] = a
		}
		var names []string
		for _, a := range rb.Answers {
			names = append(names, a.Name)
			if a.Type == TypeSecret {
				names = append(names, a.Name+"_file")
			}
		}
		for _, kv := range sec.Keys {
			name := kv.Key
			if a, ok := known[strings.TrimSuffix(name, "_file")]; ok && strings.HasSuffix(name, "_file") && a.Type == TypeSecret {
				name = kv.Key
			} else if _, ok := known[name]; !ok {
				msg := fmt.Sprintf("unknown answer %q in [%s]", kv.Key, rb.ID)
				if s := suggest(kv.Key, names); s != "" {
					msg += fmt.Sprintf("; did you mean %q?", s)
				}
				bad(kv.Line, "%s", msg)
				continue
			}
			if prev, ok := given[name]; ok {
				bad(kv.Line, "%s appears twice in [%s] (first at line %d)", kv.Key, rb.ID, prev.Line)
				continue
			}
			given[name] = kv
		}
	}
	for _, s := range f.Sections {
		if s.Name != Section && s.Name != rb.ID && s.Name != node.SectionNodes {
			bad(s.Line, "section [%s]: an answers file for runbook %s has [%s], [%s] and [%s] only", s.Name, rb.ID, Section, rb.ID, node.SectionNodes)
		}
	}
	// [Nodes]: the hosts the runbook's steps name, reached over SSH.
	nodes, nprobs := node.ParseNodes(f)
	probs = append(probs, nprobs...)
	v.Nodes = nodes
	named := map[string]bool{"local": true, "each": true}
	for _, c := range nodes {
		named[c.Name] = true
	}
	for _, s := range rb.Steps {
		if !named[s.Node] {
			line := 0
			if sec := f.Section(node.SectionNodes); sec != nil {
				line = sec.Line
			}
			bad(line, "runbook %s acts on node %s (step %s): name it in [%s] (%s = address=HOST:PORT user=root key=FILE known_hosts=FILE)", rb.ID, s.Node, s.ID, node.SectionNodes, s.Node)
			named[s.Node] = true
		}
	}
	// Resolve in dependency order: a default may name other answers.
	raw := map[string]string{}
	line := map[string]int{}
	for _, a := range rb.Answers {
		if a.Type == TypeSecret {
			kv, inline := given[a.Name]
			ref, byFile := given[a.Name+"_file"]
			switch {
			case inline && byFile:
				bad(kv.Line, "secret %s is given both inline and by %s_file; keep one", a.Name, a.Name)
			case inline:
				if perm&0o077 != 0 {
					bad(kv.Line, "secret %s is in a file group or others can read (mode %04o): run chmod 600 %s, or give %s_file = PATH to a 0600 file", a.Name, perm, f.Name, a.Name)
				}
				v.secrets[a.Name] = answers.NewSecret(kv.Value)
			case byFile:
				p := ref.Value
				if !filepath.IsAbs(p) {
					p = filepath.Join(base, p)
				}
				fi, err := os.Stat(p)
				if err != nil {
					bad(ref.Line, "%s_file: %v", a.Name, err)
					break
				}
				if fi.Mode().Perm()&0o077 != 0 {
					bad(ref.Line, "%s_file %s: group or others can read it (mode %04o); run chmod 600 %s", a.Name, p, fi.Mode().Perm(), p)
				}
				b, err := os.ReadFile(p)
				if err != nil {
					bad(ref.Line, "%s_file: %v", a.Name, err)
					break
				}
				v.secrets[a.Name] = answers.NewSecret(strings.TrimRight(string(b), "\r\n"))
			}
			continue
		}
		v.public = append(v.public, a.Name)
		if kv, ok := given[a.Name]; ok {
			raw[a.Name], line[a.Name] = kv.Value, kv.Line
		} else if a.HasDefault {
			raw[a.Name] = a.Default
		}
	}
	var resolve func(name string, depth int) string
	resolve = func(name string, depth int) string {
		if r, ok := v.vals[name]; ok {
			return r
		}
		s, ok := raw[name]
		if !ok || depth > 20 {
			return ""
		}
		out := refRE.ReplaceAllStringFunc(s, func(m string) string {
			return resolve(refRE.FindStringSubmatch(m)[1], depth+1)
		})
		if spec := specOf(rb, name); spec != nil && spec.Type == TypePath && out != "" && refRE.MatchString(s) {
			out = filepath.Clean(out) // "{{root}}/var/qmail" with root "/"
		}
		v.vals[name] = out
		return out
	}
	for _, a := range rb.Answers {
		if a.Type == TypeSecret {
			continue
		}
		val := resolve(a.Name, 0)
		if _, ok := raw[a.Name]; !ok {
			if f.Name != "(defaults)" {
				bad(0, "[%s] has no %s (%s), and it has no default", rb.ID, a.Name, a.Help)
			}
			continue
		}
		if kv, ok := given[a.Name]; ok && refRE.MatchString(kv.Value) {
			bad(kv.Line, "%s: answers take plain values; {{...}} references belong in the runbook", a.Name)
			continue
		}
		if err := checkValue(a, val); err != nil {
			bad(line[a.Name], "%s = %s: %v", a.Name, val, err)
		}
	}
	for _, a := range rb.Answers {
		if a.Type == TypeSecret && v.secrets[a.Name].IsZero() && f.Name != "(defaults)" {
			bad(0, "[%s] has no secret %s (%s): give %s_file = PATH to a 0600 file", rb.ID, a.Name, a.Help, a.Name)
		}
	}
	if len(probs) > 0 {
		sort.SliceStable(probs, func(i, j int) bool { return probs[i].Line < probs[j].Line })
		return v, probs
	}
	return v, nil
}

func findingIDs(rb *Runbook) []string {
	var out []string
	for _, c := range rb.Preflight {
		out = append(out, c.ID)
	}
	return out
}

func hasFinding(rb *Runbook, id string) bool { return contains(findingIDs(rb), id) }

func specOf(rb *Runbook, name string) *AnswerSpec {
	for _, a := range rb.Answers {
		if a.Name == name {
			return a
		}
	}
	return nil
}

func hasStep(rb *Runbook, id, kind string) bool {
	for _, s := range rb.Steps {
		if s.ID == id && s.Kind == kind {
			return true
		}
	}
	return false
}

func parseBool(s string) (bool, error) {
	switch strings.ToLower(s) {
	case "yes", "true", "1", "on":
		return true, nil
	case "no", "false", "0", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not yes or no", s)
}

var userRE = regexp.MustCompile(`^([a-z_][a-z0-9_.-]*\$?|[0-9]+)$`)

// checkValue checks a resolved value against its answer's type.
func checkValue(a *AnswerSpec, s string) error {
	switch a.Type {
	case TypeInt, TypePort:
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("not an integer")
		}
		lo, hi := a.Min, a.Max
		if a.Type == TypePort {
			if n < 1 || n > 65535 {
				return fmt.Errorf("a port is 1..65535")
			}
		}
		if lo != nil && n < *lo {
			return fmt.Errorf("below the minimum %d", *lo)
		}
		if hi != nil && n > *hi {
			return fmt.Errorf("above the maximum %d", *hi)
		}
	case TypeBool:
		_, err := parseBool(s)
		return err
	case TypePath:
		if !filepath.IsAbs(s) {
			return fmt.Errorf("not an absolute path")
		}
		if filepath.Clean(s) != s && s != "/" {
			return fmt.Errorf("not a clean path (write %s)", filepath.Clean(s))
		}
	case TypeUser, TypeGroup:
		if !userRE.MatchString(s) {
			return fmt.Errorf("not a %s name or number", a.Type)
		}
	case TypeDuration:
		if d, err := time.ParseDuration(s); err != nil || d <= 0 {
			return fmt.Errorf("not a positive duration (30s, 2m)")
		}
	case TypeChoice:
		if !contains(a.Choices, s) {
			return fmt.Errorf("must be one of %s", strings.Join(a.Choices, ", "))
		}
	case TypeString:
		if strings.ContainsAny(s, "\x00\n") {
			return fmt.Errorf("must be one line")
		}
	}
	return nil
}

// render substitutes the answers into s. A secret is substituted only where
// the runbook allows it (validated by Parse); the caller never prints it.
func (v *Values) render(s string) string {
	return refRE.ReplaceAllStringFunc(s, func(m string) string {
		name := refRE.FindStringSubmatch(m)[1]
		if sec, ok := v.secrets[name]; ok {
			return sec.Reveal()
		}
		return v.vals[name]
	})
}

// renderPublic substitutes, showing a secret as REDACTED: for plan lines.
func (v *Values) renderPublic(s string) string {
	return refRE.ReplaceAllStringFunc(s, func(m string) string {
		name := refRE.FindStringSubmatch(m)[1]
		if _, ok := v.secrets[name]; ok {
			return "REDACTED"
		}
		return v.vals[name]
	})
}

func (v *Values) renderAll(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = v.render(s)
	}
	return out
}

// WriteTemplate prints a self-documenting answers file for rb: every answer
// with its type, meaning and default.
func WriteTemplate(w io.Writer, rb *Runbook, arg string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "# Answers for the runbook %s: %s\n", rb.ID, rb.Title)
	for _, l := range rb.DescriptionLines(76) {
		fmt.Fprintf(&b, "#   %s\n", l)
	}
	fmt.Fprintf(&b, "# Run: mswizard run %s --answers THIS-FILE   (chmod 600 if it holds a secret)\n\n", arg)
	fmt.Fprintf(&b, "[%s]\n", Section)
	fmt.Fprintf(&b, "# The runbook: a shipped id or a runbook file.\nRunbook = %s\n", arg)
	fmt.Fprintf(&b, "# The state directory: journal, log, report, saved originals.\nStateDir = /var/lib/mswizard/%s\n", rb.ID)
	b.WriteString("# yes answers every confirmation; Confirmed = STEP answers one confirm step.\nConfirm = no\n")
	b.WriteString("# Waive = FINDING-ID why it is safe     (repeatable; inhibitors only)\n\n")
	fmt.Fprintf(&b, "[%s]\n", rb.ID)
	for _, a := range rb.Answers {
		fmt.Fprintf(&b, "# %s (%s", a.Help, a.Type)
		if a.Min != nil || a.Max != nil {
			lo, hi := "", ""
			if a.Min != nil {
				lo = strconv.FormatInt(*a.Min, 10)
			}
			if a.Max != nil {
				hi = strconv.FormatInt(*a.Max, 10)
			}
			fmt.Fprintf(&b, ", %s..%s", lo, hi)
		}
		if len(a.Choices) > 0 {
			fmt.Fprintf(&b, ": %s", strings.Join(a.Choices, ", "))
		}
		b.WriteString(")\n")
		switch {
		case a.Type == TypeSecret:
			fmt.Fprintf(&b, "# a secret: give it by reference to a 0600 file\n%s_file =\n", a.Name)
		case a.HasDefault && refRE.MatchString(a.Default):
			fmt.Fprintf(&b, "# default: %s (uncomment to give another value)\n#%s =\n", a.Default, a.Name)
		case a.HasDefault:
			fmt.Fprintf(&b, "%s = %s\n", a.Name, a.Default)
		default:
			fmt.Fprintf(&b, "%s =\n", a.Name)
		}
	}
	// The nodes the steps name, reached over SSH (README: runbooks across nodes).
	if names := NodeNames(rb); len(names) > 0 {
		fmt.Fprintf(&b, "\n[%s]\n# NAME = address=HOST[:PORT] user=USER key=FILE|agent=yes known_hosts=FILE  (\"each\" walks them in this order)\n", node.SectionNodes)
		for _, n := range names {
			fmt.Fprintf(&b, "%s = address=%s.example:22 user=root agent=yes known_hosts=/etc/mswizard/known_hosts\n", n, n)
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
