package steps

import (
	"os"
	"testing"
	"time"

	"mswizard/wizard"
)

// post/save-config is done only when its copies are of the configuration now
// live: a copy saved by an earlier run (before a backout and a second
// upgrade, or before the merge was redone) does not count as saved.
func TestSaveConfigCheckComparesWithTheLiveFiles(t *testing.T) {
	c := testConfig(t)
	writeFiles(t, c.Host.ServerRoot(), map[string]string{
		"msg-budgie/config/local.conf": "service.imap.port = 143\n",
		"msg-budgie/config/msg.conf":   "x = 1\n",
	})
	if err := os.MkdirAll(c.StateDir, 0o700); err != nil {
		t.Fatal(err)
	}
	env := (&wizard.Env{Now: func() time.Time { return time.Unix(1e9, 0) }}).Nop()
	step := SaveConfig(c)
	as, err := step.Plan(t.Context(), env)
	if err != nil {
		t.Fatal(err)
	}
	var r wizard.Receipt
	if err := as[0].Do(t.Context(), &r); err != nil {
		t.Fatal(err)
	}
	if done, why, _ := step.Check(t.Context(), env); !done {
		t.Fatalf("check after saving = not done: %s", why)
	}
	if err := os.WriteFile(c.Host.LocalConf(), []byte("service.imap.port = 993\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if done, why, _ := step.Check(t.Context(), env); done {
		t.Fatalf("check = done (%s) though local.conf changed since it was saved", why)
	}
}
