// Package answers reads and writes install.inf, the answers file the product's
// silent installer reads (`setup -s -f install.inf`) and the wizard's batch face
// replays.
//
// The parser is hand-written: gopkg.in/ini.v1 reads `p#ss;w0rd` as `p` and lets a
// duplicate key win silently. The rules are the legacy Netscape/389 setup rules
// (FORMATS.md §1.3, after 389's Inf.pm): `#` comment lines, a value verbatim after
// the first `=` and trimmed, `\` continuing a line with a newline, case-sensitive
// section and key names, `[` in column 1. We are stricter than Inf.pm where it
// silently loses data: an indented section header, a line without `=`, a key before
// the first section, a duplicate key and invalid UTF-8 are errors.
package answers

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// File is an install.inf as written, sections and keys in file order.
type File struct {
	Name     string
	Sections []*Section
}

// Section is one [Name] block.
type Section struct {
	Name string
	Line int
	Keys []KV
}

// KV is one key = value line (continuations joined with "\n").
type KV struct {
	Key   string
	Value string
	Line  int
}

// Problem is one thing wrong with an answers file, at a line.
type Problem struct {
	File string
	Line int // 0 when the problem is the file as a whole
	Msg  string
}

func (p Problem) String() string {
	if p.Line == 0 {
		return fmt.Sprintf("%s: %s", p.File, p.Msg)
	}
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Msg)
}

// Problems lists everything wrong with a file at once, so one edit fixes them all.
type Problems []Problem

func (ps Problems) Error() string {
	var b strings.Builder
	for i, p := range ps {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(p.String())
	}
	return b.String()
}

// Section returns the section named name (case-sensitive), or nil.
func (f *File) Section(name string) *Section {
	for _, s := range f.Sections {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Get returns the first value of key and whether it is present.
func (s *Section) Get(key string) (string, bool) {
	if s == nil {
		return "", false
	}
	for _, kv := range s.Keys {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return "", false
}

// All returns every value of a multi-valued key, in file order.
func (s *Section) All(key string) []KV {
	if s == nil {
		return nil
	}
	var out []KV
	for _, kv := range s.Keys {
		if kv.Key == key {
			out = append(out, kv)
		}
	}
	return out
}

// Parse reads the syntax of an install.inf. It accepts a UTF-8 BOM and CRLF line
// ends. Every syntax problem is reported, each with its line.
func Parse(name string, data []byte) (*File, error) {
	f := &File{Name: name}
	var probs Problems
	bad := func(line int, format string, a ...any) {
		probs = append(probs, Problem{File: name, Line: line, Msg: fmt.Sprintf(format, a...)})
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	lines := strings.Split(string(data), "\n")
	if len(lines) > 0 && lines[len(lines)-1] == "" {
		lines = lines[:len(lines)-1]
	}
	var cur *Section
	for i := 0; i < len(lines); i++ {
		n := i + 1
		line := strings.TrimSuffix(lines[i], "\r")
		if !utf8.ValidString(line) {
			bad(n, "invalid UTF-8; save the file as UTF-8")
			continue
		}
		trimmed := strings.TrimSpace(line)
		if trimmed == "" || strings.HasPrefix(trimmed, "#") {
			continue
		}
		if strings.HasPrefix(line, "[") {
			end := strings.IndexByte(line, ']')
			if end < 0 {
				bad(n, "section header %q has no closing ']'", line)
				continue
			}
			name := line[1:end]
			if prev := f.Section(name); prev != nil {
				bad(n, "section [%s] appears twice (first at line %d); merge them", name, prev.Line)
			}
			cur = &Section{Name: name, Line: n}
			f.Sections = append(f.Sections, cur)
			continue
		}
		if strings.HasPrefix(trimmed, "[") {
			bad(n, "section header must start in column 1 (the installer would silently ignore %q)", trimmed)
			continue
		}
		// A line ending in `\` continues on the next physical line, joined with a
		// newline (Inf.pm rule 4).
		for strings.HasSuffix(line, `\`) && i+1 < len(lines) {
			i++
			line = line[:len(line)-1] + "\n" + strings.TrimSuffix(lines[i], "\r")
		}
		eq := strings.IndexByte(line, '=')
		if eq < 0 {
			bad(n, "line has no '=': %q; write Key = value, or comment it out with '#'", trimmed)
			continue
		}
		key := strings.TrimSpace(line[:eq])
		val := strings.TrimSpace(line[eq+1:])
		if key == "" {
			bad(n, "line has no key before '='")
			continue
		}
		if cur == nil {
			if strings.Contains(key, ".") {
				bad(n, "%q is command-line override syntax (section.Key=value); inside a file write it under its [section]", key)
			} else {
				bad(n, "key %q comes before the first [section]", key)
			}
			continue
		}
		cur.Keys = append(cur.Keys, KV{Key: key, Value: val, Line: n})
	}
	if len(probs) > 0 {
		return f, probs
	}
	return f, nil
}

// asProblems flattens an error into Problems.
func asProblems(err error) Problems {
	var ps Problems
	if errors.As(err, &ps) {
		return ps
	}
	return Problems{{Msg: err.Error()}}
}
