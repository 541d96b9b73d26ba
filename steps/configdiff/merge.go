package configdiff

import (
	"fmt"
	"slices"
	"strings"
)

// Policy says what to do with a customization when no Decision names it.
type Policy string

// The policies.
const (
	// PolicyReapply re-applies every operator customization onto the new
	// files (and, without a base, every difference from the new files).
	PolicyReapply Policy = "reapply"
	// PolicyKeepNew keeps the new files' values and only reports the
	// customizations.
	PolicyKeepNew Policy = "keep-new"
	// PolicyAsk leaves every customization unresolved until a Decision
	// names it.
	PolicyAsk Policy = "ask"
)

// ParsePolicy reads a policy name.
func ParsePolicy(s string) (Policy, error) {
	switch p := Policy(strings.TrimSpace(s)); p {
	case PolicyReapply, PolicyKeepNew, PolicyAsk:
		return p, nil
	}
	return "", fmt.Errorf("configdiff: policy %q: want reapply, keep-new or ask", s)
}

// Choice is the answer for one key: take the operator's old value or keep
// the new one.
type Choice string

// The choices.
const (
	ChoiceReapply Choice = "reapply"
	ChoiceKeepNew Choice = "keep-new"
)

// Decision is an operator's answer for one key of one file. Its String
// form is the value of an answers-file line
// `ConfigDecision = config/local.conf service.imap.port reapply`, so a
// merge can be replayed on the HA peer.
type Decision struct {
	File   string `json:"file"`
	Key    string `json:"key"`
	Choice Choice `json:"choice"`
}

// String renders "FILE KEY CHOICE".
func (d Decision) String() string { return d.File + " " + d.Key + " " + string(d.Choice) }

// ParseDecision reads "FILE KEY CHOICE": the file is the first field, the
// choice the last, and the key everything between (keys such as
// "channel tcp_local", "channel tcp_local keyword maxjobs" or
// "[SERVICE=SMTP] PORT" hold spaces).
func ParseDecision(s string) (Decision, error) {
	s = strings.TrimSpace(s)
	i := strings.IndexAny(s, " \t")
	j := strings.LastIndexAny(s, " \t")
	if i < 0 || j <= i {
		return Decision{}, fmt.Errorf("configdiff: decision %q: want FILE KEY reapply|keep-new", s)
	}
	d := Decision{File: s[:i], Key: strings.TrimSpace(s[i:j]), Choice: Choice(s[j+1:])}
	if strings.HasPrefix(d.Key, "channel") {
		// "channel NAME", "channel NAME keyword KW", "channel NAME host
		// HOST": imta.cnf keys hold single spaces.
		d.Key = strings.Join(strings.Fields(d.Key), " ")
	}
	if d.Key == "" {
		return Decision{}, fmt.Errorf("configdiff: decision %q: no key", s)
	}
	if d.Choice != ChoiceReapply && d.Choice != ChoiceKeepNew {
		return Decision{}, fmt.Errorf("configdiff: decision %q: choice %q: want reapply or keep-new", s, d.Choice)
	}
	return d, nil
}

// Decisions is a set of answers; a later answer for the same file and key
// wins.
type Decisions []Decision

func (ds Decisions) lookup() map[[2]string]Choice {
	m := make(map[[2]string]Choice, len(ds))
	for _, d := range ds {
		m[[2]string{d.File, d.Key}] = d.Choice
	}
	return m
}

// Reason says who changed a key, as far as the three versions tell.
type Reason string

// The reasons.
const (
	ReasonCustomized      Reason = "customized"       // operator changed the value; new == base
	ReasonOperatorAdded   Reason = "operator-added"   // only the operator's file has it
	ReasonOperatorRemoved Reason = "operator-removed" // operator deleted it; new == base
	ReasonVendorChanged   Reason = "vendor-changed"   // new default; operator left it alone
	ReasonVendorAdded     Reason = "vendor-added"     // a key only the new version has
	ReasonVendorRemoved   Reason = "vendor-removed"   // the new version dropped it; operator left it alone
	ReasonBothChanged     Reason = "both-changed"     // operator and vendor changed it differently: a conflict
	ReasonDiffers         Reason = "differs"          // no base: old and new differ, nobody knows who changed it
)

