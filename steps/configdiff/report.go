package configdiff

import (
	"fmt"
	"io"
	"strings"
)

// Status says how a file compares between the old and new trees.
type Status string

// The statuses.
const (
	StatusSame    Status = "same"
	StatusChanged Status = "changed"
	StatusOnlyOld Status = "only-old" // in backup.TIMESTAMP, not in the new tree
	StatusOnlyNew Status = "only-new"
)

// Kind says what happened to a key from the old file to the new one.
type Kind string

// The kinds.
const (
	KindAdded   Kind = "added"   // only in the new file
	KindRemoved Kind = "removed" // only in the old file
	KindChanged Kind = "changed"
)

// Change is one key that differs between the old and new file. Values are
// nil where the key is absent; Base and Reason are set for a three-way
// diff.
type Change struct {
	Key    string  `json:"key"`
	Kind   Kind    `json:"kind"`
	Reason Reason  `json:"reason,omitempty"`
	Base   *string `json:"base,omitempty"`
	Old    *string `json:"old,omitempty"`
	New    *string `json:"new,omitempty"`
}

// FileReport is the comparison of one file.
type FileReport struct {
	Path    string   `json:"path"`
	Format  Format   `json:"format"`
	Status  Status   `json:"status"`
	Binary  bool     `json:"binary,omitempty"`
	Changes []Change `json:"changes,omitempty"`
	// Unified is the `diff -u` text from the backup to the new file.
	Unified string `json:"unified,omitempty"`
}

// Report is the read-only comparison of the old and new trees.
type Report struct {
	Base  string       `json:"base,omitempty"`
	Old   string       `json:"old"`
	New   string       `json:"new"`
	Files []FileReport `json:"files"`
}

// Result is what a merge did (or, from Plan, would do).
type Result struct {
	Report
	Policy    Policy       `json:"policy"`
	Reapplied []Resolution `json:"reapplied"`
	Kept      []Resolution `json:"kept"`
	// Conflicts are the keys left unresolved: both sides changed them, or
	// the policy is ask; each needs a Decision. The merged file holds the
	// new value meanwhile.
	Conflicts []Resolution `json:"conflicts"`
	// Decisions are the choices made, replayable on the HA peer.
	Decisions Decisions `json:"decisions"`
	// Written are the files Merge rewrote, created or removed.
	Written []string `json:"written,omitempty"`
	// Changed are the files the merge makes differ from the new version's,
	// whether written now or by a run it resumes: what a configuration
	// compiler (imsimta cnbuild) must see.
	Changed []string `json:"changed,omitempty"`
	// Configutil are the parameters set through configutil (Tree.Configutil).
	Configutil []ConfigutilChange `json:"configutil,omitempty"`
}

// Unresolved reports whether any conflict still needs a Decision.
func (r *Result) Unresolved() bool { return len(r.Conflicts) > 0 }

func show(v *string) string {
	if v == nil {
		return "(absent)"
	}
	s := *v
	if strings.ContainsAny(s, "\n") || len(s) > 120 {
		s = fmt.Sprintf("%q", s)
		if len(s) > 120 {
			s = s[:117] + "..."
		}
	}
	return s
}

// WriteText renders the report for a terminal: per changed file, its keyed
// changes, then its unified diff when withDiff is set.
func (r *Report) WriteText(w io.Writer, withDiff bool) error {
	ew := &errWriter{w: w}
	ew.printf("old: %s\nnew: %s\n", r.Old, r.New)
	if r.Base != "" {
		ew.printf("base: %s\n", r.Base)
	}
	same := 0
	for _, f := range r.Files {
		if f.Status == StatusSame {
			same++
			continue
		}
		ew.printf("\n%s (%s): %s\n", f.Path, f.Format, f.Status)
		if f.Binary {
			ew.printf("  binary files differ\n")
			continue
		}
		for _, c := range f.Changes {
			ew.printf("  %-7s %s", c.Kind, c.Key)
			if c.Reason != "" {
				ew.printf("  [%s]", c.Reason)
			}
			ew.printf("\n")
			if r.Base != "" {
				ew.printf("          base: %s\n", show(c.Base))
			}
			ew.printf("          old:  %s\n          new:  %s\n", show(c.Old), show(c.New))
		}
		if withDiff && f.Unified != "" {
			ew.printf("%s", f.Unified)
		}
	}
	ew.printf("\n%d files, %d unchanged\n", len(r.Files), same)
	return ew.err
}

// WriteText renders the merge outcome: re-applied, kept and conflicting
// keys (with both values), then the decisions to replay it.
func (r *Result) WriteText(w io.Writer) error {
	ew := &errWriter{w: w}
	ew.printf("merge of %s into %s (policy %s", r.Old, r.New, r.Policy)
	if r.Base != "" {
		ew.printf(", base %s", r.Base)
	} else {
		ew.printf(", no base: two-way")
	}
	ew.printf(")\n")
	section := func(title string, rs []Resolution) {
		ew.printf("\n%s: %d\n", title, len(rs))
		for _, x := range rs {
			ew.printf("  %s  %s  [%s by %s]\n", x.File, x.Key, x.Reason, x.By)
			if r.Base != "" {
				ew.printf("      base: %s\n", show(x.Base))
			}
			ew.printf("      old:  %s\n      new:  %s\n", show(x.Old), show(x.New))
			if x.Note != "" {
				ew.printf("      note: %s\n", x.Note)
			}
		}
	}
	section("re-applied", r.Reapplied)
	section("kept new", r.Kept)
	section("CONFLICTS (need a ConfigDecision)", r.Conflicts)
	if len(r.Written) > 0 {
		ew.printf("\nwritten (the new version's file, where there was one, kept as FILE%s):\n", PreMergeSuffix)
		for _, f := range r.Written {
			ew.printf("  %s\n", f)
		}
	}
	if len(r.Decisions) > 0 {
		ew.printf("\nto replay on the HA peer, add to the answers file:\n")
		for _, d := range r.Decisions {
			ew.printf("  ConfigDecision = %s\n", d)
		}
	}
	return ew.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}
