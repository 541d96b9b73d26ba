package schema

import (
	_ "embed"
	"fmt"
	"strings"
)

// neededSchema is the embedded definition set; its header cites the sources.
//
//go:embed needed.schema
var neededSchema string

// Private extensions of needed.schema (see its header); never sent to a
// server.
const (
	extAlsoOID     = "X-MSWIZARD-ALSO-OID"
	extFallbackOID = "X-MSWIZARD-FALLBACK-OID"
	extPrivate     = "X-MSWIZARD-"
	// Origin is the X-ORIGIN given to every definition this package adds.
	Origin = "mswizard"
)

// Needed returns the attribute types and object classes Messaging Server
// 5.2 needs, attribute types first, in the order of the embedded file.
func Needed() ([]Def, error) {
	return ParseFile(neededSchema)
}

// ParseFile parses records "attributeTypes: (...)" and "objectClasses:
// (...)", where a line starting with white space continues the previous one
// and lines starting with '#' are comments. Attribute types are returned
// before object classes, each in file order.
func ParseFile(text string) ([]Def, error) {
	type rec struct {
		line int
		text string
	}
	var recs []rec
	for n, line := range strings.Split(text, "\n") {
		line = strings.TrimRight(line, "\r")
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.TrimSpace(line) == "":
		case line[0] == ' ' || line[0] == '\t':
			if len(recs) == 0 {
				return nil, fmt.Errorf("schema: line %d: continuation without a record", n+1)
			}
			recs[len(recs)-1].text += " " + strings.TrimSpace(line)
		default:
			recs = append(recs, rec{n + 1, line})
		}
	}
	var ats, ocs []Def
	for _, r := range recs {
		attr, val, ok := strings.Cut(r.text, ":")
		if !ok {
			return nil, fmt.Errorf("schema: line %d: want an attributeTypes or objectClasses line", r.line)
		}
		var kind string
		switch {
		case strings.EqualFold(attr, AttributeType):
			kind = AttributeType
		case strings.EqualFold(attr, ObjectClass):
			kind = ObjectClass
		default:
			return nil, fmt.Errorf("schema: line %d: unknown record %q", r.line, attr)
		}
		d, err := Parse(kind, val)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", r.line, err)
		}
		if kind == AttributeType {
			ats = append(ats, d)
		} else {
			ocs = append(ocs, d)
		}
	}
	return append(ats, ocs...), nil
}

// forServer returns the definition as it is sent to a server: under oid,
// without the private extensions, with X-ORIGIN 'mswizard'.
func (d Def) forServer(oid string) Def {
	out := d
	out.OID = oid
	out.Ext = nil
	for _, e := range d.Ext {
		u := strings.ToUpper(e.Name)
		if strings.HasPrefix(u, extPrivate) || u == "X-ORIGIN" {
			continue
		}
		out.Ext = append(out.Ext, e)
	}
	out.Ext = append(out.Ext, Extension{Name: "X-ORIGIN", Values: []string{Origin}})
	return out
}