// Outcome is what the merge did with a key.
type Outcome string

// The outcomes.
const (
	OutcomeReapplied  Outcome = "reapplied"  // the operator's value is in the merged file
	OutcomeKeptNew    Outcome = "kept-new"   // the new file's value is kept
	OutcomeUnresolved Outcome = "unresolved" // needs a Decision; the new value stays meanwhile
)

// Resolution is one key the merge had to think about. Values are nil where
// the key is absent from that version.
type Resolution struct {
	File    string  `json:"file"`
	Key     string  `json:"key"`
	Reason  Reason  `json:"reason"`
	Outcome Outcome `json:"outcome"`
	// By is "rule" (three-way logic decided), "policy" or "decision".
	By   string  `json:"by"`
	Base *string `json:"base,omitempty"`
	Old  *string `json:"old,omitempty"`
	New  *string `json:"new,omitempty"`
	// Note explains an outcome the reason alone does not: an entry removed
	// with the section the operator removed, or why such a section stays.
	Note string `json:"note,omitempty"`
}

// choosable reports whether the resolution was a choice an operator could
// have made the other way (and so belongs in replayable Decisions).
func (r Resolution) choosable() bool {
	switch r.Reason {
	case ReasonVendorChanged, ReasonVendorAdded, ReasonVendorRemoved:
		return false
	}
	return true
}

func valuePtr(it item, ok bool) *string {
	if !ok {
		return nil
	}
	v := it.value
	return &v
}

// classify returns the reason a key needs attention, or "" when the merge
// has nothing to do (all equal, or operator and vendor agree).
func classify(threeWay bool, b, o, n item, hb, ho, hn bool) Reason {
	eq := func(x, y item, hx, hy bool) bool { return hx == hy && (!hx || x.value == y.value) }
	if eq(o, n, ho, hn) {
		return ""
	}
	if !threeWay {
		if !ho {
			return ReasonVendorAdded
		}
		return ReasonDiffers
	}
	switch {
	case eq(o, b, ho, hb): // the operator left it alone
		switch {
		case !hn:
			return ReasonVendorRemoved
		case !hb:
			return ReasonVendorAdded
		}
		return ReasonVendorChanged
	case eq(n, b, hn, hb): // the vendor left it alone
		switch {
		case !ho:
			return ReasonOperatorRemoved
		case !hb:
			return ReasonOperatorAdded
		}
		return ReasonCustomized
	}
	return ReasonBothChanged
}

// resolve decides the outcome of one classified key.
func resolve(r Reason, p Policy, d Choice) (Outcome, string) {
	switch r {
	case ReasonVendorChanged, ReasonVendorAdded, ReasonVendorRemoved:
		return OutcomeKeptNew, "rule"
	}
	switch d {
	case ChoiceReapply:
		return OutcomeReapplied, "decision"
	case ChoiceKeepNew:
		return OutcomeKeptNew, "decision"
	}
	if r == ReasonBothChanged {
		return OutcomeUnresolved, "rule" // never resolved by policy
	}
	switch p {
	case PolicyReapply:
		return OutcomeReapplied, "policy"
	case PolicyKeepNew:
		return OutcomeKeptNew, "policy"
	}
	return OutcomeUnresolved, "policy"
}

