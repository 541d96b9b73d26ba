package configdiff

import (
	"path"
	"strconv"
	"strings"
)

// Format names the syntax a configuration file is parsed with
// (FORMATS.md §2).
type Format string

// The formats of the files the 5.2 installer moves into backup.TIMESTAMP.
const (
	// FormatConfigutil is msg.conf / local.conf: `name = value` lines,
	// `!`/`#` comments, optional double quotes (§2.1; the byte format is not
	// documented, so the parser is lenient).
	FormatConfigutil Format = "configutil"
	// FormatOption is the MTA option-file syntax shared by option.dat,
	// channel *_option files, imta_tailor, dispatcher.cnf ([SERVICE=x]
	// sections) and job_controller.cnf ([POOL=x]/[CHANNEL=x] sections):
	// OPTION=value, keys case-insensitive (§2.4, §2.6, §2.7).
	FormatOption Format = "option"
	// FormatIMTA is imta.cnf: rewrite rules up to the first blank line, then
	// blank-separated channel blocks (§2.2).
	FormatIMTA Format = "imta.cnf"
	// FormatMappings is the mappings file: tables of pattern/template
	// entries (§2.3).
	FormatMappings Format = "mappings"
	// FormatAliases is the aliases file: `alias: address ...` (§2.5).
	FormatAliases Format = "aliases"
	// FormatLines is every other file (html/**, conversions, rules files):
	// compared and merged as a whole.
	FormatLines Format = "lines"
)

// FormatOf returns the format of a file by its path relative to
// msg-INSTANCE (config/local.conf, imta/config/imta.cnf, html/...).
func FormatOf(rel string) Format {
	dir, base := path.Split(path.Clean(rel))
	switch {
	case dir == "config/" && (base == "msg.conf" || base == "local.conf"):
		return FormatConfigutil
	case dir != "imta/config/":
		return FormatLines
	case base == "imta.cnf":
		return FormatIMTA
	case base == "mappings" || strings.HasPrefix(base, "mappings."):
		return FormatMappings
	case base == "aliases":
		return FormatAliases
	case base == "option.dat", base == "dispatcher.cnf", base == "job_controller.cnf",
		base == "imta_tailor", strings.HasSuffix(base, "_option"):
		return FormatOption
	}
	return FormatLines
}

// item is one unit of a parsed file. Keyed items are what diff and merge
// compare; unkeyed items (blank lines, loose comments) are only carried.
type item struct {
	key     string // unique within the file; "" for unkeyed text
	section string // key of the enclosing section header, or a pseudo-section
	header  bool   // the item starts section `key`
	block   bool   // separated from its neighbours by a blank line
	value   string // normalised value: what merge compares
	lead    string // comment lines right before the item, moved with it
	text    string // the item's own lines, verbatim
}

func (it item) blank() bool { return it.key == "" && strings.TrimSpace(it.text) == "" }

// doc is a parsed file: its items in file order. Rendering the items gives
// back the file byte for byte.
type doc struct {
	format Format
	items  []item
}

// bytes renders the document, adding a newline between items where an
// inserted item would otherwise run on from a last line without one.
func (d *doc) bytes() []byte {
	var sb strings.Builder
	for i, it := range d.items {
		sb.WriteString(it.lead)
		sb.WriteString(it.text)
		if i < len(d.items)-1 && !strings.HasSuffix(it.lead+it.text, "\n") {
			sb.WriteByte('\n')
			// A last line that ended in `\` continued into nothing in its own
			// file; followed by another item it would swallow that item's first
			// line. An empty line for it to swallow keeps both as they were.
			if strings.HasSuffix(it.text, "\\") {
				sb.WriteByte('\n')
			}
		}
	}
	return []byte(sb.String())
}

// find returns the index of the item with key k, or -1.
func (d *doc) find(k string) int {
	for i, it := range d.items {
		if it.key == k {
			return i
		}
	}
	return -1
}

