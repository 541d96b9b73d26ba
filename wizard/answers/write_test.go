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
