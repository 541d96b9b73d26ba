package schema

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		kind string
		in   string
		want Def
	}{
		{"descr-style OID and single NAME in parentheses as 389 ships it", AttributeType,
			"( nsmsgNtrunoptn-oid NAME ( 'nsmsgNtrunoptn' ) DESC 'Netscape Messaging Server configuration defined attribute' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15  X-ORIGIN 'Netscape Messaging Server configuration' )",
			Def{Kind: AttributeType, OID: "nsmsgNtrunoptn-oid", Names: []string{"nsmsgNtrunoptn"},
				Desc: "Netscape Messaging Server configuration defined attribute", Syntax: "1.3.6.1.4.1.1466.115.121.1.15",
				Ext: []Extension{{"X-ORIGIN", []string{"Netscape Messaging Server configuration"}}}}},
		{"NAME list, SYNTAX length and flags are kept", AttributeType,
			"( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32768} SINGLE-VALUE NO-USER-MODIFICATION USAGE directoryOperation )",
			Def{Kind: AttributeType, OID: "2.5.4.3", Names: []string{"cn", "commonName"}, Sup: []string{"name"},
				Equality: "caseIgnoreMatch", Substr: "caseIgnoreSubstringsMatch", Syntax: "1.3.6.1.4.1.1466.115.121.1.15{32768}",
				SingleValue: true, NoUserMod: true, Usage: "directoryOperation"}},
		{"DESC escapes \\27 and \\5C are decoded", AttributeType,
			`( 1.2.3 NAME 'x' DESC 'it\27s a back\5Cslash' )`,
			Def{Kind: AttributeType, OID: "1.2.3", Names: []string{"x"}, Desc: `it's a back\slash`}},
		{"object class with MUST and MAY lists over several lines", ObjectClass,
			"( 2.16.840.1.113730.3.2.147\n\tNAME 'inetLocalMailRecipient'\n\tDESC 'Internet local mail recipient'\n\tSUP top AUXILIARY\n\tMAY\t( mailLocalAddress $ mailHost $ mailRoutingAddress ) )",
			Def{Kind: ObjectClass, OID: "2.16.840.1.113730.3.2.147", Names: []string{"inetLocalMailRecipient"},
				Desc: "Internet local mail recipient", Sup: []string{"top"}, ClassKind: "AUXILIARY",
				May: []string{"mailLocalAddress", "mailHost", "mailRoutingAddress"}}},
		{"lower-case keywords and single MUST", ObjectClass,
			"( 1.2.4 name 'y' sup ( top ) structural must cn x-origin ( 'a' 'b' ) )",
			Def{Kind: ObjectClass, OID: "1.2.4", Names: []string{"y"}, Sup: []string{"top"}, ClassKind: "STRUCTURAL",
				Must: []string{"cn"}, Ext: []Extension{{"x-origin", []string{"a", "b"}}}}},
		{"quoted SYNTAX of old Netscape schema", AttributeType,
			"( 1.2.5 NAME 'z' SYNTAX '1.3.6.1.4.1.1466.115.121.1.15' )",
			Def{Kind: AttributeType, OID: "1.2.5", Names: []string{"z"}, Syntax: "1.3.6.1.4.1.1466.115.121.1.15"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse(tc.kind, tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("Parse:\n got %#v\nwant %#v", got, tc.want)
			}
			again, err := Parse(tc.kind, got.String())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("String %q does not parse back: %v", got.String(), err)
			}
		})
	}
}