// keyed returns the keyed items by key.
func (d *doc) keyed() map[string]item {
	m := make(map[string]item, len(d.items))
	for _, it := range d.items {
		if it.key != "" {
			m[it.key] = it
		}
	}
	return m
}

// parse reads b in format f. It never fails: text it cannot place is kept
// as unkeyed lines so that rewriting loses nothing.
func parse(f Format, b []byte) *doc {
	var items []item
	switch f {
	case FormatConfigutil:
		items = parseConfigutil(b)
	case FormatOption:
		items = parseOption(b)
	case FormatIMTA:
		items = parseIMTA(b)
	case FormatMappings:
		items = parseMappings(b)
	case FormatAliases:
		items = parseAliases(b)
	default:
		if len(b) > 0 {
			items = []item{{key: wholeFileKey, value: string(b), text: string(b)}}
		}
	}
	uniqueKeys(items)
	return &doc{format: f, items: items}
}

// wholeFileKey names the single item of a FormatLines file.
const wholeFileKey = "(file)"

// uniqueKeys renames the second and later uses of a key to KEY#2, KEY#3 so
// repeatable options (DNS_VERIFY_DOMAIN) and repeated patterns stay apart,
// matched by order of appearance.
func uniqueKeys(items []item) {
	seen := map[string]int{}
	rename := map[string]string{} // section header renames, for members
	for i := range items {
		it := &items[i]
		if r, ok := rename[it.section]; ok {
			it.section = r
		}
		if it.key == "" {
			continue
		}
		seen[it.key]++
		if n := seen[it.key]; n > 1 {
			nk := it.key + "#" + strconv.Itoa(n)
			if it.header {
				rename[it.key] = nk
				it.section = nk
			}
			it.key = nk
		}
	}
}

// lines cuts b into physical lines, each keeping its newline.
func lines(b []byte) []string {
	s := string(b)
	var out []string
	for s != "" {
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			out = append(out, s)
			break
		}
		out = append(out, s[:i+1])
		s = s[i+1:]
	}
	return out
}

