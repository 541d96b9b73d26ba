package wizard

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends (then it returns ctx's error): the one
// wait of every poll loop, so a cancelled run never sleeps out its interval.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
