package configdiff

import (
	"strings"
	"testing"
)

func imtaMerge(t *testing.T, base, old, nw string, p Policy, ds Decisions) (string, []Resolution) {
	t.Helper()
	f := FormatIMTA
	m, rs := mergeDoc("imta/config/imta.cnf", parse(f, []byte(base)), parse(f, []byte(old)), parse(f, []byte(nw)), p, ds.lookup())
	return string(m.bytes()), rs
}

const (
	kwBase = "a.com $U@x\n\ntcp_local smtp mx maxjobs 7 backoff \"pt5m\" \"pt1h\" pool SMTP_POOL\ntcp-daemon\n"
	kwOld  = "a.com $U@x\n\ntcp_local smtp mx maxjobs 12 backoff \"pt5m\" \"pt2h\" pool SMTP_POOL\ntcp-daemon\n"
	kwNew  = "a.com $U@x\n\ntcp_local smtp mx maxjobs 7 backoff \"pt5m\" \"pt30m\" pool SMTP_POOL loopcheck\ntcp-daemon\n"
)

func TestChannelKeywordMerge(t *testing.T) {
	tests := []struct {
		name, base, old, nw string
		want                string
		conflicts           []string // "key old|new"
	}{
		{"vendor adds a keyword, operator changes another: both, no conflict",
			"x $U\n\nc smtp maxjobs 7\nc-daemon\n", "x $U\n\nc smtp maxjobs 12\nc-daemon\n", "x $U\n\nc smtp maxjobs 7 loopcheck\nc-daemon\n",
			"x $U\n\nc smtp maxjobs 12 loopcheck\nc-daemon\n", nil},
		{"both change one keyword differently: a conflict with both values, the new value stays",
			kwBase, kwOld, kwNew,
			"a.com $U@x\n\ntcp_local smtp mx maxjobs 12 backoff \"pt5m\" \"pt30m\" pool SMTP_POOL loopcheck\ntcp-daemon\n",
			[]string{`channel tcp_local keyword backoff backoff "pt5m" "pt2h"|backoff "pt5m" "pt30m"`}},
		{"operator removes a keyword the vendor kept: removed",
			"x $U\n\nc smtp mx single_sys\nc-daemon\n", "x $U\n\nc smtp single_sys\nc-daemon\n", "x $U\n\nc smtp mx single_sys loopcheck\nc-daemon\n",
			"x $U\n\nc smtp single_sys loopcheck\nc-daemon\n", nil},
		{"operator adds a keyword with a word argument: appended",
			"x $U\n\nc smtp\nc-daemon\n", "x $U\n\nc smtp daemon relay.example.com\nc-daemon\n", "x $U\n\nc smtp loopcheck\nc-daemon\n",
			"x $U\n\nc smtp loopcheck daemon relay.example.com\nc-daemon\n", nil},
		{"host lines merge as a set",
			"x $U\n\nc smtp\nc-daemon\n", "x $U\n\nc smtp\nc-daemon\nalias.example.com\n", "x $U\n\nc smtp loopcheck\nc-daemon\nvendor.example.com\n",
			"x $U\n\nc smtp loopcheck\nc-daemon\nvendor.example.com\nalias.example.com\n", nil},
		{"a keyword on a continuation line is changed in place",
			"x $U\n\nc smtp \\\n  maxjobs 7\nc-daemon\n", "x $U\n\nc smtp \\\n  maxjobs 12\nc-daemon\n", "x $U\n\nc smtp loopcheck \\\n  maxjobs 7\nc-daemon\n",
			"x $U\n\nc smtp loopcheck \\\n  maxjobs 12\nc-daemon\n", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, rs := imtaMerge(t, tt.base, tt.old, tt.nw, PolicyReapply, nil)
			if got != tt.want {
				t.Errorf("merged:\n%s\nwant:\n%s", got, tt.want)
			}
			var conflicts []string
			for _, r := range rs {
				if r.Outcome == OutcomeUnresolved {
					conflicts = append(conflicts, r.Key+" "+show(r.Old)+"|"+show(r.New))
				}
			}
			if strings.Join(conflicts, "\n") != strings.Join(tt.conflicts, "\n") {
				t.Errorf("conflicts:\n%s\nwant:\n%s", strings.Join(conflicts, "\n"), strings.Join(tt.conflicts, "\n"))
			}
		})
	}
}

