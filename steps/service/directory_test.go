package service

import (
	"strings"
	"testing"
	"time"

	"mswizard/fixtures/layout"
	"mswizard/fixtures/ldapd"
	"mswizard/wizard"
)

func TestDirectoryCheckBindsAndSearchesAndFailsWhenTheServerIsGone(t *testing.T) {
	dir := ldapd.RequireOpenLDAP(t, ldapd.Options{})
	env := (&wizard.Env{Now: time.Now}).Nop()
	s := DirectoryUp(Config{Host: layout.Default(t.TempDir()).Layout(), Directory: dialer{dir.URL, dir.RootDN, dir.RootPW}})
	done, why, err := s.Check(t.Context(), env)
	if err != nil || !done || !strings.Contains(why, "o=siroe.com") {
		t.Fatalf("check = %v, %q, %v; want done naming the naming contexts", done, why, err)
	}
	if err := dir.Kill(); err != nil {
		t.Fatal(err)
	}
	done, why, err = s.Check(t.Context(), env)
	if err != nil || done {
		t.Fatalf("check with the directory gone = %v, %q, %v; want not done", done, why, err)
	}
	_, err = runPlan(t, t.Context(), env, s)
	if err == nil || !strings.Contains(err.Error(), "must stay up") {
		t.Errorf("the action's error %v does not say the directory must stay up", err)
	}
}

func TestDirectoryCheckWithoutAConnectionIsNotDone(t *testing.T) {
	s := DirectoryUp(Config{Host: layout.Default(t.TempDir()).Layout()})
	done, why, err := s.Check(t.Context(), (&wizard.Env{}).Nop())
	if err != nil || done || !strings.Contains(why, "no directory connection") {
		t.Errorf("check = %v, %q, %v", done, why, err)
	}
}
