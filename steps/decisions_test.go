package steps

import (
	"reflect"
	"testing"

	"mswizard/steps/host"
	"mswizard/wizard/journal"
)

// TestInstallerAnswersAreJournaledDecisions: each prompt the installer asked
// and the answers answered is a typed decision, in the order asked; a secret
// answer is never written, and Enter alone says it took the default.
func TestInstallerAnswersAreJournaledDecisions(t *testing.T) {
	prompts := []host.Prompt{
		{Name: "upgrade-choice", Answer: "1", Source: "Installation Guide, ch. 3"},
		{Name: "admin-password", Answer: "s3cret", Secret: true, Source: "[Wizard] ServiceAdminPassword"},
		{Name: "continue", Answer: "", Source: "Installation Guide, ch. 3"},
		{Name: "never-asked", Answer: "y"},
	}
	got := installerDecisions(prompts, []string{"upgrade-choice", "admin-password", "continue"})
	want := []journal.Decision{
		{Kind: journal.DecideInstaller, Subject: "upgrade-choice", Choice: "1", Source: journal.SourceAnswers, Reason: "Installation Guide, ch. 3"},
		{Kind: journal.DecideInstaller, Subject: "admin-password", Choice: "REDACTED", Source: journal.SourceAnswers, Reason: "[Wizard] ServiceAdminPassword"},
		{Kind: journal.DecideInstaller, Subject: "continue", Choice: "Enter (the installer's default)", Source: journal.SourceAnswers, Reason: "Installation Guide, ch. 3"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %+v\nwant %+v", got, want)
	}
}
