package steps

import (
	"context"
	"errors"

	"mswizard/steps/configdiff"
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
