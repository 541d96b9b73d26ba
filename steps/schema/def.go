package schema

import (
	"fmt"
	"strings"
)

// Kinds of definitions, named as the subschema attributes that hold them
// (RFC 4512 §4.2.1, §4.2.2).
const (
	AttributeType = "attributeTypes"
	ObjectClass   = "objectClasses"
)

// Extension is one X- extension of a description (RFC 4512 §4.2).
type Extension struct {
	Name   string   `json:"name"`
	Values []string `json:"values"`
}

// Def is a parsed attribute type or object class description
// (RFC 4512 §4.1.1 ObjectClassDescription, §4.1.2 AttributeTypeDescription).
// The OID may be a numeric OID or, as Netscape schema has it, a descr such
// as "nsmsgNtrunoptn-oid".
type Def struct {
	Kind     string   `json:"kind"` // AttributeType or ObjectClass
	OID      string   `json:"oid"`
	Names    []string `json:"names,omitempty"`
	Desc     string   `json:"desc,omitempty"`
	Obsolete bool     `json:"obsolete,omitempty"`
	Sup      []string `json:"sup,omitempty"`

	// Attribute types.
	Equality    string `json:"equality,omitempty"`
	Ordering    string `json:"ordering,omitempty"`
	Substr      string `json:"substr,omitempty"`
	Syntax      string `json:"syntax,omitempty"` // with its {len}, if any
	SingleValue bool   `json:"singleValue,omitempty"`
	Collective  bool   `json:"collective,omitempty"`
	NoUserMod   bool   `json:"noUserModification,omitempty"`
	Usage       string `json:"usage,omitempty"`

	// Object classes.
	ClassKind string   `json:"classKind,omitempty"` // ABSTRACT, STRUCTURAL or AUXILIARY
	Must      []string `json:"must,omitempty"`
	May       []string `json:"may,omitempty"`

	Ext []Extension `json:"ext,omitempty"`
}

// Name returns the first NAME, or the OID when there is none.
func (d Def) Name() string {
	if len(d.Names) > 0 {
		return d.Names[0]
	}
	return d.OID
}

// ExtValues returns the values of the extension name (case-insensitive).
func (d Def) ExtValues(name string) []string {
	for _, e := range d.Ext {
		if strings.EqualFold(e.Name, name) {
			return e.Values
		}
	}
	return nil
}

// String renders the description in RFC 4512 §4.1 order.
func (d Def) String() string {
	var b strings.Builder
	b.WriteString("( ")
	b.WriteString(d.OID)
	if len(d.Names) == 1 {
		b.WriteString(" NAME " + qdstring(d.Names[0]))
	} else if len(d.Names) > 1 {
		b.WriteString(" NAME (")
		for _, n := range d.Names {
			b.WriteString(" " + qdstring(n))
		}
		b.WriteString(" )")
	}
	if d.Desc != "" {
		b.WriteString(" DESC " + qdstring(d.Desc))
	}
	if d.Obsolete {
		b.WriteString(" OBSOLETE")
	}
	writeOIDs(&b, "SUP", d.Sup)
	for _, kv := range [][2]string{{"EQUALITY", d.Equality}, {"ORDERING", d.Ordering}, {"SUBSTR", d.Substr}, {"SYNTAX", d.Syntax}} {
		if kv[1] != "" {
			b.WriteString(" " + kv[0] + " " + kv[1])
		}
	}
	for _, f := range []struct {
		on bool
		kw string
	}{{d.SingleValue, "SINGLE-VALUE"}, {d.Collective, "COLLECTIVE"}, {d.NoUserMod, "NO-USER-MODIFICATION"}} {
		if f.on {
			b.WriteString(" " + f.kw)
		}
	}
	if d.Usage != "" {
		b.WriteString(" USAGE " + d.Usage)
	}
	if d.ClassKind != "" {
		b.WriteString(" " + d.ClassKind)
	}
	writeOIDs(&b, "MUST", d.Must)
	writeOIDs(&b, "MAY", d.May)
	for _, e := range d.Ext {
		b.WriteString(" " + e.Name)
		if len(e.Values) == 1 {
			b.WriteString(" " + qdstring(e.Values[0]))
		} else {
			b.WriteString(" (")
			for _, v := range e.Values {
				b.WriteString(" " + qdstring(v))
			}
			b.WriteString(" )")
		}
	}
	b.WriteString(" )")
	return b.String()
}

