package configdiff

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFormatOfPicksTheParserByPath(t *testing.T) {
	for rel, want := range map[string]Format{
		"config/local.conf":                 FormatConfigutil,
		"config/msg.conf":                   FormatConfigutil,
		"imta/config/imta.cnf":              FormatIMTA,
		"imta/config/mappings":              FormatMappings,
		"imta/config/mappings.locale":       FormatMappings,
		"imta/config/aliases":               FormatAliases,
		"imta/config/option.dat":            FormatOption,
		"imta/config/dispatcher.cnf":        FormatOption,
		"imta/config/job_controller.cnf":    FormatOption,
		"imta/config/imta_tailor":           FormatOption,
		"imta/config/tcp_local_option":      FormatOption,
		"imta/config/conversions":           FormatLines,
		"imta/config/internet.rules":        FormatLines,
		"html/en/mail.html":                 FormatLines,
		"config/imta.cnf":                   FormatLines,
		"imta/config/sub/imta.cnf.disabled": FormatLines,
	} {
		if got := FormatOf(rel); got != want {
			t.Errorf("FormatOf(%q) = %s, want %s", rel, got, want)
		}
	}
}

// keyvals renders a document's keyed items as "key = value" lines.
func keyvals(d *doc) string {
	var sb strings.Builder
	for _, it := range d.items {
		if it.key != "" {
			fmt.Fprintf(&sb, "%s = %s\n", it.key, it.value)
		}
	}
	return sb.String()
}

func TestParseKeysAndValues(t *testing.T) {
	tests := []struct {
		name   string
		format Format
		in     string
		want   string
	}{
		{"configutil accepts spaces, quotes and both comment marks", FormatConfigutil,
			"! c\n# c\nservice.imap.port = 143\nlocal.x=\"a b\"\n  Service.POP.Port  =  110  \n",
			"service.imap.port = 143\nlocal.x = a b\nservice.pop.port = 110\n"},
		{"configutil keeps a line without = unkeyed", FormatConfigutil,
			"garbage line\na=1\n", "a = 1\n"},
		{"option keys are case-insensitive and sections prefix them", FormatOption,
			"tcp_port=27442\n[pool=smtp_pool]\njob_limit=10\n[CHANNEL=tcp_*]\nMASTER_COMMAND=x\n",
			"TCP_PORT = 27442\n[POOL=SMTP_POOL] = [POOL=SMTP_POOL]\n[POOL=SMTP_POOL] JOB_LIMIT = 10\n[CHANNEL=TCP_*] = [CHANNEL=TCP_*]\n[CHANNEL=TCP_*] MASTER_COMMAND = x\n"},
		{"option radix integers compare as decimal", FormatOption,
			"A=16%FF\nB=8%17\nC=x%1\n", "A = 255\nB = 15\nC = x%1\n"},
		{"option continuation joins lines and repeats are numbered", FormatOption,
			"; c\nDNS_VERIFY_DOMAIN=a\nDNS_VERIFY_DOMAIN=b\nLONG=a \\\n  b\n",
			"DNS_VERIFY_DOMAIN = a\nDNS_VERIFY_DOMAIN#2 = b\nLONG = a b\n"},
		{"imta rules end at the first blank line, comments are not blank", FormatIMTA,
			"! c\na.com $U@x\n! c\nb.com  $U@y\n\n! c\ndefaults logging\n! inside\n\nl\nhost\n\n<IMTA_TABLE:internet.rules\ntcp_local smtp \\\n mx\ntcp-daemon\nalias-host\n",
			"rule a.com = $U@x\nrule b.com = $U@y\nchannel defaults = logging\nchannel l =  | host\ninclude <IMTA_TABLE:internet.rules = <IMTA_TABLE:internet.rules\nchannel tcp_local = smtp mx | tcp-daemon | alias-host\n"},
		{"mappings tables with or without the blank after the name", FormatMappings,
			"T1\n\n  a  $Y\n  b$ c  $N\n\nT2\n  x  y\n",
			"table T1 = T1\nT1 a = $Y\nT1 b$ c = $N\ntable T2 = T2\nT2 x = y\n"},
		{"aliases lower-case the alias and join continuations", FormatAliases,
			"! c\nPostmaster: root\nlist: a, \\\n b\n<IMTA_TABLE:more.aliases\n",
			"postmaster = root\nlist = a, b\ninclude <IMTA_TABLE:more.aliases = <IMTA_TABLE:more.aliases\n"},
		{"lines is one whole-file key", FormatLines, "a\nb\n", "(file) = a\nb\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := parse(tt.format, []byte(tt.in))
			if got := keyvals(d); got != tt.want {
				t.Errorf("keys:\n%s\nwant:\n%s", got, tt.want)
			}
			if got := string(d.bytes()); got != tt.in {
				t.Errorf("rendering changed the text:\n%q\nwant\n%q", got, tt.in)
			}
		})
	}
}

func TestParseRoundTripsTheSampleFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/merge/*/*")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, format := range []Format{FormatConfigutil, FormatOption, FormatIMTA, FormatMappings, FormatAliases, FormatLines} {
			if got := parse(format, b).bytes(); string(got) != string(b) {
				t.Errorf("%s as %s: rendering differs from the file", f, format)
			}
		}
	}
}

// mergeCases are the per-format samples under testdata/merge/NAME/{base,
// old,new}: every kind of change, and in configutil a planted conflict.
var mergeCases = []struct{ name, rel string }{
	{"configutil", "config/local.conf"},
	{"dispatcher", "imta/config/dispatcher.cnf"},
	{"job_controller", "imta/config/job_controller.cnf"},
	{"imta", "imta/config/imta.cnf"},
	// Channel blocks merged keyword by keyword: the vendor adds a keyword
	// and the operator changes another (tcp_local), both change one
	// (ims-ms backoff: a conflict), the operator removes one the vendor
	// kept (tcp_intranet), both add host lines (l), a one-word argument
	// (tcp_auth daemon).
	{"imta_keywords", "imta/config/imta.cnf"},
	{"mappings", "imta/config/mappings"},
	{"aliases", "imta/config/aliases"},
	{"html", "html/index.html"},
}

func readCase(t *testing.T, name string) (base, old, nw []byte) {
	t.Helper()
	rd := func(s string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata/merge", name, s))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	return rd("base"), rd("old"), rd("new")
}

func renderResolutions(rs []Resolution) string {
	var sb strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&sb, "%s  [%s -> %s by %s]\n    base: %s\n    old:  %s\n    new:  %s\n",
			r.Key, r.Reason, r.Outcome, r.By, show(r.Base), show(r.Old), show(r.New))
		if r.Note != "" {
			fmt.Fprintf(&sb, "    note: %s\n", r.Note)
		}
	}
	return sb.String()
}

func TestMergePerFormatGolden(t *testing.T) {
	for _, c := range mergeCases {
		t.Run(c.name, func(t *testing.T) {
			base, old, nw := readCase(t, c.name)
			f := FormatOf(c.rel)
			m, rs := mergeDoc(c.rel, parse(f, base), parse(f, old), parse(f, nw), PolicyReapply, nil)
			var out strings.Builder
			fmt.Fprintf(&out, "== merged %s (three-way, policy reapply) ==\n%s", c.rel, m.bytes())
			fmt.Fprintf(&out, "== resolutions ==\n%s", renderResolutions(rs))
			fmt.Fprintf(&out, "== diff -u backup new ==\n%s", Unified(old, nw, "backup/"+c.rel, c.rel))
			golden(t, "merge/"+c.name, []byte(out.String()))
		})
	}
}

func TestMergeTwoWayGolden(t *testing.T) {
	for _, c := range mergeCases {
		t.Run(c.name, func(t *testing.T) {
			_, old, nw := readCase(t, c.name)
			f := FormatOf(c.rel)
			m, rs := mergeDoc(c.rel, nil, parse(f, old), parse(f, nw), PolicyReapply, nil)
			var out strings.Builder
			fmt.Fprintf(&out, "== merged %s (two-way, policy reapply) ==\n%s", c.rel, m.bytes())
			fmt.Fprintf(&out, "== resolutions ==\n%s", renderResolutions(rs))
			golden(t, "merge/"+c.name+".twoway", []byte(out.String()))
		})
	}
}
