package ldif

import (
	"errors"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func readAll(t *testing.T, src string, opts ReaderOptions) ([]*Record, error) {
	t.Helper()
	r := NewReader(strings.NewReader(src), "in.ldif", opts)
	var out []*Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, rec)
	}
}

func TestReaderAccepts(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []Entry
	}{
		{"a folded line continues after one leading space",
			"dn: cn=a\ndescription: abc\n def\n  ghi\n",
			[]Entry{{DN: "cn=a", Attributes: []Attribute{{"description", []string{"abcdef ghi"}}}}}},
		{"base64 keeps leading and trailing spaces",
			"dn: cn=a\nsn:: IEplbnNlbiA=\n",
			[]Entry{{DN: "cn=a", Attributes: []Attribute{{"sn", []string{" Jensen "}}}}}},
		{"a base64 dn is decoded",
			"dn:: b3U95Za25qWt6YOoLG89QWlyaXVz\nou: x\n",
			[]Entry{{DN: "ou=営業部,o=Airius", Attributes: []Attribute{{"ou", []string{"x"}}}}}},
		{"CRLF line ends are accepted",
			"version: 1\r\ndn: cn=a\r\ncn: a\r\n b\r\n\r\ndn: cn=b\r\ncn: b\r\n",
			[]Entry{{DN: "cn=a", Attributes: []Attribute{{"cn", []string{"ab"}}}}, {DN: "cn=b", Attributes: []Attribute{{"cn", []string{"b"}}}}}},
		{"comments and folded comments are skipped anywhere",
			"# head\n continued head\ndn: cn=a\n# inside\n continued\ncn: a\n",
			[]Entry{{DN: "cn=a", Attributes: []Attribute{{"cn", []string{"a"}}}}}},
		{"an empty value is allowed",
			"dn: cn=a\ndescription:\nmember: \n",
			[]Entry{{DN: "cn=a", Attributes: []Attribute{{"description", []string{""}}, {"member", []string{""}}}}}},
		{"several blank lines separate records and no space after colon is fine",
			"\n\ndn:cn=a\ncn:a\n\n\n\ndn:cn=b\ncn:b",
			[]Entry{{DN: "cn=a", Attributes: []Attribute{{"cn", []string{"a"}}}}, {DN: "cn=b", Attributes: []Attribute{{"cn", []string{"b"}}}}}},
		{"values of one attribute are grouped case-insensitively in first-seen order",
			"dn: cn=a\nobjectClass: top\ncn: a\nobjectclass: person\n",
			[]Entry{{DN: "cn=a", Attributes: []Attribute{{"objectClass", []string{"top", "person"}}, {"cn", []string{"a"}}}}}},
		{"options are part of the attribute description",
			"dn: cn=a\ncn: a\ncn;lang-ja: b\n",
			[]Entry{{DN: "cn=a", Attributes: []Attribute{{"cn", []string{"a"}}, {"cn;lang-ja", []string{"b"}}}}}},
		{"an entry with no attributes is accepted (389 99user.ldif)",
			"dn: cn=schema\n",
			[]Entry{{DN: "cn=schema"}}},
		{"the empty dn is the root DSE",
			"dn:\nobjectClass: top\n",
			[]Entry{{DN: "", Attributes: []Attribute{{"objectClass", []string{"top"}}}}}},
		{"a numeric OID is an attribute description",
			"dn: cn=a\n2.5.4.3: a\n",
			[]Entry{{DN: "cn=a", Attributes: []Attribute{{"2.5.4.3", []string{"a"}}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := readAll(t, tc.in, ReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			var got []Entry
			for _, r := range recs {
				got = append(got, r.Entry)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %q\nwant %q", got, tc.want)
			}
		})
	}
}

func TestReaderRejects(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"a line without a colon", "dn: cn=a\ncn a\n", `in.ldif:2: missing ':' in "cn a"`},
		{"a continuation at the start of the file", " cn: a\n", `in.ldif:1: continuation line with no line to continue`},
		{"a continuation after a blank line", "dn: cn=a\ncn: a\n\n more\n", `in.ldif:4: continuation line with no line to continue`},
		{"a record must start with dn", "cn: a\n", `in.ldif:1: record does not start with "dn:" (found "cn:")`},
		{"version must be 1", "version: 2\ndn: cn=a\n", `in.ldif:1: unsupported version "2" (only 1 is defined)`},
		{"version only before the first record", "dn: cn=a\ncn: a\n\nversion: 1\n", `in.ldif:4: version line after the first record`},
		{"bad base64", "dn: cn=a\ncn:: !!!\n", `in.ldif:2: bad base64 value: illegal base64 data at input byte 0`},
		{"a base64 dn must be UTF-8", "dn:: /w==\ncn: a\n", `in.ldif:1: dn is not valid UTF-8`},
		{"a dn may not be a URL", "dn:< file:///etc/hostname\n", `in.ldif:1: dn may not be given as a URL`},
		{"an attribute name with a space", "dn: cn=a\ncn x: a\n", `in.ldif:2: invalid attribute description "cn x"`},
		{"an empty option", "dn: cn=a\ncn;: a\n", `in.ldif:2: invalid attribute description "cn;"`},
		{"URLs other than file are refused", "dn: cn=a\njpegPhoto:< http://example.com/x.jpg\n", `in.ldif:2: url "http://example.com/x.jpg": scheme "http" not allowed (only file://)`},
		{"a relative file URL is refused", "dn: cn=a\njpegPhoto:< file:x.jpg\n", `in.ldif:2: url "file:x.jpg": only absolute file:///path on the local host is allowed`},
		{"an unknown changetype", "dn: cn=a\nchangetype: frob\n", `in.ldif:2: unknown changetype "frob"`},
		{"anything after changetype delete", "dn: cn=a\nchangetype: delete\ncn: a\n", `in.ldif:3: unexpected "cn: a" after changetype: delete`},
		{"modrdn needs deleteoldrdn", "dn: cn=a\nchangetype: modrdn\nnewrdn: cn=b\n", `in.ldif:1: modrdn record lacks "deleteoldrdn:"`},
		{"deleteoldrdn is 0 or 1", "dn: cn=a\nchangetype: modrdn\nnewrdn: cn=b\ndeleteoldrdn: yes\n", `in.ldif:4: deleteoldrdn must be 0 or 1, not "yes"`},
		{"a modify value names its mod-spec attribute", "dn: cn=a\nchangetype: modify\nadd: cn\nsn: x\n-\n", `in.ldif:4: value of "sn" inside "add: cn" (missing "-"?)`},
		{"a modify op must be add delete replace or increment", "dn: cn=a\nchangetype: modify\nfrob: cn\n", `in.ldif:3: expected add:, delete:, replace: or increment: in a modify record, found "frob:"`},
		{"a control must precede changetype", "dn: cn=a\ncontrol: 1.2.3\ncn: a\n", `in.ldif:3: "control:" must be followed by "changetype:"`},
		{"a control OID is numeric", "dn: cn=a\ncontrol: treeDelete true\nchangetype: delete\n", `in.ldif:2: control: "treeDelete" is not a numeric OID`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readAll(t, tc.in, ReaderOptions{})
			if err == nil {
				t.Fatalf("accepted; want error %s", tc.want)
			}
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Errorf("error %T is not a *SyntaxError", err)
			}
			if err.Error() != tc.want {
				t.Errorf("got  %s\nwant %s", err, tc.want)
			}
		})
	}
}

