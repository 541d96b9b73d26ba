// Command backup-bench builds a deterministic synthetic Messaging Server tree
// and drives the backup package for bench/backup.sh.
//
//	backup-bench gen DIR [small|full]      build the tree
//	backup-bench create SRC DEST NAME      Create with Verify, print timings and peak RSS
//	backup-bench restore ARCHIVE DIR       RestoreInto, print timing and peak RSS
package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"mswizard/backup"

	"github.com/klauspost/compress/zstd"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "backup-bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 1 {
		return fmt.Errorf("usage: gen|create|restore ...")
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

// textPool is pseudo-English that compresses about as well as mail does.
func textPool(r *rand.Rand, n int) []byte {
	words := make([]string, 3000)
	const letters = "etaoinshrdlucmfwypvbgkqjxz"
	for i := range words {
		l := 2 + r.IntN(9)
		var b strings.Builder
		for range l {
			// Skewed letter choice, like real text.
			b.WriteByte(letters[int(float64(len(letters))*r.Float64()*r.Float64())])
		}
		words[i] = b.String()
	}
	out := make([]byte, 0, n)
	col := 0
	for len(out) < n {
		w := words[int(float64(len(words))*r.Float64()*r.Float64())]
		out = append(out, w...)
		col += len(w) + 1
		if col > 68 {
			out = append(out, '\n')
			col = 0
		} else {
			out = append(out, ' ')
		}
	}
	return out[:n]
}

type generator struct {
	r    *rand.Rand
	pool []byte
	n    int
}

func (g *generator) write(path string, size int, header string) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	off := g.r.IntN(len(g.pool) - size)
	data := append([]byte(header), g.pool[off:off+size-min(size, len(header))]...)
	g.n++
	return os.WriteFile(path, data, 0o644)
}

// gen writes about 1.2 GB in about 100k files (small: 1/20 of that).
func gen(dir string, small bool) error {
	scale := 1
	if small {
		scale = 20
	}
	g := &generator{r: rand.New(rand.NewPCG(42, 1))}
	g.pool = textPool(g.r, 48<<20)
	root := filepath.Join(dir, "server-root")
	inst := filepath.Join(root, "msg-budgie")

	// Configs, html and libraries: ~28k small files in nested directories.
	for i := range 28000 / scale {
		var p string
		switch {
		case i < 60:
			p = filepath.Join(inst, "config", fmt.Sprintf("conf%02d.conf", i))
		case i < 120:
			p = filepath.Join(inst, "imta", "config", fmt.Sprintf("map%02d.cnf", i))
		case i < 4000:
			p = filepath.Join(inst, "html", fmt.Sprintf("d%02d", i%40), fmt.Sprintf("page%04d.html", i))
		default:
			p = filepath.Join(root, "lib", fmt.Sprintf("pkg%03d", i%300), fmt.Sprintf("res%05d.properties", i))
		}
		if err := g.write(p, 200+g.r.IntN(8000), ""); err != nil {
			return err
		}
	}
	// 70k message files of 2-50 KB, mostly small, 2k of them in the queue.
	for i := range 70000 / scale {
		u := g.r.Float64()
		size := 2048 + int(48*1024*u*u*u*u)
		var p string
		if i < 2000/scale {
			p = filepath.Join(inst, "imta", "queue", "tcp_local", fmt.Sprintf("%03d", i%16), fmt.Sprintf("ZZ0%07X.00", i))
		} else {
			user := i / 100
			p = filepath.Join(inst, "store", "partition", "primary", fmt.Sprintf("%02x", user%256), fmt.Sprintf("=user%d", user), "00", fmt.Sprintf("%d.msg", i%100))
		}
		hdr := fmt.Sprintf("Return-path: <u%d@siroe.com>\nMessage-ID: <%d.%d@siroe.com>\nSubject: msg %d\n\n", i, i, g.r.Uint32(), i)
		if err := g.write(p, size, hdr); err != nil {
			return err
		}
	}
	// Three db-like files: text pages, zero pages and random pages.
	for i, mib := range []int{60, 120, 180} {
		if err := dbFile(g, filepath.Join(inst, "store", "mboxlist", fmt.Sprintf("db%d.db", i)), (mib<<20)/scale); err != nil {
			return err
		}
	}
	// A few links, as a real server-root has.
	os.Symlink("msg-budgie/config", filepath.Join(root, "config-link"))
	os.Symlink("/usr/lib", filepath.Join(root, "syslib"))
	os.Link(filepath.Join(inst, "config", "conf00.conf"), filepath.Join(inst, "config", "conf00.hardlink"))
	os.MkdirAll(filepath.Join(inst, "log", "empty"), 0o755)
	fmt.Printf("files=%d\n", g.n+3)
	return nil
}

func dbFile(g *generator, path string, size int) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	page := make([]byte, 8192)
	for written := 0; written < size; written += len(page) {
		switch k := g.r.IntN(4); k {
		case 0, 1:
			off := g.r.IntN(len(g.pool) - len(page))
			copy(page, g.pool[off:])
		case 2:
			clear(page)
		default:
			for j := range page {
				page[j] = byte(g.r.Uint32())
			}
		}
		if _, err := f.Write(page); err != nil {
			f.Close()
			return err
		}
	}
	g.n++
	return f.Close()
}