func writeOIDs(b *strings.Builder, kw string, oids []string) {
	switch len(oids) {
	case 0:
	case 1:
		b.WriteString(" " + kw + " " + oids[0])
	default:
		b.WriteString(" " + kw + " ( " + strings.Join(oids, " $ ") + " )")
	}
}

// qdstring quotes s, escaping \ and ' as RFC 4512 §4.1 QQ and QS require.
func qdstring(s string) string {
	s = strings.ReplaceAll(s, `\`, `\5C`)
	s = strings.ReplaceAll(s, `'`, `\27`)
	return "'" + s + "'"
}

// token kinds of the description lexer.
const (
	tLParen = iota
	tRParen
	tDollar
	tQuoted
	tWord
)

type token struct {
	kind int
	text string
}

func lex(s string) ([]token, error) {
	var toks []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '(':
			toks = append(toks, token{tLParen, "("})
			i++
		case c == ')':
			toks = append(toks, token{tRParen, ")"})
			i++
		case c == '$':
			toks = append(toks, token{tDollar, "$"})
			i++
		case c == '\'':
			j := strings.IndexByte(s[i+1:], '\'')
			if j < 0 {
				return nil, fmt.Errorf("unterminated quoted string at offset %d", i)
			}
			v, err := unescape(s[i+1 : i+1+j])
			if err != nil {
				return nil, err
			}
			toks = append(toks, token{tQuoted, v})
			i += j + 2
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t\r\n()$'", rune(s[j])) {
				j++
			}
			toks = append(toks, token{tWord, s[i:j]})
			i = j
		}
	}
	return toks, nil
}

