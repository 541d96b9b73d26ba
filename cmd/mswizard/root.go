package main

import (
	"github.com/spf13/cobra"
)

func newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "mswizard",
		Short:         "Upgrade an iPlanet / Sun ONE Messaging Server, and back it out, as one journaled runbook",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version,
	}
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &usageError{msg: err.Error()} })
	root.AddCommand(upgradeCmd(false), upgradeCmd(true), backoutCmd(), statusCmd(), resolveCmd(),
		answersCmd(), backupCmd(), ldifCmd(), diffCmd(), demoCmd(), simCmd(), versionCmd(),
		runCmd(), runbookCmd(), qmailSimCmd(), installerPtyCmd(), genManCmd())
	return root
}

func addCommon(cmd *cobra.Command, c *common, run bool) {
	f := cmd.Flags()
	f.StringVar(&c.answersPath, "answers", "", "answers file (install.inf); its [Wizard] StateDir names the state directory")
	f.StringVar(&c.stateDir, "state-dir", "", "state directory of the run (overrides StateDir)")
	f.StringVar(&c.output, "output", "text", "output format: text or json (versioned)")
	if run {
		f.BoolVar(&c.yes, "yes", false, "answer yes to every confirmation")
		f.BoolVar(&c.dryRun, "dry-run", false, "print exactly what would run, and change nothing")
		f.StringVar(&c.until, "until", "", "stop cleanly after this step (staged maintenance windows)")
		f.StringSliceVar(&c.skip, "skip", nil, "leave out these optional steps")
		f.StringSliceVar(&c.only, "only", nil, "run only these optional steps")
		f.BoolVar(&c.newRun, "new-run", false, "start a new run although the host holds archives or installer backups an earlier run left (they are kept, never overwritten)")
	}
}
