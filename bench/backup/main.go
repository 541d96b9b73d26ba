// Command backup-bench builds a deterministic synthetic Messaging Server tree
// and drives the backup package for bench/backup.sh.
//
//	backup-bench gen DIR [small|full]      build the tree
//	backup-bench create SRC DEST NAME      Create with Verify, print timings and peak RSS
//	backup-bench restore ARCHIVE DIR       RestoreInto, print timing and peak RSS
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/klauspost/compress/zstd"

	"mswizard/backup"
	"mswizard/fixtures/world"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "backup-bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 1 {
		return errors.New("usage: gen|create|restore ARGS")
	}
	ctx := context.Background()
	if p := os.Getenv("BENCH_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	switch args[0] {
	case "gen":
		if len(args) != 3 {
			return fmt.Errorf("usage: gen DIR small|full")
		}
		return gen(args[1], args[2] == "small")
	case "create":
		if len(args) != 4 {
			return fmt.Errorf("usage: create SRC DEST NAME")
		}
		level := backup.DefaultLevel
		if os.Getenv("BACKUP_LEVEL") == "default" {
			level = zstd.SpeedDefault
		}
		t0 := time.Now()
		res, err := backup.Create(ctx, backup.Options{Source: args[1], Dest: args[2], Name: args[3], Level: level, Verify: true})
		if err != nil {
			return err
		}
		fmt.Printf("seconds=%.3f files=%d bytes=%d archive=%d rss_kib=%d\n", time.Since(t0).Seconds(), res.Files, res.Bytes, res.ArchiveSize, maxRSS())
	case "restore":
		if len(args) != 3 {
			return fmt.Errorf("usage: restore ARCHIVE DIR")
		}
		t0 := time.Now()
		if err := backup.RestoreInto(ctx, args[1], args[2], nil); err != nil {
			return err
		}
		fmt.Printf("seconds=%.3f rss_kib=%d\n", time.Since(t0).Seconds(), maxRSS())
	default:
		return fmt.Errorf("unknown command %q", args[0])
	}
	return nil
}

func maxRSS() int64 {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return ru.Maxrss
}

// gen builds the benchmark tree: the simulated host's server root from the
// world builder (fixtures/world), large (≈1 GiB, ≈100k files: configs, html,
// queue and store messages, db-like files) or, for a quick run, medium.
func gen(dir string, small bool) error {
	scale := world.Large
	if small {
		scale = world.Medium
	}
	_, err := world.Build(context.Background(), world.Options{Dir: dir, Seed: 42, Scale: scale, PortBase: 20000})
	return err
}