// unescape decodes the \5C and \27 escapes of a qdstring (RFC 4512 §4.1);
// other hex escapes are decoded too, as servers send them.
func unescape(s string) (string, error) {
	if !strings.Contains(s, `\`) {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2]) {
			return "", fmt.Errorf("bad escape in %q", s)
		}
		b.WriteByte(unhex(s[i+1])<<4 | unhex(s[i+2]))
		i += 2
	}
	return b.String(), nil
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func unhex(c byte) byte {
	switch {
	case c >= '0' && c <= '9':
		return c - '0'
	case c >= 'a' && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// Parse parses an attribute type (kind AttributeType) or object class (kind
// ObjectClass) description per RFC 4512 §4.1.1/§4.1.2, accepting what real
// servers send besides: a descr-style OID ("nsmsgNtrunoptn-oid"), NAME and
// SUP lists in parentheses even for one element, a quoted SYNTAX, and
// keywords in any order, an empty list "MUST ( )".
func Parse(kind, s string) (Def, error) {
	if kind != AttributeType && kind != ObjectClass {
		return Def{}, fmt.Errorf("schema: parse: unknown kind %q", kind)
	}
	toks, err := lex(s)
	if err != nil {
		return Def{}, fmt.Errorf("schema: parse %s: %w", kind, err)
	}
	p := &parser{toks: toks}
	d, err := p.def(kind)
	if err != nil {
		return Def{}, fmt.Errorf("schema: parse %s %q: %w", kind, abbrev(s), err)
	}
	return d, nil
}

func abbrev(s string) string {
	if len(s) > 60 {
		return s[:60] + "…"
	}
	return s
}

type parser struct {
	toks []token
	i    int
}

func (p *parser) next() (token, bool) {
	if p.i >= len(p.toks) {
		return token{}, false
	}
	t := p.toks[p.i]
	p.i++
	return t, true
}

func (p *parser) peek() (token, bool) {
	if p.i >= len(p.toks) {
		return token{}, false
	}
	return p.toks[p.i], true
}

func (p *parser) def(kind string) (Def, error) {
	d := Def{Kind: kind}
	if t, ok := p.next(); !ok || t.kind != tLParen {
		return d, fmt.Errorf("want '('")
	}
	oid, err := p.oid()
	if err != nil {
		return d, fmt.Errorf("after '(': %w", err)
	}
	d.OID = oid
	seen := map[string]bool{}
	for {
		t, ok := p.next()
		if !ok {
			return d, fmt.Errorf("missing ')'")
		}
		if t.kind == tRParen {
			break
		}
		if t.kind != tWord {
			return d, fmt.Errorf("want a keyword, got %q", t.text)
		}
		kw := strings.ToUpper(t.text)
		if seen[kw] && !strings.HasPrefix(kw, "X-") {
			return d, fmt.Errorf("%s given twice", kw)
		}
		seen[kw] = true
		var err error
		switch {
		case kw == "NAME":
			d.Names, err = p.qdstrings()
		case kw == "DESC":
			d.Desc, err = p.qdstring()
		case kw == "OBSOLETE":
			d.Obsolete = true
		case kw == "SUP":
			d.Sup, err = p.oids()
		case kind == AttributeType && kw == "EQUALITY":
			d.Equality, err = p.oid()
		case kind == AttributeType && kw == "ORDERING":
			d.Ordering, err = p.oid()
		case kind == AttributeType && kw == "SUBSTR":
			d.Substr, err = p.oid()
		case kind == AttributeType && kw == "SYNTAX":
			d.Syntax, err = p.oid()
		case kind == AttributeType && kw == "SINGLE-VALUE":
			d.SingleValue = true
		case kind == AttributeType && kw == "COLLECTIVE":
			d.Collective = true
		case kind == AttributeType && kw == "NO-USER-MODIFICATION":
			d.NoUserMod = true
		case kind == AttributeType && kw == "USAGE":
			d.Usage, err = p.oid()
		case kind == ObjectClass && (kw == "ABSTRACT" || kw == "STRUCTURAL" || kw == "AUXILIARY"):
			if d.ClassKind != "" {
				return d, fmt.Errorf("%s after %s", kw, d.ClassKind)
			}
			d.ClassKind = kw
		case kind == ObjectClass && kw == "MUST":
			d.Must, err = p.oids()
		case kind == ObjectClass && kw == "MAY":
			d.May, err = p.oids()
		case strings.HasPrefix(kw, "X-") && len(kw) > 2:
			var vs []string
			if vs, err = p.qdstrings(); err == nil {
				d.Ext = append(d.Ext, Extension{Name: t.text, Values: vs})
			}
		default:
			return d, fmt.Errorf("unknown keyword %q", t.text)
		}
		if err != nil {
			return d, fmt.Errorf("%s: %w", kw, err)
		}
	}
	if t, ok := p.next(); ok {
		return d, fmt.Errorf("trailing %q after ')'", t.text)
	}
	return d, nil
}

func (p *parser) qdstring() (string, error) {
	t, ok := p.next()
	if !ok || t.kind != tQuoted {
		return "", fmt.Errorf("want a quoted string")
	}
	return t.text, nil
}

// qdstrings reads 'a' or ( 'a' 'b' ... ).
func (p *parser) qdstrings() ([]string, error) {
	t, ok := p.peek()
	if ok && t.kind == tQuoted {
		p.i++
		return []string{t.text}, nil
	}
	if !ok || t.kind != tLParen {
		return nil, fmt.Errorf("want a quoted string or '('")
	}
	p.i++
	var out []string
	for {
		t, ok := p.next()
		switch {
		case !ok:
			return nil, fmt.Errorf("missing ')'")
		case t.kind == tRParen:
			if len(out) == 0 {
				return nil, fmt.Errorf("empty list")
			}
			return out, nil
		case t.kind == tQuoted:
			out = append(out, t.text)
		default:
			return nil, fmt.Errorf("want a quoted string, got %q", t.text)
		}
	}
}

// oid reads one oid (a word, or quoted as old Netscape schema has SYNTAX).
func (p *parser) oid() (string, error) {
	t, ok := p.next()
	if !ok || (t.kind != tWord && t.kind != tQuoted) || t.text == "" ||
		strings.ContainsAny(t.text, " \t\r\n()$'") {
		return "", fmt.Errorf("want an OID")
	}
	return t.text, nil
}

// oids reads oid or ( oid $ oid ... ) (RFC 4512 §4.1 oids).
func (p *parser) oids() ([]string, error) {
	t, ok := p.peek()
	if ok && t.kind != tLParen {
		o, err := p.oid()
		return []string{o}, err
	}
	if !ok {
		return nil, fmt.Errorf("want an OID or '('")
	}
	p.i++
	if t, ok := p.peek(); ok && t.kind == tRParen { // "MUST ( )", as 51ns-calendar.ldif has it
		p.i++
		return nil, nil
	}
	var out []string
	for {
		o, err := p.oid()
		if err != nil {
			return nil, err
		}
		out = append(out, o)
		t, ok := p.next()
		switch {
		case !ok:
			return nil, fmt.Errorf("missing ')'")
		case t.kind == tRParen:
			return out, nil
		case t.kind != tDollar:
			return nil, fmt.Errorf("want '$' or ')', got %q", t.text)
		}
	}
}
