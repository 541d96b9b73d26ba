package steps

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"mswizard/wizard"
	"mswizard/wizard/answers"
)

// testConfig loads a minimal answers file (plus extra [Wizard] lines) for a
// server root and state directory under t.TempDir().
func testConfig(t *testing.T, extra ...string) *Config {
	t.Helper()
	dir := t.TempDir()
	body := "[General]\nFullMachineName = budgie.siroe.com\nServerRoot = " + filepath.Join(dir, "server-root") +
		"\nUserDirectoryLdapURL = ldap://127.0.0.1:3890/o=siroe.com\nUserDirectoryAdminID = cn=Directory Manager\nUserDirectoryAdminPwd = secret\n\n" +
		"[Wizard]\nStateDir = " + filepath.Join(dir, "state") + "\nBackupDir = " + filepath.Join(dir, "backups") +
		"\nInstance = budgie\nInstaller = /cdrom/setup\n" + strings.Join(extra, "\n") + "\n"
	p := filepath.Join(dir, "install.inf")
	if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	a, err := answers.Load(p, answers.LoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return NewConfig(a, "")
}

// The run order is the spec (seed 003): preflights first, the mail baseline
// while mail flows, the dispatcher stopped before the other services, every
// backup verified before the schema is touched and the installer runs, the
// result saved right after the merge, the schema again after the store is
// back, and the mail-flow checks last.
func TestUpgradeRunsInTheAppendixOrder(t *testing.T) {
	want := []string{
		"preflight/disk-space",
		"preflight/directory-version",
		"preflight/config-directory",
		"preflight/ha-probe",
		"baseline/mail",
		"stop/auto-restart",
		"stop/dispatcher",
		"stop/delegated-admin",
		"stop/webserver-root",
		"stop/web",
		"stop/messaging",
		"stop/admin",
		"check/directory-up",
		"ha/prepare",
		"check/directory-up-after-ha",
		"backup/queue",
		"store/aside",
		"backup/server-root",
		"backup/verify",
		"backup/directory-instance",
		"check/directory-instance",
		"directory/export",
		"directory/config-export",
		"directory/schema",
		"upgrade/run-installer",
		"upgrade/config-diff",
		"post/save-config",
		"post/store-return",
		"post/schema",
		"post/ha-restore",
		"post/sc3-agent",
		"post/veritas-chapter4",
		"post/start",
		"post/auto-restart",
		"post/start-webserver-root",
		"post/start-delegated-admin",
		"post/web-server-upgrade",
		"post/delegated-admin-upgrade",
		"post/mail-probe",
		"post/log-check",
		"post/queue-check",
	}
	var got []string
	for _, s := range Upgrade(testConfig(t)) {
		got = append(got, s.ID())
	}
	if !slices.Equal(got, want) {
		t.Errorf("run order for a plain regime:\n got %s\nwant %s", strings.Join(got, " "), strings.Join(want, " "))
	}
}

// Only steps an operator may do another way can be left out with --skip: the
// LDIF export (a full db2ldif backup serves too, seed 003 backup step 3), the
// second schema preparation (seed 003 post-upgrade step 3: skip it if
// ims_dssetup already ran) and the mail-flow checks. Stops, backups, the
// installer and the merge never are.
func TestOnlyStepsDoneAnotherWayAreOptional(t *testing.T) {
	var optional []string
	for _, s := range Upgrade(testConfig(t)) {
		if wizard.Describe(s).Optional {
			optional = append(optional, s.ID())
		}
	}
	want := []string{"directory/export", "post/schema", "post/mail-probe", "post/log-check", "post/queue-check"}
	if !slices.Equal(optional, want) {
		t.Fatalf("optional steps = %v, want %v", optional, want)
	}
}

// Every step of the upgrade is declared as a wizard.Phase, whatever the
// regime and the store action: a step written another way would offer the
// engine only its check, plan and undo, and lose its hooks (preflight, facts,
// backout place) without a word.
func TestEveryStepIsADeclaredPhase(t *testing.T) {
	for _, extra := range [][]string{nil, {"Regime = daemontools", "ServiceDir = /service", "StoreAction = umount"}} {
		for _, s := range Upgrade(testConfig(t, extra...)) {
			if _, ok := s.(interface{ Phase() wizard.Phase }); !ok {
				t.Errorf("%s (%T, answers %q) is not declared as a wizard.Phase", s.ID(), s, extra)
			}
		}
	}
}
