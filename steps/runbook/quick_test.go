package runbook

import (
	"testing"
)

func TestShippedParses(t *testing.T) {
	for _, id := range Shipped() {
		rb, err := Load(id)
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		v := Defaults(rb)
		t.Logf("%s: %d answers, %d steps, qmail_dir=%s", id, len(rb.Answers), len(rb.Steps), v.Get("qmail_dir"))
	}
}
