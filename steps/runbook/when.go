package runbook

import (
	"fmt"
	"strings"
)

// whenClause is one clause of a step's when: NAME, not NAME, NAME == VALUE,
// NAME != VALUE.
type whenClause struct {
	name, op, value string
}

func parseWhen(s string) ([]whenClause, []string) {
	var out []whenClause
	var probs []string
	for _, c := range strings.Split(s, " and ") {
		c = strings.TrimSpace(c)
		var w whenClause
		switch {
		case strings.Contains(c, "=="):
			n, v, _ := strings.Cut(c, "==")
			w = whenClause{strings.TrimSpace(n), "==", strings.TrimSpace(v)}
		case strings.Contains(c, "!="):
			n, v, _ := strings.Cut(c, "!=")
			w = whenClause{strings.TrimSpace(n), "!=", strings.TrimSpace(v)}
		case strings.HasPrefix(c, "not "):
			w = whenClause{strings.TrimSpace(strings.TrimPrefix(c, "not ")), "not", ""}
		default:
			w = whenClause{c, "", ""}
		}
		if !nameRE.MatchString(w.name) {
			probs = append(probs, fmt.Sprintf("%q: write NAME, not NAME, NAME == VALUE or NAME != VALUE, joined by \" and \"", c))
			continue
		}
		out = append(out, w)
	}
	return out, probs
}

// whenProblems checks a when against the runbook's answers.
func (d *decoder) whenProblems(s string) []string {
	cs, probs := parseWhen(s)
	for _, c := range cs {
		a, ok := d.answers[c.name]
		if !ok {
			msg := fmt.Sprintf("%s names no answer of this runbook", c.name)
			if sg := suggest(c.name, keys(d.answers)); sg != "" {
				msg += fmt.Sprintf("; did you mean %q?", sg)
			}
			probs = append(probs, msg)
			continue
		}
		if a.Type == TypeSecret {
			probs = append(probs, fmt.Sprintf("%s is a secret and cannot decide a step", c.name))
		}
		if a.Type == TypeChoice && c.op != "" && c.op != "not" && !contains(a.Choices, c.value) {
			probs = append(probs, fmt.Sprintf("%s is one of %s, never %q", c.name, strings.Join(a.Choices, ", "), c.value))
		}
	}
	return probs
}

// Holds says whether a step's when holds for these answers (true without one).
func (v *Values) Holds(when string) bool {
	cs, _ := parseWhen(when)
	if when == "" {
		return true
	}
	for _, c := range cs {
		val := v.vals[c.name]
		truthy := val != ""
		if b, err := parseBool(val); err == nil {
			truthy = b
		}
		var ok bool
		switch c.op {
		case "":
			ok = truthy
		case "not":
			ok = !truthy
		case "==":
			ok = val == c.value
		case "!=":
			ok = val != c.value
		}
		if !ok {
			return false
		}
	}
	return true
}
