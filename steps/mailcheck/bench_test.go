package mailcheck

import (
	"context"
	"os"
	"testing"
	"time"
)

// BenchmarkScan scans $MAILCHECK_BENCH_LOG (e.g. one made by
// bench/logscan gen); it is skipped when the variable is unset.
func BenchmarkScan(b *testing.B) {
	path := os.Getenv("MAILCHECK_BENCH_LOG")
	if path == "" {
		b.Skip("MAILCHECK_BENCH_LOG not set")
	}
	st, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	p := &Probe{Location: time.UTC}
	for b.Loop() {
		if _, err := p.Scan(context.Background(), []string{path}, time.Time{}); err != nil {
			b.Fatal(err)
		}
	}
}
