package steps

import (
	"context"

	"mswizard/backup"
	"mswizard/wizard"
)

// backupProgress hands an archive's, a verification's or a restore's counts
// to the faces (the runner adds rate and ETA).
func backupProgress(env *wizard.Env) func(backup.Progress) {
	return func(p backup.Progress) {
		phase := p.Phase
		if phase == "create" {
			phase = "archive"
		}
		env.Progress(wizard.Progress{Phase: phase, What: "bytes", Done: p.Bytes, Total: p.TotalBytes, DoneFiles: p.Files, TotalFiles: p.TotalFiles})
	}
}

// noteSize keeps what preflight measured of the tree at path.
func (c *Config) noteSize(path string, files, bytes int64) {
	if c.sized == nil {
		c.sized = map[string][2]int64{}
	}
	c.sized[path] = [2]int64{files, bytes}
}

// sizeOf is what an archive of path should hold, for its progress: what
// preflight measured, else a walk of its metadata now (the queue, which
// preflight does not size). Zero when it cannot be read: the archive then
// shows its counts without an ETA, and reports the error itself.
func (c *Config) sizeOf(ctx context.Context, path string, exclude []string) (files, bytes int64) {
	if s, ok := c.sized[path]; ok {
		return s[0], s[1]
	}
	files, bytes, err := backup.Estimate(ctx, path, exclude)
	if err != nil {
		return 0, 0
	}
	return files, bytes
}