func TestChannelDecisions(t *testing.T) {
	const file = "imta/config/imta.cnf"
	t.Run("a keyword decision answers the conflict", func(t *testing.T) {
		got, rs := imtaMerge(t, kwBase, kwOld, kwNew, PolicyReapply, Decisions{{file, "channel tcp_local keyword backoff", ChoiceReapply}})
		want := "a.com $U@x\n\ntcp_local smtp mx maxjobs 12 backoff \"pt5m\" \"pt2h\" pool SMTP_POOL loopcheck\ntcp-daemon\n"
		if got != want {
			t.Errorf("merged:\n%s\nwant:\n%s", got, want)
		}
		for _, r := range rs {
			if r.Outcome == OutcomeUnresolved {
				t.Errorf("%s still unresolved", r.Key)
			}
		}
	})
	t.Run("a channel decision still answers the whole block", func(t *testing.T) {
		for ch, want := range map[Choice]string{ChoiceReapply: kwOld, ChoiceKeepNew: kwNew} {
			got, rs := imtaMerge(t, kwBase, kwOld, kwNew, PolicyReapply, Decisions{{file, "channel tcp_local", ch}})
			if got != want {
				t.Errorf("%s: merged:\n%s\nwant:\n%s", ch, got, want)
			}
			if len(rs) != 1 || rs[0].Key != "channel tcp_local" || rs[0].By != "decision" {
				t.Errorf("%s: resolutions %+v, want one for the block by decision", ch, rs)
			}
		}
	})
	t.Run("policy ask leaves each changed keyword to a decision", func(t *testing.T) {
		got, rs := imtaMerge(t, kwBase, kwOld, kwNew, PolicyAsk, nil)
		if got != kwNew {
			t.Errorf("merged:\n%s\nwant the new block", got)
		}
		var keys []string
		for _, r := range rs {
			if r.Outcome == OutcomeUnresolved {
				keys = append(keys, r.Key)
			}
		}
		if strings.Join(keys, ",") != "channel tcp_local keyword maxjobs,channel tcp_local keyword backoff" {
			t.Errorf("unresolved %v", keys)
		}
	})
}

func TestParseDecisionAcceptsChannelSubKeys(t *testing.T) {
	for in, key := range map[string]string{
		"imta/config/imta.cnf channel tcp_local keyword maxjobs reapply":    "channel tcp_local keyword maxjobs",
		"imta/config/imta.cnf channel l host budgie.siroe.co.jp keep-new":   "channel l host budgie.siroe.co.jp",
		"imta/config/imta.cnf channel  tcp_local\tkeyword  maxjobs reapply": "channel tcp_local keyword maxjobs",
	} {
		d, err := ParseDecision(in)
		if err != nil || d.Key != key {
			t.Errorf("ParseDecision(%q) = %+v, %v; want key %q", in, d, err, key)
		}
	}
}

// TestReapplyOfARemovedSectionRemovesItsEntries: the operator removed a
// section the new file still has, with an entry the vendor added; a
// reapply of the header removes the section and reports the entry, and a
// keep-new decision on an entry is reported as what holds the header.
func TestReapplyOfARemovedSectionRemovesItsEntries(t *testing.T) {
	const file = "imta/config/dispatcher.cnf"
	base := "MAX_PROCS=5\n\n[SERVICE=X]\nPORT=1\n"
	old := "MAX_PROCS=5\n"
	nw := "MAX_PROCS=5\n\n[SERVICE=X]\nPORT=1\nTLS=1\n"
	run := func(p Policy, ds Decisions) (string, []Resolution) {
		m, rs := mergeDoc(file, parse(FormatOption, []byte(base)), parse(FormatOption, []byte(old)), parse(FormatOption, []byte(nw)), p, ds.lookup())
		return string(m.bytes()), rs
	}
	find := func(rs []Resolution, k string) Resolution {
		for _, r := range rs {
			if r.Key == k {
				return r
			}
		}
		t.Fatalf("no resolution for %s", k)
		return Resolution{}
	}
	for _, tc := range []struct {
		p  Policy
		ds Decisions
	}{{PolicyReapply, nil}, {PolicyAsk, Decisions{{file, "[SERVICE=X]", ChoiceReapply}}}} {
		got, rs := run(tc.p, tc.ds)
		if strings.Contains(got, "SERVICE=X") || strings.Contains(got, "TLS") {
			t.Errorf("%s: section not removed:\n%s", tc.p, got)
		}
		if r := find(rs, "[SERVICE=X]"); r.Outcome != OutcomeReapplied {
			t.Errorf("%s: header %s", tc.p, r.Outcome)
		}
		if r := find(rs, "[SERVICE=X] TLS"); r.Outcome != OutcomeReapplied || r.By != "section" || r.Note == "" {
			t.Errorf("%s: the vendor's entry not reported as removed with the section: %+v", tc.p, r)
		}
	}
	got, rs := run(PolicyReapply, Decisions{{file, "[SERVICE=X] PORT", ChoiceKeepNew}})
	if !strings.Contains(got, "[SERVICE=X]") || !strings.Contains(got, "PORT=1") {
		t.Errorf("a kept entry was removed:\n%s", got)
	}
	if r := find(rs, "[SERVICE=X]"); r.Outcome != OutcomeUnresolved || !strings.Contains(r.Note, "[SERVICE=X] PORT") {
		t.Errorf("header held by a kept entry: %+v, want unresolved with a note naming it", r)
	}
}
