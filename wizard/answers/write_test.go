package answers

import (
	"strings"
	"testing"
)

func TestRenderThenParseGivesTheSameFile(t *testing.T) {
	f, err := Parse("install.inf", []byte(good))
	if err != nil {
		t.Fatal(err)
	}
	f.Set(Wiz, "Regime", "daemontools")
	f.Set(Wiz, "ServiceDir", "/service")
	f.Add(Wiz, "Waive", "PRE-DISK-001 checked by hand")
	f.Set("New", "Multi", "a\nb")
	g, err := Parse("install.inf", Render(f))
	if err != nil {
		t.Fatal(err)
	}
	if string(Render(g)) != string(Render(f)) {
		t.Fatalf("render is not stable:\n%s\n---\n%s", Render(f), Render(g))
	}
	if v, _ := g.Section(Wiz).Get("Regime"); v != "daemontools" {
		t.Fatalf("Regime = %q", v)
	}
	if v, _ := g.Section("New").Get("Multi"); v != "a\nb" {
		t.Fatalf("continuation lost: %q", v)
	}
	if v, _ := g.Section(General).Get("UserDirectoryAdminPwd"); v != "p#ss;w0rd=" {
		t.Fatalf("password = %q", v)
	}
	if !strings.Contains(string(Render(g)), "Waive = PRE-DISK-001 checked by hand") {
		t.Fatal("added value lost")
	}
}

func TestAppendToSectionKeepsEverythingElse(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"lands at the end of a middle section, comments kept",
			"# my notes\n[General]\nA = 1\n\n[Wizard]\n# why\nB = 2\n\n[MessagingServer]\nC = 3\n",
			"# my notes\n[General]\nA = 1\n\n[Wizard]\n# why\nB = 2\nConfigDecision = f k reapply\n\n[MessagingServer]\nC = 3\n"},
		{"a last section without a final newline",
			"[Wizard]\nB = 2",
			"[Wizard]\nB = 2\nConfigDecision = f k reapply\n"},
		{"a missing section is added",
			"[General]\nA = 1\n",
			"[General]\nA = 1\n\n[Wizard]\nConfigDecision = f k reapply\n"},
		{"CRLF stays CRLF",
			"[Wizard]\r\nB = 2\r\n",
			"[Wizard]\r\nB = 2\r\nConfigDecision = f k reapply\r\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := string(AppendToSection([]byte(c.in), Wiz, []KV{{Key: "ConfigDecision", Value: "f k reapply"}}))
			if got != c.want {
				t.Fatalf("got\n%q\nwant\n%q", got, c.want)
			}
			if _, err := Parse("install.inf", []byte(got)); err != nil {
				t.Fatalf("result does not parse: %v", err)
			}
		})
	}
}