// mergeDoc merges one file's keyed items: base (nil without a base), the
// operator's old file and the new file. It returns the merged document
// (built from the new file's text, so vendor comments and order survive)
// and the resolutions of every key that differed.
func mergeDoc(file string, base, old, nw *doc, p Policy, dec map[[2]string]Choice) (*doc, []Resolution) {
	threeWay := base != nil
	if base == nil {
		base = &doc{format: nw.format}
	}
	bk, ok, nk := base.keyed(), old.keyed(), nw.keyed()

	var keys []string // old order, then new-only, then base-only
	seen := map[string]bool{}
	for _, d := range []*doc{old, nw, base} {
		for _, it := range d.items {
			if it.key != "" && !seen[it.key] {
				seen[it.key] = true
				keys = append(keys, it.key)
			}
		}
	}

	var res []Resolution
	take := map[string]bool{}      // keys whose old version goes into the merge
	rewrite := map[string]string{} // keys whose text the merge wrote (channel blocks)
	for _, k := range keys {
		b, hb := bk[k]
		o, ho := ok[k]
		n, hn := nk[k]
		r := classify(threeWay, b, o, n, hb, ho, hn)
		if r == "" {
			continue
		}
		d, whole := dec[[2]string{file, k}]
		if nw.format == FormatIMTA && strings.HasPrefix(k, "channel ") && ho && hn && !whole && !vendorOnly(r) {
			// Both files have the channel: merge it keyword by keyword
			// (a "channel NAME" decision still answers the whole block).
			if text, rs, ok := mergeChannel(file, k, threeWay, b, o, n, hb, p, dec); ok {
				res = append(res, rs...)
				if text != n.text {
					rewrite[k] = text
				}
				continue
			}
		}
		out, by := resolve(r, p, d)
		rs := Resolution{File: file, Key: k, Reason: r, Outcome: out, By: by,
			Old: valuePtr(o, ho), New: valuePtr(n, hn)}
		if threeWay {
			rs.Base = valuePtr(b, hb)
		}
		res = append(res, rs)
		if out == OutcomeReapplied {
			take[k] = true
		}
	}

	m := &doc{format: nw.format, items: append([]item(nil), nw.items...)}
	// Replace changed items in place, keeping the new file's lead comments.
	for k := range take {
		o, ho := ok[k]
		if i := m.find(k); ho && i >= 0 {
			m.items[i].text = o.text
		}
	}
	for k, text := range rewrite {
		if i := m.find(k); i >= 0 {
			m.items[i].text = text
		}
	}
	// Delete what the operator removed: members before their headers, so a
	// header only goes once its section is empty.
	for _, pass := range []bool{false, true} {
		for i := 0; i < len(m.items); i++ {
			it := m.items[i]
			if it.key == "" || it.header != pass || !take[it.key] {
				continue
			}
			if _, ho := ok[it.key]; ho {
				continue
			}
			if it.header && sectionHasMembers(m, it.key) && !removeSection(m, res, it.key) {
				continue
			}
			i = m.find(it.key)
			m.remove(i)
			i--
		}
	}
	// Insert what the operator added, in the order of the old file so that
	// each insertion can anchor on the one before.
	for i, it := range old.items {
		if it.key != "" && take[it.key] && m.find(it.key) < 0 {
			m.insert(old, i)
		}
	}
	return m, res
}

func vendorOnly(r Reason) bool {
	return r == ReasonVendorChanged || r == ReasonVendorAdded || r == ReasonVendorRemoved
}

// removeSection handles the operator's removal of a section header whose
// section still has entries in the merged file (entries the operator's
// file does not have: the vendor added or changed them, or a policy or
// decision kept them). It removes those entries with the section and
// reports each (By "section"), unless one of them was kept by its own
// keep-new decision, or is a conflict while the header was only removed by
// policy: then the header is left unresolved with a Note saying which
// entries hold it, and false is returned.
func removeSection(m *doc, res []Resolution, header string) bool {
	hi := -1
	for i := range res {
		if res[i].Key == header {
			hi = i
		}
	}
	if hi < 0 {
		return false
	}
	var members []string
	for _, it := range m.items {
		if it.key != "" && it.key != header && it.section == header {
			members = append(members, it.key)
		}
	}
	var blockers []string
	for _, k := range members {
		for _, r := range res {
			if r.Key != k {
				continue
			}
			if (r.By == "decision" && r.Outcome == OutcomeKeptNew) ||
				(r.Outcome == OutcomeUnresolved && res[hi].By != "decision") {
				blockers = append(blockers, k)
			}
		}
	}
	if len(blockers) > 0 {
		res[hi].Outcome, res[hi].By = OutcomeUnresolved, "rule"
		res[hi].Note = fmt.Sprintf("the operator removed this section, but it still holds %s (kept by decision or unresolved); "+
			"answer those reapply to remove the section with them, or answer this header keep-new", strings.Join(blockers, ", "))
		return false
	}
	for _, k := range members {
		for i := range res {
			if res[i].Key == k {
				res[i].Outcome, res[i].By = OutcomeReapplied, "section"
				res[i].Note = "removed with its section " + header + ", which the operator removed"
			}
		}
		if i := m.find(k); i >= 0 {
			m.remove(i)
		}
	}
	return true
}

