package steps

import (
	"context"
	"fmt"

	"mswizard/backup"
	"mswizard/wizard"
)

// The numbers the faces show come from the steps that act on them, by the
// same rules (wizard.Count): the preflight screen's queue is what backup/queue
// decides on, its free space what preflight/disk-space weighs.

// Count names.
const (
	CountQueueMessages  = "queue-messages"
	CountBackupFree     = "backup-free-bytes"
	CountConfigDiffKeys = "config-differences"
)

// queueCount is backup/queue's own reading of the queue: message files, not
// the queue's control files ($-prefixed) or its directories.
func (c *Config) queueCount() (wizard.Count, error) {
	n, err := queueFiles(c.Host.QueueDir())
	if err != nil {
		return wizard.Count{Name: CountQueueMessages, Value: -1}, err
	}
	if n == 0 {
		return wizard.Count{Name: CountQueueMessages, Value: 0, Text: "the queue is empty: nothing to save"}, nil
	}
	return wizard.Count{Name: CountQueueMessages, Value: int64(n), Text: fmt.Sprintf("%d message file(s) in the queue", n)}, nil
}

func (c *Config) queueCounts(context.Context, *wizard.Env) ([]wizard.Count, error) {
	q, err := c.queueCount()
	if err != nil {
		return nil, err
	}
	return []wizard.Count{q}, nil
}

// spaceCounts is the free space preflight/disk-space weighs the backups
// against: on BackupDir, or its nearest existing parent.
func (c *Config) spaceCounts(context.Context, *wizard.Env) ([]wizard.Count, error) {
	dir := existingParent(c.BackupDir)
	free, err := backup.FreeBytes(dir)
	if err != nil {
		return nil, fmt.Errorf("free space on %s: %w", dir, err)
	}
	return []wizard.Count{{Name: CountBackupFree, Value: int64(free), Text: fmt.Sprintf("%s free on %s", human(free), dir)}}, nil
}

// configCounts is how many files differ from the installer's backup, from the review
// upgrade/config-diff offers; unknown (-1) until the installer ran.
func (c *Config) configCounts(ctx context.Context, env *wizard.Env) ([]wizard.Count, error) {
	rv, err := ConfigReview(ctx, c)
	if err != nil {
		return []wizard.Count{{Name: CountConfigDiffKeys, Value: -1, Text: err.Error()}}, nil
	}
	n := 0
	for _, f := range rv.Files {
		n += len(f.Items)
	}
	return []wizard.Count{{Name: CountConfigDiffKeys, Value: int64(len(rv.Files)), Text: fmt.Sprintf("%d file(s) differ from backup.TIMESTAMP (%d keyed change(s)), %d conflict(s) to decide", len(rv.Files), n, len(rv.Open))}}, nil
}
