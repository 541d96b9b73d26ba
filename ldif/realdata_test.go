package ldif

import (
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// realdataDir returns testdata/realdata: public LDIF vectors, each folder's
// origin and licence in its SOURCES.md.
func realdataDir(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("testdata", "realdata")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("test inputs missing: %v", err)
	}
	return dir
}

type fileSummary struct {
	content, change int
	changeTypes     string
	err             string
}

func summarize(t *testing.T, path string, opts ReaderOptions) fileSummary {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r := NewReader(f, filepath.Base(path), opts)
	var s fileSummary
	var cts []string
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.err = err.Error()
			break
		}
		if rec.ChangeType == "" {
			s.content++
		} else {
			s.change++
			cts = append(cts, rec.ChangeType)
		}
	}
	s.changeTypes = strings.Join(cts, ",")
	return s
}

// TestRealData reads every file under realdata/ldif; the RFC 2849 examples
// that are invalid as printed (see rfc2849/SOURCES.md) and the broken 389
// dse.ldif must fail at the named line with the exact message.
func TestRealData(t *testing.T) {
	dir := realdataDir(t)
	want := map[string]fileSummary{
		"rfc2849/rfc2849-example1.ldif": {content: 2},
		"rfc2849/rfc2849-example2.ldif": {content: 1},
		"rfc2849/rfc2849-example3.ldif": {content: 0, err: `rfc2849-example3.ldif:12: missing ':' in "IGlzIGJhc2UtNjQtZW5jb2RlZCBiZWNhdXNlIGl0..."`},
		"rfc2849/rfc2849-example4.ldif": {content: 1, err: `rfc2849-example4.ldif:43: missing ':' in "<JapaneseGivenname_in_phonetic_represent..."`},
		"rfc2849/rfc2849-example5.ldif": {content: 1, err: `rfc2849-example5.ldif:8: record does not start with "dn:" (found "cn:")`},
		"rfc2849/rfc2849-example6.ldif": {err: `rfc2849-example6.ldif:12: url "file:///usr/local/directory/photos/fiona.jpg": open /usr/local/directory/photos/fiona.jpg: no such file or directory`},
		"rfc2849/rfc2849-example7.ldif": {change: 1, changeTypes: "delete"},

		"openldap-tests/dn.out":              {content: 17},
		"openldap-tests/emptydn.out":         {content: 6},
		"openldap-tests/lang-out.ldif":       {content: 4},
		"openldap-tests/modify.out.provider": {content: 19},
		"openldap-tests/passwd.ldif":         {content: 6},
		"openldap-tests/referrals.ldif":      {content: 5},
		"openldap-tests/test-dn.ldif":        {content: 35},
		"openldap-tests/test-emptydn1.ldif":  {content: 2},
		"openldap-tests/test-emptydn2.ldif":  {content: 8},
		"openldap-tests/test-lang.ldif":      {content: 1},
		"openldap-tests/test-limits.ldif":    {content: 20},
		"openldap-tests/test-modify.ldif":    {change: 8, changeTypes: "modify,modify,modify,modify,add,delete,modify,modify"},
		"openldap-tests/test.ldif":           {content: 19},

		"389ds/Example.ldif":               {content: 160},
		"389ds/freeipa-issue6136-dse.ldif": {content: 167},
		"389ds/template.ldif":              {content: 8, change: 1, changeTypes: "modify"},
		"389ds/dse.ldif.broken":            {content: 1, err: `dse.ldif.broken:44: invalid attribute description "nsslapd-allow-anonymous####-access"`},
	}
	seen := map[string]bool{}
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, path)
		if strings.HasSuffix(rel, ".md") || strings.HasSuffix(rel, ".txt") {
			return nil
		}
		seen[rel] = true
		t.Run(rel, func(t *testing.T) {
			w, ok := want[rel]
			if !ok {
				t.Fatalf("no expectation for %s: add one", rel)
			}
			got := summarize(t, path, ReaderOptions{})
			if got != w {
				t.Errorf("got %+v\nwant %+v", got, w)
			}
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for rel := range want {
		if !seen[rel] {
			t.Errorf("expected input %s is missing", rel)
		}
	}
}

// TestExample6BlankLineAfterDash: with its jpeg URLs resolved, RFC 2849
// example 6 still fails where a blank line splits a modify record, which
// RFC 2849's grammar forbids (python-ldap agrees; OpenLDAP is lenient).
func TestExample6BlankLineAfterDash(t *testing.T) {
	path := filepath.Join(realdataDir(t), "rfc2849", "rfc2849-example6.ldif")
	opts := ReaderOptions{OpenURL: func(u *url.URL) (io.ReadCloser, error) {
		return io.NopCloser(strings.NewReader("JPEG")), nil
	}}
	got := summarize(t, path, opts)
	want := fileSummary{change: 5, changeTypes: "add,delete,modrdn,modrdn,modify",
		err: `rfc2849-example6.ldif:42: record does not start with "dn:" (found "delete:")`}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
}