func TestParseRejects(t *testing.T) {
	tests := []struct{ name, kind, in, wantErr string }{
		{"missing closing parenthesis", AttributeType, "( 1.2.3 NAME 'x'", "missing ')'"},
		{"no opening parenthesis", AttributeType, "1.2.3 NAME 'x' )", "want '('"},
		{"unknown keyword", AttributeType, "( 1.2.3 NAME 'x' FROB )", "unknown keyword"},
		{"object class keyword in an attribute type", AttributeType, "( 1.2.3 MUST cn )", "unknown keyword"},
		{"keyword given twice", AttributeType, "( 1.2.3 NAME 'x' NAME 'y' )", "given twice"},
		{"two class kinds", ObjectClass, "( 1.2.3 STRUCTURAL AUXILIARY )", "after"},
		{"unterminated quote", AttributeType, "( 1.2.3 NAME 'x )", "unterminated"},
		{"bad escape", AttributeType, `( 1.2.3 DESC 'a\zz' )`, "bad escape"},
		{"missing $ in a list", ObjectClass, "( 1.2.3 MAY ( a b ) )", "want '$'"},
		{"text after the description", AttributeType, "( 1.2.3 ) x", "trailing"},
		{"empty NAME list", AttributeType, "( 1.2.3 NAME ( ) )", "empty list"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse(tc.kind, tc.in)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("Parse(%q) = %v, want error containing %q", tc.in, err, tc.wantErr)
			}
		})
	}
}

// TestParseRealSchemaFiles parses every definition of the public schema
// files the needed set was taken from.
func TestParseRealSchemaFiles(t *testing.T) {
	root := filepath.Join("testdata", "389ds")
	files := []string{"50ns-mail.ldif", "50ns-msg.ldif", "20subscriber.ldif", "60inetmail.ldif", "30ns-common.ldif",
		"50ns-delegated-admin.ldif", "51ns-calendar.ldif", "50ns-calendar.ldif", "50ns-directory.ldif"}
	for _, f := range files {
		t.Run(f, func(t *testing.T) {
			b, err := os.ReadFile(filepath.Join(root, f))
			if err != nil {
				t.Fatalf("real schema data missing (testdata/389ds, see its SOURCES.md): %v", err)
			}
			// LDIF: continuation lines start with one space, which is removed.
			var lines []string
			for _, l := range strings.Split(string(b), "\n") {
				switch {
				case strings.HasPrefix(l, " ") && len(lines) > 0:
					lines[len(lines)-1] += l[1:]
				default:
					lines = append(lines, l)
				}
			}
			n := 0
			for _, l := range lines {
				attr, val, ok := strings.Cut(l, ":")
				if !ok {
					continue
				}
				kind := ""
				switch strings.ToLower(attr) {
				case "attributetypes":
					kind = AttributeType
				case "objectclasses":
					kind = ObjectClass
				default:
					continue
				}
				if _, err := Parse(kind, val); err != nil {
					t.Errorf("%v", err)
				}
				n++
			}
			if n == 0 {
				t.Errorf("no definitions found in %s", f)
			}
		})
	}
}

func TestNeededParsesWithTypesFirst(t *testing.T) {
	defs, err := Needed()
	if err != nil {
		t.Fatal(err)
	}
	names := map[string]bool{}
	seenClass := false
	for _, d := range defs {
		if d.Kind == ObjectClass {
			seenClass = true
		} else if seenClass {
			t.Errorf("attribute type %s after an object class", d.Name())
		}
		names[d.Name()] = true
	}
	for _, n := range []string{"inetLocalMailRecipient", "mailLocalAddress", "mailHost", "mailRoutingAddress"} {
		if !names[n] {
			t.Errorf("needed set lacks %s", n)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"( nsmsgNtrunoptn-oid NAME ( 'nsmsgNtrunoptn' ) DESC 'x' SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 X-ORIGIN 'y' )",
		"( 2.5.4.3 NAME ( 'cn' 'commonName' ) SUP name SYNTAX 1.3.6.1.4.1.1466.115.121.1.15{32768} SINGLE-VALUE )",
		`( 1.2.3 NAME 'x' DESC 'it\27s' )`,
		"( 1.2.4 NAME 'y' SUP top AUXILIARY MUST ( a $ b ) MAY c )",
	} {
		f.Add(AttributeType == "", s)
		f.Add(true, s)
	}
	f.Fuzz(func(t *testing.T, class bool, s string) {
		kind := AttributeType
		if class {
			kind = ObjectClass
		}
		d, err := Parse(kind, s)
		if err != nil {
			return
		}
		r := d.String()
		again, err := Parse(kind, r)
		if err != nil {
			t.Fatalf("rendered %q of %q does not parse: %v", r, s, err)
		}
		if !reflect.DeepEqual(again, d) {
			t.Fatalf("round trip of %q:\n got %#v\nwant %#v", s, again, d)
		}
	})
}
