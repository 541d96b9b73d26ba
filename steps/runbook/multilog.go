package runbook

import (
	"path"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// multilogLimit is the range multilog accepts for one numeric action.
type multilogLimit struct {
	lo, hi int64 // hi 0: no upper bound
	what   string
}

// multilogLimits are multilog's numeric actions and their documented ranges:
// multilog(8) (cr.yp.to/daemontools/multilog.html, Debian's multilog.8;
// host-facts F-SUP-004): "s size ... size must be between 4096 and 16777215"
// and "n num ... num must be at least 2". Out of range, multilog exits 111 at once and supervise
// restarts it every second: a log service that never stays up.
var multilogLimits = map[byte]multilogLimit{
	's': {lo: 4096, hi: 16777215, what: "s (the largest log file, in bytes)"},
	'n': {lo: 2, what: "n (how many log files are kept)"},
}

// word is one word of a command line and the line of the runbook it is on.
type word struct {
	text string
	line int
}

// lintMultilogText checks every multilog command line in a file's content
// (a run script: `exec setuidgid USER multilog t s{{log_size}} ./main`).
func (d *decoder) lintMultilogText(n *yaml.Node, text string) {
	if n == nil || !strings.Contains(text, "multilog") {
		return
	}
	first := n.Line
	if n.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		first++ // a block scalar's text starts below its indicator
	}
	for i, l := range strings.Split(text, "\n") {
		var ws []word
		for _, f := range strings.Fields(l) {
			ws = append(ws, word{text: f, line: first + i})
		}
		d.lintMultilogWords(ws)
	}
}

// lintMultilogArgv checks an argv that runs multilog, or whose elements hold
// a shell line that does (sh -c '... multilog ...').
func (d *decoder) lintMultilogArgv(items []*yaml.Node) {
	var ws []word
	for _, it := range items {
		if it.Kind == yaml.ScalarNode {
			ws = append(ws, word{text: it.Value, line: it.Line})
			if strings.ContainsAny(it.Value, " \t\n") {
				d.lintMultilogText(it, it.Value)
			}
		}
	}
	d.lintMultilogWords(ws)
}

// lintMultilogWords checks the numeric actions after each multilog in ws,
// up to the end of its command (a shell separator). A literal out of range,
// or a reference to an answer whose declared type, min and max allow values
// out of range, is an error at its line. Anything else (a shell variable)
// cannot be checked here.
func (d *decoder) lintMultilogWords(ws []word) {
	in := false
	for _, w := range ws {
		t := strings.Trim(w.text, `"'`)
		switch {
		case t == ";" || t == "|" || t == "&&" || t == "||" || t == "&":
			in = false
			continue
		case path.Base(t) == "multilog":
			in = true
			continue
		case !in || len(t) < 2:
			continue
		}
		lim, ok := multilogLimits[t[0]]
		if !ok {
			continue
		}
		arg := t[1:]
		if v, err := strconv.ParseInt(arg, 10, 64); err == nil {
			if v < lim.lo || (lim.hi > 0 && v > lim.hi) {
				d.errfLine(w.line, "multilog %s: %s must be %s (multilog(8))", t, lim.what, lim.rangeText())
			}
			continue
		}
		m := refRE.FindStringSubmatch(arg)
		if m == nil || m[0] != arg {
			continue
		}
		a, ok := d.answers[m[1]]
		if !ok {
			continue // reported as an unknown reference
		}
		switch {
		case a.Type != TypeInt:
			d.errfLine(w.line, "multilog %s: %s must be %s (multilog(8)), but answer %s is of type %s; make it an int with min: %d%s", t, lim.what, lim.rangeText(), a.Name, a.Type, lim.lo, lim.maxText())
		case a.Min == nil || *a.Min < lim.lo:
			d.errfLine(w.line, "multilog %s: %s must be %s (multilog(8)), but answer %s allows less; declare min: %d", t, lim.what, lim.rangeText(), a.Name, lim.lo)
		case lim.hi > 0 && (a.Max == nil || *a.Max > lim.hi):
			d.errfLine(w.line, "multilog %s: %s must be %s (multilog(8)), but answer %s allows more; declare max: %d", t, lim.what, lim.rangeText(), a.Name, lim.hi)
		}
	}
}

func (l multilogLimit) rangeText() string {
	if l.hi > 0 {
		return "between " + strconv.FormatInt(l.lo, 10) + " and " + strconv.FormatInt(l.hi, 10)
	}
	return "at least " + strconv.FormatInt(l.lo, 10)
}

func (l multilogLimit) maxText() string {
	if l.hi > 0 {
		return " and max: " + strconv.FormatInt(l.hi, 10)
	}
	return ""
}
