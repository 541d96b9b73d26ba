package configdiff

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

var allFormats = []Format{FormatConfigutil, FormatOption, FormatIMTA, FormatMappings, FormatAliases, FormatLines}

func addSeeds(f *testing.F) {
	for _, c := range mergeCases {
		b, o, n := readCaseF(f, c.name)
		f.Add(b, o, n)
	}
	f.Add([]byte("a=1\n"), []byte("a=2\nb=3"), []byte("a=1\nc=4\n"))
	f.Add([]byte(""), []byte("\n\n"), []byte("!\n[X=y]\n"))
}

func readCaseF(f *testing.F, name string) (b, o, n []byte) {
	f.Helper()
	rd := func(s string) []byte {
		data, err := readFileF(name, s)
		if err != nil {
			f.Fatal(err)
		}
		return data
	}
	return rd("base"), rd("old"), rd("new")
}

// FuzzMergeWithItselfChangesNothing: merging a file with itself, in any
// format and with a base or without, gives back the same bytes and
// nothing to resolve.
func FuzzMergeWithItselfChangesNothing(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, base, old, _ []byte) {
		for _, format := range allFormats {
			x := parse(format, old)
			for _, b := range []*doc{nil, parse(format, base)} {
				m, rs := mergeDoc("f", b, x, parse(format, old), PolicyReapply, nil)
				if got := m.bytes(); !bytes.Equal(got, old) {
					t.Fatalf("%s: merge of a file with itself changed it:\n%q\n->\n%q", format, old, got)
				}
				if b == nil && len(rs) != 0 {
					t.Fatalf("%s: two-way merge of a file with itself found %d changes", format, len(rs))
				}
			}
		}
	})
}

// FuzzMergeAppliesTheDiff: when the vendor changed nothing (new == base),
// re-applying every customization reproduces the operator's file key for
// key, and a vendor-only change is taken as it is.
func FuzzMergeAppliesTheDiff(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, base, old, nw []byte) {
		for _, format := range allFormats {
			m, rs := mergeDoc("f", parse(format, base), parse(format, old), parse(format, base), PolicyReapply, nil)
			for _, r := range rs {
				if r.Outcome != OutcomeReapplied {
					// Only a section header that still has members can be
					// held back; the members themselves stay resolved.
					if !strings.HasPrefix(r.Key, "[") && !strings.HasPrefix(r.Key, "table ") {
						t.Fatalf("%s: %s left %s", format, r.Key, r.Outcome)
					}
				}
			}
			if got, want := keyvals(reparse(m)), keyvals(parse(format, old)); got != want && !heldBack(rs) {
				t.Fatalf("%s: merged keys differ from the operator's file\nbase %q\nold %q\nmerged %q\ngot:\n%s\nwant:\n%s",
					format, base, old, m.bytes(), got, want)
			}
			m2, _ := mergeDoc("f", parse(format, base), parse(format, base), parse(format, nw), PolicyReapply, nil)
			if got := m2.bytes(); !bytes.Equal(got, nw) {
				t.Fatalf("%s: a pure vendor change was not taken as is", format)
			}
		}
	})
}

func heldBack(rs []Resolution) bool {
	for _, r := range rs {
		if r.Outcome != OutcomeReapplied {
			return true
		}
	}
	return false
}

// reparse renders and parses again: what a later reader of the merged file
// would see.
func reparse(d *doc) *doc { return parse(d.format, d.bytes()) }

// FuzzUnifiedPatchReproducesTarget: applying our unified diff to the old
// text gives the new text.
func FuzzUnifiedPatchReproducesTarget(f *testing.F) {
	addSeeds(f)
	f.Fuzz(func(t *testing.T, a, b, _ []byte) {
		u := Unified(a, b, "a", "b")
		got, err := applyUnified(a, u)
		if err != nil {
			t.Fatalf("%v\n%s", err, u)
		}
		if !bytes.Equal(got, b) {
			t.Fatalf("patched text differs:\nA %q\nB %q\ngot %q\n%s", a, b, got, u)
		}
	})
}

// applyUnified is a minimal patch(1) for our own output.
func applyUnified(a, u []byte) ([]byte, error) {
	if len(u) == 0 {
		return a, nil
	}
	old := splitLinesS(a)
	var out []string
	ls := splitLinesS(u)[2:]
	pos := 0
	for i := 0; i < len(ls); {
		h := ls[i]
		if !strings.HasPrefix(h, "@@ -") {
			return nil, fmt.Errorf("want hunk header, got %q", h)
		}
		f := strings.Fields(h)
		start, _, _ := strings.Cut(strings.TrimPrefix(f[1], "-"), ",")
		n, err := strconv.Atoi(start)
		if err != nil {
			return nil, err
		}
		if strings.HasSuffix(f[1], ",0") {
			n++ // "before,0": the hunk starts after that line
		}
		for ; pos < n-1; pos++ {
			out = append(out, old[pos])
		}
		i++
		for ; i < len(ls) && !strings.HasPrefix(ls[i], "@@"); i++ {
			l := ls[i]
			body := l[1:]
			if i+1 < len(ls) && ls[i+1] == "\\ No newline at end of file\n" {
				body = strings.TrimSuffix(body, "\n")
				i++
			}
			switch l[0] {
			case ' ':
				if pos >= len(old) || old[pos] != body {
					return nil, fmt.Errorf("context mismatch at line %d", pos+1)
				}
				out = append(out, body)
				pos++
			case '-':
				if pos >= len(old) || old[pos] != body {
					return nil, fmt.Errorf("deleted line mismatch at line %d", pos+1)
				}
				pos++
			case '+':
				out = append(out, body)
			default:
				return nil, fmt.Errorf("bad line %q", l)
			}
		}
	}
	out = append(out, old[pos:]...)
	return []byte(strings.Join(out, "")), nil
}

func splitLinesS(b []byte) []string { return lines(b) }

func readFileF(name, s string) ([]byte, error) {
	return os.ReadFile(filepath.Join("testdata/merge", name, s))
}
