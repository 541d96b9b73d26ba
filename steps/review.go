package steps

import (
	"context"
	"fmt"
	"strings"

	"mswizard/steps/configdiff"
	"mswizard/wizard"
)

// ConfigReview is what upgrade/config-diff offers an operator to review: the
// read-only comparison of the newest msg-INSTANCE/backup.TIMESTAMP with the
// live configuration, each key with what the merge does (or did) with it, and
// the conflicts that need a decision. The TUI renders it without knowing the
// step; the decisions come back as `ConfigDecision = FILE KEY choice` lines.
func ConfigReview(ctx context.Context, c *Config) (*wizard.Review, error) {
	rep, err := ConfigReport(ctx, c)
	if err != nil {
		return nil, err
	}
	rv := &wizard.Review{Step: configMergeID, Title: "config diff", Old: rep.Old, New: rep.New}
	var res *configdiff.Result
	pol, err := configdiff.ParsePolicy(c.Answers.ConfigMerge)
	if err != nil {
		rv.Note = "the merge cannot be planned: " + err.Error()
	} else {
		var ds configdiff.Decisions
		for _, line := range c.Answers.ConfigDecisions {
			if x, err := configdiff.ParseDecision(line); err == nil {
				ds = append(ds, x)
			}
		}
		tree := configdiff.Tree{Base: c.Answers.PristineDefaults, Old: rep.Old, New: rep.New}
		if res, err = configdiff.Plan(ctx, tree, pol, ds); err != nil {
			rv.Note = "the merge cannot be planned yet: " + err.Error()
			res = nil
		}
	}
	outcome := map[[2]string]string{}
	open := map[[2]string]bool{}
	if res != nil {
		for _, x := range res.Reapplied {
			outcome[[2]string{x.File, x.Key}] = "re-applied"
		}
		for _, x := range res.Kept {
			outcome[[2]string{x.File, x.Key}] = "kept new"
		}
		for _, x := range res.Conflicts {
			open[[2]string{x.File, x.Key}] = true
			rv.Open = append(rv.Open, wizard.ReviewChoice{File: x.File, Key: x.Key, Old: x.Old, New: x.New, Options: []wizard.Option{
				{Key: "r", Value: string(configdiff.ChoiceReapply), Label: "re-apply yours " + shortValue(x.Old), Help: "re-apply"},
				{Key: "k", Value: string(configdiff.ChoiceKeepNew), Label: "keep the new " + shortValue(x.New), Help: "keep new"},
			}})
		}
	}
	for _, f := range rep.Files {
		if f.Status == configdiff.StatusSame {
			continue
		}
		rf := wizard.ReviewFile{Path: f.Path, Status: string(f.Status), Binary: f.Binary, Unified: f.Unified}
		for _, ch := range f.Changes {
			k := [2]string{f.Path, ch.Key}
			rf.Items = append(rf.Items, wizard.ReviewItem{Kind: string(ch.Kind), Key: ch.Key, Reason: string(ch.Reason), Outcome: outcome[k], Open: open[k]})
		}
		rv.Files = append(rv.Files, rf)
	}
	return rv, nil
}

// configMergeID is the step that offers the review.
const configMergeID = "upgrade/config-diff"

func (c *Config) configReview(ctx context.Context, _ *wizard.Env) (*wizard.Review, error) {
	return ConfigReview(ctx, c)
}

// shortValue quotes a value for a one-line prompt; nil is an absent key.
func shortValue(v *string) string {
	if v == nil {
		return "absent"
	}
	s := strings.ReplaceAll(*v, "\n", " ")
	if len(s) > 24 {
		s = s[:23] + "…"
	}
	return fmt.Sprintf("%q", s)
}

// DecisionLines turns a review's decisions into the answers file's
// `ConfigDecision` values, checked as the merge will read them.
func DecisionLines(ds []wizard.Decision) ([]string, error) {
	var out []string
	for _, d := range ds {
		x := configdiff.Decision{File: d.File, Key: d.Key, Choice: configdiff.Choice(d.Choice)}
		if _, err := configdiff.ParseDecision(x.String()); err != nil {
			return nil, err
		}
		out = append(out, x.String())
	}
	return out, nil
}