// continued reports whether a line ends with a backslash continuation.
func continued(l string) bool {
	return strings.HasSuffix(strings.TrimRight(l, " \t\r\n"), `\`)
}

// logical joins a logical line's physical lines for its value: the
// continuation backslashes dropped, whitespace collapsed.
func logical(phys []string) string {
	var parts []string
	for _, p := range phys {
		p = strings.TrimRight(p, " \t\r\n")
		p = strings.TrimSuffix(p, `\`)
		parts = append(parts, p)
	}
	return strings.Join(strings.Fields(strings.Join(parts, " ")), " ")
}

// builder collects items while parsing, holding comment lines until it
// knows whether they lead a keyed item.
type builder struct {
	items   []item
	pending string
	section string
}

func (b *builder) comment(l string) { b.pending += l }

// flush turns held comments into an unkeyed item.
func (b *builder) flush() {
	if b.pending != "" {
		b.items = append(b.items, item{section: b.section, text: b.pending})
		b.pending = ""
	}
}

func (b *builder) text(l string) {
	b.flush()
	b.items = append(b.items, item{section: b.section, text: l})
}

func (b *builder) keyed(it item) {
	it.lead, b.pending = b.pending, ""
	if it.section == "" && !it.header {
		it.section = b.section
	}
	b.items = append(b.items, it)
}

func (b *builder) done() []item {
	b.flush()
	return b.items
}

// unquote strips one pair of surrounding double quotes.
func unquote(v string) string {
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		return v[1 : len(v)-1]
	}
	return v
}

// parseConfigutil reads msg.conf/local.conf (§2.1). Option names are
// matched case-insensitively; the value is compared unquoted.
func parseConfigutil(b []byte) []item {
	var p builder
	for _, l := range lines(b) {
		t := strings.TrimSpace(l)
		switch {
		case t == "":
			p.text(l)
		case t[0] == '!' || t[0] == '#':
			p.comment(l)
		default:
			name, val, ok := strings.Cut(t, "=")
			name = strings.TrimSpace(name)
			if !ok || name == "" {
				p.text(l)
				continue
			}
			p.keyed(item{key: strings.ToLower(name), value: unquote(strings.TrimSpace(val)), text: l})
		}
	}
	return p.done()
}

// parseOption reads option files (§2.4, §2.6, §2.7): OPTION=value with
// `\` continuation, `!`/`#`/`;` comments, `[TYPE=name]` sections. Keys are
// upper-cased (the job controller's sample writes them in lower case);
// members of a section are keyed "[TYPE=NAME] OPTION".
func parseOption(b []byte) []item {
	var p builder
	ls := lines(b)
	for i := 0; i < len(ls); i++ {
		l := ls[i]
		t := strings.TrimSpace(l)
		switch {
		case t == "":
			p.text(l)
		case t[0] == '!' || t[0] == '#' || t[0] == ';':
			p.comment(l)
		case t[0] == '[' && strings.HasSuffix(t, "]"):
			typ, name, _ := strings.Cut(t[1:len(t)-1], "=")
			k := "[" + strings.ToUpper(strings.TrimSpace(typ)) + "=" + strings.ToUpper(strings.TrimSpace(name)) + "]"
			p.section = k
			p.keyed(item{key: k, section: k, header: true, value: k, text: l})
		default:
			phys := []string{l}
			for continued(phys[len(phys)-1]) && i+1 < len(ls) {
				i++
				phys = append(phys, ls[i])
			}
			name, val, ok := strings.Cut(logical(phys), "=")
			name = strings.TrimSpace(name)
			if !ok || name == "" {
				p.text(strings.Join(phys, ""))
				continue
			}
			k := strings.ToUpper(name)
			if p.section != "" {
				k = p.section + " " + k
			}
			p.keyed(item{key: k, value: optionValue(strings.TrimSpace(val)), text: strings.Join(phys, "")})
		}
	}
	return p.done()
}

// optionValue normalises an integer written in the `b%v` radix form
// (16%FF) to decimal so that 16%FF and 255 compare equal (§2.4).
func optionValue(v string) string {
	base, digits, ok := strings.Cut(v, "%")
	if !ok {
		return v
	}
	bn, err := strconv.Atoi(base)
	if err != nil || bn < 2 || bn > 36 {
		return v
	}
	n, err := strconv.ParseInt(digits, bn, 64)
	if err != nil {
		return v
	}
	return strconv.FormatInt(n, 10)
}

// Pseudo-sections of imta.cnf: rewrite rules, then channel blocks.
const (
	sectionRules    = "(rewrite rules)"
	sectionChannels = "(channels)"
)

// parseIMTA reads imta.cnf (§2.2). `!` comments count only in column 1 and
// are not blank lines; the first blank line ends the rewrite rules (keyed
// "rule PATTERN"); then each blank-separated block is a channel (keyed
// "channel NAME", value = keywords | host names). `<file` includes are
// kept as lines keyed "include <file".
func parseIMTA(b []byte) []item {
	p := builder{section: sectionRules}
	ls := lines(b)
	for i := 0; i < len(ls); i++ {
		l := ls[i]
		switch {
		case strings.TrimSpace(l) == "":
			p.section = sectionChannels
			p.text(l)
		case l[0] == '!':
			p.comment(l)
		case l[0] == '<':
			p.keyed(item{key: "include " + strings.TrimSpace(l), value: strings.TrimSpace(l), text: l})
		case p.section == sectionRules:
			phys := []string{l}
			for continued(phys[len(phys)-1]) && i+1 < len(ls) {
				i++
				phys = append(phys, ls[i])
			}
			f := strings.Fields(logical(phys))
			if len(f) == 0 { // a lone continuation backslash
				p.text(strings.Join(phys, ""))
				continue
			}
			p.keyed(item{key: "rule " + f[0], value: strings.Join(f[1:], " "), text: strings.Join(phys, "")})
		default:
			// A channel block runs to the next blank line; comment lines
			// inside it belong to it.
			var text strings.Builder
			var logicals []string
			var cur []string
			for ; i < len(ls) && strings.TrimSpace(ls[i]) != ""; i++ {
				text.WriteString(ls[i])
				if ls[i][0] == '!' && len(cur) == 0 {
					continue
				}
				cur = append(cur, ls[i])
				if !continued(ls[i]) {
					logicals = append(logicals, logical(cur))
					cur = nil
				}
			}
			if len(cur) > 0 {
				logicals = append(logicals, logical(cur))
			}
			i-- // the blank line is read by the loop
			f := strings.Fields(logicals[0])
			if len(f) == 0 { // a lone continuation backslash
				p.text(text.String())
				continue
			}
			val := strings.Join(f[1:], " ") // keywords, then " | " and each host name
			for _, h := range logicals[1:] {
				val += " | " + h
			}
			p.keyed(item{key: "channel " + f[0], block: true, value: val, text: text.String()})
		}
	}
	return p.done()
}

// mappingFields splits a mappings entry at unquoted whitespace; `$ ` (and
// `$` before any character) quotes it (§2.3).
func mappingFields(s string) []string {
	var out []string
	var cur strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '$' && i+1 < len(s):
			cur.WriteByte(c)
			cur.WriteByte(s[i+1])
			i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
		default:
			cur.WriteByte(c)
		}
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out
}

// parseMappings reads the mappings file (§2.3): a table name in column 1
// (keyed "table NAME", a section), its optional blank line, indented
// entries keyed "NAME PATTERN" with the template as value; `!` comments in
// column 1; `\` continuation; `<file` includes.
func parseMappings(b []byte) []item {
	var p builder
	ls := lines(b)
	for i := 0; i < len(ls); i++ {
		l := ls[i]
		t := strings.TrimSpace(l)
		switch {
		case t == "":
			p.text(l)
		case l[0] == '!':
			p.comment(l)
		case l[0] == '<':
			p.keyed(item{key: "include " + t, value: t, text: l})
		case l[0] != ' ' && l[0] != '\t':
			name := strings.Fields(t)[0]
			k := "table " + name
			text := l
			// The blank line the manual requires after a table name belongs
			// to the name when entries follow it.
			if i+2 < len(ls) && strings.TrimSpace(ls[i+1]) == "" && (ls[i+2][0] == ' ' || ls[i+2][0] == '\t') {
				i++
				text += ls[i]
			}
			p.section = k
			p.keyed(item{key: k, section: k, header: true, block: true, value: name, text: text})
		default:
			phys := []string{l}
			for continued(phys[len(phys)-1]) && i+1 < len(ls) {
				i++
				phys = append(phys, ls[i])
			}
			f := mappingFields(logical(phys))
			if len(f) == 0 {
				p.text(strings.Join(phys, ""))
				continue
			}
			table := strings.TrimPrefix(p.section, "table ")
			p.keyed(item{key: strings.TrimSpace(table + " " + f[0]), value: strings.Join(f[1:], " "), text: strings.Join(phys, "")})
		}
	}
	return p.done()
}

// parseAliases reads the aliases file (§2.5): `alias: address ...` keyed by
// the lower-cased alias, `!` comments, `\` continuation, `<file` includes.
func parseAliases(b []byte) []item {
	var p builder
	ls := lines(b)
	for i := 0; i < len(ls); i++ {
		l := ls[i]
		t := strings.TrimSpace(l)
		switch {
		case t == "":
			p.text(l)
		case t[0] == '!':
			p.comment(l)
		case l[0] == '<':
			p.keyed(item{key: "include " + t, value: t, text: l})
		default:
			phys := []string{l}
			for continued(phys[len(phys)-1]) && i+1 < len(ls) {
				i++
				phys = append(phys, ls[i])
			}
			alias, addrs, ok := strings.Cut(logical(phys), ":")
			if !ok {
				p.text(strings.Join(phys, ""))
				continue
			}
			p.keyed(item{key: strings.ToLower(strings.TrimSpace(alias)), value: strings.Join(strings.Fields(addrs), " "), text: strings.Join(phys, "")})
		}
	}
	return p.done()
}
