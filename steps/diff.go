package steps

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"strings"

	"mswizard/steps/configdiff"
	"mswizard/steps/facts"
	"mswizard/steps/service"
	"mswizard/wizard"
	"mswizard/wizard/journal"
)

// ConfigReport compares the newest msg-INSTANCE/backup.TIMESTAMP with the live
// configuration, read-only: what `mswizard diff` shows at any time after the
// installer ran.
func ConfigReport(ctx context.Context, c *Config) (*configdiff.Report, error) {
	bs := c.configBackups()
	if len(bs) == 0 {
		return nil, errors.New("no backup.TIMESTAMP under " + c.Host.MsgDir() + ": the installer has not run yet, so there is nothing to compare")
	}
	return configdiff.Diff(ctx, configdiff.Tree{Base: c.Answers.PristineDefaults, Old: bs[len(bs)-1], New: c.Host.MsgDir()})
}

// ConfigDiff is upgrade/config-diff: the old configuration the installer moved
// into backup.TIMESTAMP is compared with the new files, and every operator
// customization re-applied by a three-way merge against the old version's
// pristine defaults (seed 003, "Messaging Server 5.2 へのアップグレード" step 2).
// Conflicts are never resolved silently: without a decision the run stops (exit 3).
// It offers the comparison and its conflicts for review (wizard.Review) and
// the number of files that differ to the faces (wizard.Count).
func ConfigDiff(c *Config) wizard.Step {
	return wizard.Phase{
		ID: configMergeID, Title: "Re-apply the configuration customizations",
		Review: c.configReview, Counts: c.configCounts,
		Plan: func(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
			// The installer names backup.TIMESTAMP when it runs: the summary
			// names the newest one, as a whole-run plan made before the
			// installer can (facts.VersionInstalled), and the receipt the one used.
			if len(c.configBackups()) == 0 && !env.Projected(facts.VersionInstalled) {
				return nil, errors.New("no backup.TIMESTAMP under " + c.Host.MsgDir() + " yet: the installer has not run")
			}
			tree := configdiff.Tree{Base: c.Answers.PristineDefaults, New: c.Host.MsgDir()}
			return []wizard.Action{{
				Summary:    fmt.Sprintf("merge the newest %s into %s (policy %s; pre-merge files kept as FILE.pre-merge; local.conf/msg.conf values set with configutil, MTA configuration compiled with imsimta cnbuild)", filepath.Join(tree.New, "backup.TIMESTAMP"), tree.New, c.Answers.ConfigMerge),
				Idempotent: true,
				Do: func(ctx context.Context, r *wizard.Receipt) error {
					bs := c.configBackups()
					if len(bs) == 0 {
						return errors.New("no backup.TIMESTAMP under " + c.Host.MsgDir() + ": the installer has not run")
					}
					tree.Old = bs[len(bs)-1]
					pol, err := configdiff.ParsePolicy(c.Answers.ConfigMerge)
					if err != nil {
						return err
					}
					var ds configdiff.Decisions
					for _, line := range c.Answers.ConfigDecisions {
						d, err := configdiff.ParseDecision(line)
						if err != nil {
							return err
						}
						ds = append(ds, d)
					}
					tree.Configutil = c.configutil(env)
					res, err := configdiff.Merge(ctx, tree, pol, ds)
					if err != nil {
						return err
					}
					if err := c.compileMTA(ctx, env, r, res.Changed); err != nil {
						return err
					}
					var text strings.Builder
					_ = res.WriteText(&text)
					for _, l := range strings.Split(text.String(), "\n") {
						env.Output(r.Step, l)
					}
					// The auto-restart switches were turned off by stop/auto-restart
					// before the installer saved the old config: that is the
					// wizard's change, and post/auto-restart puts the values back.
					if sw, err := service.RecordedSwitches(c.StateDir); err == nil {
						for _, name := range slices.Sorted(maps.Keys(sw)) {
							prev := "unset"
							if sw[name] != nil {
								prev = *sw[name]
							}
							env.Output(r.Step, fmt.Sprintf("note: %s was switched off by stop/auto-restart, not by the operator; post/auto-restart puts back %s", name, prev))
						}
					}
					r.Note = fmt.Sprintf("%d re-applied, %d kept, %d conflict(s)", len(res.Reapplied), len(res.Kept), len(res.Conflicts))
					if err := r.SetData(res.Decisions); err != nil {
						return err
					}
					// The conflicts the operator decided (ConfigDecision lines, the
					// TUI's choices saved into the answers) are journaled typed.
					for _, d := range res.Decisions {
						if slices.Contains(c.Answers.ConfigDecisions, d.String()) {
							r.Decisions = append(r.Decisions, journal.Decision{Kind: journal.DecideMerge, Subject: d.File + " " + d.Key, Choice: string(d.Choice), Source: journal.SourceAnswers})
						}
					}
					if res.Unresolved() {
						return &wizard.DecisionError{Step: "upgrade/config-diff", Why: fmt.Sprintf("%d configuration conflict(s) need a decision (listed above)", len(res.Conflicts)),
							Choices: []string{"add ConfigDecision = FILE KEY reapply|keep-new lines to [Wizard] and rerun", "mswizard backout"}}
					}
					return nil
				},
			}}, nil
		},
		UndoText: "nothing of its own: the installer's undo restores the whole old configuration",
	}.Step()
}
