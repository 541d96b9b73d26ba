package ldif

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var update = flag.Bool("update", false, "rewrite golden files")

func writeOne(t *testing.T, e Entry) string {
	t.Helper()
	var b bytes.Buffer
	w := NewWriter(&b)
	if err := w.WriteEntry(&e); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return strings.TrimPrefix(b.String(), "version: 1\n\n")
}

func TestWriterEncoding(t *testing.T) {
	long := strings.Repeat("x", 100)
	tests := []struct {
		name string
		e    Entry
		want string
	}{
		{"a safe string is written plain",
			Entry{DN: "cn=a,o=x", Attributes: []Attribute{{"cn", []string{"a b"}}}},
			"dn: cn=a,o=x\ncn: a b\n\n"},
		{"a non-ASCII dn is base64",
			Entry{DN: "ou=営業部,o=Airius", Attributes: []Attribute{{"ou", []string{"x"}}}},
			"dn:: b3U95Za25qWt6YOoLG89QWlyaXVz\nou: x\n\n"},
		{"a leading space is base64",
			Entry{DN: "cn=a", Attributes: []Attribute{{"sn", []string{" Jensen"}}}},
			"dn: cn=a\nsn:: IEplbnNlbg==\n\n"},
		{"a trailing space is base64",
			Entry{DN: "cn=a", Attributes: []Attribute{{"sn", []string{"Jensen "}}}},
			"dn: cn=a\nsn:: SmVuc2VuIA==\n\n"},
		{"a leading colon or less-than is base64",
			Entry{DN: "cn=a", Attributes: []Attribute{{"d", []string{":x", "<x"}}}},
			"dn: cn=a\nd:: Ong=\nd:: PHg=\n\n"},
		{"NUL CR and LF are base64",
			Entry{DN: "cn=a", Attributes: []Attribute{{"d", []string{"a\x00", "a\rb", "a\nb"}}}},
			"dn: cn=a\nd:: YQA=\nd:: YQ1i\nd:: YQpi\n\n"},
		{"an empty value and the empty dn",
			Entry{DN: "", Attributes: []Attribute{{"d", []string{""}}}},
			"dn:\nd:\n\n"},
		{"a dn ending in space is base64",
			Entry{DN: "cn=a ", Attributes: nil},
			"dn:: Y249YSA=\n\n"},
		{"a long value folds at 76 columns with a one-space continuation",
			Entry{DN: "cn=a", Attributes: []Attribute{{"description", []string{long}}}},
			"dn: cn=a\ndescription: " + long[:63] + "\n " + long[63:] + "\n\n"},
		{"attribute order and case are kept",
			Entry{DN: "cn=a", Attributes: []Attribute{{"sn", []string{"s"}}, {"CN", []string{"a", "b"}}, {"objectClass", []string{"top"}}}},
			"dn: cn=a\nsn: s\nCN: a\nCN: b\nobjectClass: top\n\n"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := writeOne(t, tc.e); got != tc.want {
				t.Errorf("got\n%q\nwant\n%q", got, tc.want)
			}
		})
	}
}

func TestWriterRejects(t *testing.T) {
	tests := []struct {
		name string
		e    Entry
		want string
	}{
		{"an attribute name with a colon", Entry{DN: "cn=a", Attributes: []Attribute{{"c:n", []string{"a"}}}}, `ldif: entry "cn=a": invalid attribute description "c:n"`},
		{"an empty attribute name", Entry{DN: "cn=a", Attributes: []Attribute{{"", []string{"a"}}}}, `ldif: entry "cn=a": invalid attribute description ""`},
		{"a dn that is not UTF-8", Entry{DN: "cn=\xff"}, `ldif: entry "cn=\xff": dn is not valid UTF-8`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := NewWriter(&bytes.Buffer{})
			err := w.WriteEntry(&tc.e)
			if err == nil || err.Error() != tc.want {
				t.Errorf("got %v, want %s", err, tc.want)
			}
		})
	}
}

// TestWriterFoldsWithinWidth checks every physical line stays within
// LineWidth bytes and that a folded comment never splits a UTF-8 sequence.
func TestWriterFoldsWithinWidth(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	base := "ou=" + strings.Repeat("営業部", 40) + ",o=x"
	if err := w.WriteHeader(Header{Server: "ldap://h", Base: base, Filter: "(objectclass=*)"}); err != nil {
		t.Fatal(err)
	}
	e := Entry{DN: base, Attributes: []Attribute{{"description", []string{strings.Repeat("é", 300)}}}}
	if err := w.WriteEntry(&e); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	for i, line := range strings.Split(b.String(), "\n") {
		if len(line) > LineWidth {
			t.Errorf("line %d is %d bytes", i+1, len(line))
		}
		if !utf8Valid(line) {
			t.Errorf("line %d splits a UTF-8 sequence: %q", i+1, line)
		}
	}
	got, err := ReadEntries(bytes.NewReader(b.Bytes()), "out", ReaderOptions{})
	if err != nil || len(got) != 1 || got[0].DN != base {
		t.Errorf("re-read: %v %q", err, got)
	}
}

// TestWriterGolden pins a whole export: version, header comments, entries
// and the trailing count.
func TestWriterGolden(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	err := w.WriteHeader(Header{Server: "ldap://ldap.siroe.com:389", Base: "o=siroe.com", Scope: "sub",
		Filter: "(objectclass=inetlocalmailrecipient)", Time: time.Date(2002, 3, 4, 5, 6, 7, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	entries := []Entry{
		{DN: "uid=bjensen,ou=People,o=siroe.com", Attributes: []Attribute{
			{"objectClass", []string{"top", "person", "inetOrgPerson", "inetLocalMailRecipient"}},
			{"cn", []string{"Barbara Jensen", " Babs "}},
			{"mailLocalAddress", []string{"bjensen@siroe.com", "babs@siroe.com"}},
			{"description", []string{strings.TrimSpace(strings.Repeat("A long description that must be folded. ", 4))}},
		}},
		{DN: "uid=rogasawara,ou=営業部,o=siroe.com", Attributes: []Attribute{
			{"cn;lang-ja", []string{"小笠原 ロドニー"}},
			{"jpegPhoto", []string{"\xff\xd8\xff\xe0\x00\x10JFIF\x00"}},
		}},
	}
	for i := range entries {
		if err := w.WriteEntry(&entries[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if w.Entries() != 2 || w.Bytes() != int64(b.Len()) {
		t.Errorf("Entries()=%d Bytes()=%d, buffer %d", w.Entries(), w.Bytes(), b.Len())
	}
	golden := filepath.Join("testdata", "export.golden.ldif")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Errorf("output differs from %s:\n%s", golden, b.String())
	}
}