func TestReaderChangeRecords(t *testing.T) {
	sup := "ou=Accounting, dc=airius, dc=com"
	val := "v"
	tests := []struct {
		name string
		in   string
		want Record
	}{
		{"control with criticality and no value (RFC 2849 example 7)",
			"dn: ou=x\ncontrol: 1.2.840.113556.1.4.805 true\nchangetype: delete\n",
			Record{Line: 1, ChangeType: "delete", Entry: Entry{DN: "ou=x"}, Controls: []Control{{OID: "1.2.840.113556.1.4.805", Critical: true}}}},
		{"control with a value",
			"dn: ou=x\ncontrol: 1.2.3 false: v\nchangetype: delete\n",
			Record{Line: 1, ChangeType: "delete", Entry: Entry{DN: "ou=x"}, Controls: []Control{{OID: "1.2.3", Value: &val}}}},
		{"modrdn with newsuperior",
			"dn: ou=PD\nchangetype: modrdn\nnewrdn: ou=PDA\ndeleteoldrdn: 0\nnewsuperior: " + sup + "\n",
			Record{Line: 1, ChangeType: "modrdn", Entry: Entry{DN: "ou=PD"}, NewRDN: "ou=PDA", NewSuperior: &sup}},
		{"moddn is read as modrdn",
			"dn: ou=PD\nchangetype: moddn\nnewrdn: ou=PDA\ndeleteoldrdn: 1\n",
			Record{Line: 1, ChangeType: "modrdn", Entry: Entry{DN: "ou=PD"}, NewRDN: "ou=PDA", DeleteOldRDN: true}},
		{"modify with every op and a missing final dash",
			"dn: cn=a\nchangetype: modify\nadd: cn\ncn: b\n-\ndelete: sn\n-\nreplace: mail\nmail: x\nmail: y\n-\nincrement: uidNumber\nuidNumber: 1\n",
			Record{Line: 1, ChangeType: "modify", Entry: Entry{DN: "cn=a"}, Mods: []Mod{
				{"add", Attribute{"cn", []string{"b"}}}, {"delete", Attribute{"sn", nil}},
				{"replace", Attribute{"mail", []string{"x", "y"}}}, {"increment", Attribute{"uidNumber", []string{"1"}}}}}},
		{"add carries attributes",
			"# c\ndn: cn=a\nchangetype: add\ncn: a\ncn: b\n",
			Record{Line: 2, ChangeType: "add", Entry: Entry{DN: "cn=a", Attributes: []Attribute{{"cn", []string{"a", "b"}}}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			recs, err := readAll(t, tc.in, ReaderOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if len(recs) != 1 || !reflect.DeepEqual(*recs[0], tc.want) {
				t.Errorf("got %+v\nwant %+v", recs, tc.want)
			}
		})
	}
}

func TestReaderFileURL(t *testing.T) {
	p := filepath.Join(t.TempDir(), "photo.jpg")
	if err := os.WriteFile(p, []byte("\xff\xd8JPEG"), 0o600); err != nil {
		t.Fatal(err)
	}
	u := url.URL{Scheme: "file", Path: p}
	recs, err := readAll(t, "dn: cn=a\njpegPhoto:< "+u.String()+"\n", ReaderOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := recs[0].Entry.Get("jpegphoto"); len(got) != 1 || got[0] != "\xff\xd8JPEG" {
		t.Errorf("jpegPhoto = %q", got)
	}
}

// TestRealDataValues pins values that exercise the tricky parts of the real
// vectors.
func TestRealDataValues(t *testing.T) {
	dir := realdataDir(t)
	read := func(rel string) []*Record {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, rel))
		if err != nil {
			t.Fatal(err)
		}
		recs, err := readAll(t, string(b), ReaderOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return recs
	}
	t.Run("test.ldif sn with leading and trailing space", func(t *testing.T) {
		found := false
		for _, r := range read("openldap-tests/test.ldif") {
			for _, v := range r.Entry.Get("sn") {
				found = found || v == " Jensen "
			}
		}
		if !found {
			t.Error(`no sn " Jensen "`)
		}
	})
	t.Run("example 2 unfolds the description", func(t *testing.T) {
		got := read("rfc2849/rfc2849-example2.ldif")[0].Entry.Get("description")
		want := "Babs is a big sailing fan, and travels extensively in search of perfect sailing conditions."
		if len(got) != 1 || got[0] != want {
			t.Errorf("got %q", got)
		}
	})
	t.Run("test-modify embedded folded comment is skipped", func(t *testing.T) {
		r := read("openldap-tests/test-modify.ldif")[1]
		if r.ChangeType != "modify" || len(r.Mods) != 2 || r.Mods[0].Op != "replace" || r.Mods[0].Attribute.Name != "description" {
			t.Errorf("got %+v", r)
		}
	})
	t.Run("test-lang stacked options", func(t *testing.T) {
		e := read("openldap-tests/test-lang.ldif")[0].Entry
		if v := e.Get("o;lang-zz;lang-y;lang-yy;lang-xx;lang-x;lang-z"); len(v) != 1 || v[0] != "Example, Inc." {
			t.Errorf("got %q", v)
		}
	})
}
