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
