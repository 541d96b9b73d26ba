package answers

import (
	"bytes"
	"fmt"
	"strings"
)

// Set sets key in section, adding the section or the key at its end when absent;
// a repeated (multi-valued) key gets one more value only through Add.
func (f *File) Set(section, key, value string) {
	s := f.Section(section)
	if s == nil {
		s = &Section{Name: section}
		f.Sections = append(f.Sections, s)
	}
	for i := range s.Keys {
		if s.Keys[i].Key == key {
			s.Keys[i].Value = value
			return
		}
	}
	s.Keys = append(s.Keys, KV{Key: key, Value: value})
}

// Add appends one more value of a multi-valued key (Export, Waive, ConfigDecision).
func (f *File) Add(section, key, value string) {
	s := f.Section(section)
	if s == nil {
		s = &Section{Name: section}
		f.Sections = append(f.Sections, s)
	}
	s.Keys = append(s.Keys, KV{Key: key, Value: value})
}

// Render writes the file back in the legacy syntax, sections and keys in their
// order, `Key = value`, embedded newlines as `\` continuations (Inf.pm's writer,
// FORMATS.md §1.3 rule 10, without its sorting so an operator's order survives).
// Secrets given inline are written as they are: save answers with secrets by
// reference (KEYFile) when the file is to be shared.
func Render(f *File) []byte {
	var b bytes.Buffer
	for i, s := range f.Sections {
		if i > 0 {
			b.WriteByte('\n')
		}
		fmt.Fprintf(&b, "[%s]\n", s.Name)
		for _, kv := range s.Keys {
			fmt.Fprintf(&b, "%s = %s\n", kv.Key, strings.ReplaceAll(kv.Value, "\n", "\\\n"))
		}
	}
	return b.Bytes()
}

// AppendToSection adds `Key = value` lines at the end of a section of an
// answers file as written, leaving every other byte alone — the operator's
// comments, order and spacing survive (Render, which rebuilds the file from its
// keys, would drop the comments). A missing section is added at the end. CRLF
// files stay CRLF.
func AppendToSection(data []byte, section string, kvs []KV) []byte {
	nl := "\n"
	if bytes.Contains(data, []byte("\r\n")) {
		nl = "\r\n"
	}
	var add bytes.Buffer
	for _, kv := range kvs {
		fmt.Fprintf(&add, "%s = %s%s", kv.Key, strings.ReplaceAll(kv.Value, "\n", "\\"+nl), nl)
	}
	lines := strings.SplitAfter(string(data), "\n")
	start := -1
	for i, l := range lines {
		if strings.HasPrefix(l, "["+section+"]") {
			start = i
			break
		}
	}
	if start < 0 {
		out := string(data)
		if out != "" && !strings.HasSuffix(out, "\n") {
			out += nl
		}
		return []byte(out + nl + "[" + section + "]" + nl + add.String())
	}
	end := len(lines)
	for i := start + 1; i < len(lines); i++ {
		if strings.HasPrefix(lines[i], "[") {
			end = i
			break
		}
	}
	// Insert after the section's last non-blank line, before the blank lines
	// that separate it from the next section.
	at := end
	for at > start+1 && strings.TrimSpace(lines[at-1]) == "" {
		at--
	}
	if at > 0 && !strings.HasSuffix(lines[at-1], "\n") {
		lines[at-1] += nl
	}
	out := strings.Join(lines[:at], "") + add.String() + strings.Join(lines[at:], "")
	return []byte(out)
}