func sectionHasMembers(m *doc, section string) bool {
	for _, it := range m.items {
		if it.key != "" && it.key != section && it.section == section {
			return true
		}
	}
	return false
}

// remove deletes item i; for a blank-separated block it also drops one
// of the two blank lines left next to each other.
func (d *doc) remove(i int) {
	block := d.items[i].block
	d.items = append(d.items[:i], d.items[i+1:]...)
	if !block {
		return
	}
	switch {
	case i < len(d.items) && d.items[i].blank() && i > 0 && d.items[i-1].blank():
		d.items = append(d.items[:i], d.items[i+1:]...)
	case i == len(d.items) && i > 0 && d.items[i-1].blank():
		d.items = d.items[:i-1]
	}
}

// insert places src.items[idx] into d after the nearest item before it in
// src (same section) that d already has; a new section goes after the
// section that preceded it in src.
func (d *doc) insert(src *doc, idx int) {
	x := src.items[idx]
	pos := -1
	if x.header {
		for j := idx - 1; j >= 0 && pos < 0; j-- {
			if src.items[j].header {
				if k := d.find(src.items[j].key); k >= 0 {
					pos = d.sectionEnd(k)
				}
			}
		}
		// The first section of src goes before what followed it there.
		for j := idx + 1; j < len(src.items) && pos < 0 && !slices.ContainsFunc(src.items[:idx], func(it item) bool { return it.header }); j++ {
			if src.items[j].key != "" {
				if k := d.find(src.items[j].key); k >= 0 {
					pos = k
				}
			}
		}
	} else {
		for j := idx - 1; j >= 0 && pos < 0 && src.items[j].section == x.section; j-- {
			if src.items[j].key != "" {
				if k := d.find(src.items[j].key); k >= 0 {
					pos = k + 1
				}
			}
		}
	}
	if pos < 0 {
		pos = d.firstOf(x)
	}
	d.items = append(d.items[:pos], append([]item{x}, d.items[pos:]...)...)
	// Blocks are blank-separated; a section header that had a blank line
	// before it in src gets one too.
	sepBefore := x.block || (x.header && idx > 0 && src.items[idx-1].blank())
	// An imta.cnf channel needs a blank line somewhere before it, or it
	// would read back as a rewrite rule.
	needSep := sepBefore && pos > 0 && !d.items[pos-1].blank() ||
		x.section == sectionChannels && !slices.ContainsFunc(d.items[:pos], item.blank)
	if needSep {
		sec := x.section
		if pos > 0 {
			sec = d.items[pos-1].section
		}
		d.items = append(d.items[:pos], append([]item{{section: sec, text: "\n"}}, d.items[pos:]...)...)
		pos++
	}
	if x.block && pos+1 < len(d.items) && !d.items[pos+1].blank() {
		sep := item{section: x.section, text: "\n"}
		d.items = append(d.items[:pos+1], append([]item{sep}, d.items[pos+1:]...)...)
	}
}

// sectionEnd returns the index after the last item of the section whose
// header is at k.
func (d *doc) sectionEnd(k int) int {
	j := k + 1
	for j < len(d.items) && d.items[j].section == d.items[k].key {
		j++
	}
	return j
}

// firstOf is where an item goes when nothing before it in its section is
// in d: before the first keyed item of its section, else at the top of the
// rewrite rules, before the first section header, or at the end.
func (d *doc) firstOf(x item) int {
	if !x.header {
		for i, it := range d.items {
			if it.key != "" && it.section == x.section {
				return i
			}
		}
	}
	if x.section == sectionRules {
		return 0
	}
	if x.section == "" || x.header {
		for i, it := range d.items {
			if it.header {
				return i
			}
		}
	}
	return len(d.items)
}
