package wizard

// Review is what a step offers an operator to look over before the run goes on:
// the documents it compared (each with its keyed changes and a unified diff)
// and the decisions it cannot take alone. The configuration merge offers one;
// faces render it without knowing which step it came from.
type Review struct {
	// Step is the step that offers the review; a face opens the review by
	// itself when that step fails.
	Step  string `json:"step"`
	Title string `json:"title"` // "config diff"
	// Old and New name what was compared ("msg-budgie/backup.2026…", "msg-budgie").
	Old   string         `json:"old,omitempty"`
	New   string         `json:"new,omitempty"`
	Files []ReviewFile   `json:"files"` // only the documents that differ
	Open  []ReviewChoice `json:"decisions,omitempty"`
	// Note says why the outcomes are missing (the merge cannot be planned yet).
	Note string `json:"note,omitempty"`
}

// ReviewFile is one document that differs.
type ReviewFile struct {
	Path    string       `json:"path"`
	Status  string       `json:"status"` // "changed", "added", "removed"
	Binary  bool         `json:"binary,omitempty"`
	Items   []ReviewItem `json:"items,omitempty"`
	Unified string       `json:"unified,omitempty"`
}

// ReviewItem is one keyed change and what the step did, or will do, with it.
type ReviewItem struct {
	Kind    string `json:"kind"` // "changed", "added", "removed"
	Key     string `json:"key"`
	Reason  string `json:"reason,omitempty"`
	Outcome string `json:"outcome,omitempty"` // "re-applied", "kept new"; "" when unknown
	// Open says the item waits for a decision (one of Review.Open).
	Open bool `json:"open,omitempty"`
}

// ReviewChoice is a decision the step needs: one item, its two values and
// the options an operator may take.
type ReviewChoice struct {
	File    string   `json:"file"`
	Key     string   `json:"key"`
	Old     *string  `json:"old,omitempty"` // nil: absent
	New     *string  `json:"new,omitempty"`
	Options []Option `json:"options"`
}

// Option is one answer to a ReviewChoice: the key a face binds it to, the value
// the step reads back, and what it means.
type Option struct {
	Key   string `json:"key"`   // "r"
	Value string `json:"value"` // "reapply"
	Label string `json:"label"` // `re-apply yours "90"`
	Help  string `json:"help"`  // the short form a key help shows: "re-apply"
}

// Decision is an operator's answer to one ReviewChoice.
type Decision struct {
	File   string `json:"file"`
	Key    string `json:"key"`
	Choice string `json:"choice"` // an Option's Value
}
