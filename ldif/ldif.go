// Package ldif reads and writes the LDAP Data Interchange Format of RFC 2849.
//
// It is written by hand because the common Go library writes a non-ASCII DN
// unencoded and drops a value's leading space. The Writer streams content
// records (what `ldapsearch -L` produces); the Reader accepts content records
// and change records (RFC 2849 "ldif-changes") and reports every error with
// the file name and line number.
package ldif

import "strings"

// Attribute is one attribute description (type plus options, as written in
// the file) with its values in the order given. Values may hold any bytes.
type Attribute struct {
	Name   string
	Values []string
}

// Entry is one directory entry: a DN and its attributes in the order given.
type Entry struct {
	DN         string
	Attributes []Attribute
}

// Get returns the values of the attribute whose description equals name,
// compared case-insensitively, or nil.
func (e *Entry) Get(name string) []string {
	for _, a := range e.Attributes {
		if strings.EqualFold(a.Name, name) {
			return a.Values
		}
	}
	return nil
}

// safeInit reports whether b may start a SAFE-STRING (RFC 2849 SAFE-INIT-CHAR):
// any byte up to 0x7F except NUL, LF, CR, SPACE, ':' and '<'.
func safeInit(b byte) bool {
	return b < 0x80 && b != 0 && b != '\n' && b != '\r' && b != ' ' && b != ':' && b != '<'
}

// safeChar reports whether b may appear in a SAFE-STRING (RFC 2849 SAFE-CHAR).
func safeChar(b byte) bool {
	return b < 0x80 && b != 0 && b != '\n' && b != '\r'
}

// NeedsBase64 reports whether v must be written base64-encoded: it is not an
// RFC 2849 SAFE-STRING (starts with SPACE, ':' or '<', or holds a byte that is
// non-ASCII, NUL, CR or LF), or it ends with a SPACE (RFC 2849 note 8 says such
// values SHOULD be base64-encoded because readers and editors strip it).
func NeedsBase64(v string) bool {
	if v == "" {
		return false
	}
	if !safeInit(v[0]) || v[len(v)-1] == ' ' {
		return true
	}
	for i := 1; i < len(v); i++ {
		if !safeChar(v[i]) {
			return true
		}
	}
	return false
}

// ValidAttributeDescription reports whether s is an RFC 4512 attribute
// description as RFC 2849 uses it: a descriptor (ALPHA *(ALPHA / DIGIT / "-"))
// or a numeric OID, followed by zero or more ";option" parts made of ALPHA,
// DIGIT and "-".
func ValidAttributeDescription(s string) bool {
	typ, opts, _ := strings.Cut(s, ";")
	if !validType(typ) {
		return false
	}
	if strings.Contains(s, ";") {
		for _, o := range strings.Split(opts, ";") {
			if o == "" {
				return false
			}
			for i := 0; i < len(o); i++ {
				if !isKeychar(o[i]) {
					return false
				}
			}
		}
	}
	return true
}

func validType(t string) bool {
	if t == "" {
		return false
	}
	if isDigit(t[0]) { // numericoid: number *( "." number )
		prevDot := true
		for i := 0; i < len(t); i++ {
			switch {
			case isDigit(t[i]):
				prevDot = false
			case t[i] == '.' && !prevDot:
				prevDot = true
			default:
				return false
			}
		}
		return !prevDot
	}
	if !isAlpha(t[0]) {
		return false
	}
	for i := 1; i < len(t); i++ {
		if !isKeychar(t[i]) {
			return false
		}
	}
	return true
}

func isDigit(b byte) bool   { return b >= '0' && b <= '9' }
func isAlpha(b byte) bool   { return b|0x20 >= 'a' && b|0x20 <= 'z' }
func isKeychar(b byte) bool { return isAlpha(b) || isDigit(b) || b == '-' }
