package wizard

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestSleepWaitsItsIntervalOrUntilTheContextEnds(t *testing.T) {
	start := time.Now()
	if err := Sleep(t.Context(), 20*time.Millisecond); err != nil || time.Since(start) < 20*time.Millisecond {
		t.Fatalf("Sleep(20ms) = %v after %s; want nil after the interval", err, time.Since(start))
	}
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(10*time.Millisecond, cancel)
	start = time.Now()
	if err := Sleep(ctx, time.Minute); !errors.Is(err, context.Canceled) || time.Since(start) > 10*time.Second {
		t.Fatalf("Sleep(1m) on a cancelled context = %v after %s; want context.Canceled at once", err, time.Since(start))
	}
}
