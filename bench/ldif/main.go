// Command ldif is the driver of bench/ldif.sh.
//
//	ldif serve DIR USERS READYFILE   seed USERS users into a fresh slapd (slapadd
//	                                 offline), write "URL ROOTDN" to READYFILE and
//	                                 the root password to DIR/pw (0600), run until
//	                                 SIGTERM/SIGINT, then stop slapd
//	ldif export URL DN PWFILE BASE FILTER OUTDIR
//	                                 one paged export (pages of 1000); prints the
//	                                 entry count; LDIFBENCH_CPUPROFILE=FILE writes
//	                                 a CPU profile, LDIFBENCH_GOLDAP=1 uses go-ldap's
//	                                 decoder instead of the lean one
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"syscall"
	"time"

	"mswizard/fixtures/ldapd"
	"mswizard/ldif/export"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "ldif bench:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) == 4 && args[0] == "serve" {
		return serve(args[1], args[2], args[3])
	}
	if len(args) == 7 && args[0] == "export" {
		return doExport(args[1:])
	}
	return fmt.Errorf("usage: serve DIR USERS READYFILE | export URL DN PWFILE BASE FILTER OUTDIR")
}

func serve(dir, users, ready string) error {
	n, err := strconv.Atoi(users)
	if err != nil {
		return err
	}
	seed := filepath.Join(dir, "seed.ldif")
	f, err := os.Create(seed)
	if err != nil {
		return err
	}
	if err := ldapd.WriteSeedLDIF(f, n, 1); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	s, err := ldapd.StartOpenLDAP(ctx, ldapd.Options{Dir: dir, SeedLDIF: seed})
	if err != nil {
		return err
	}
	defer s.Stop(context.Background())
	if err := os.WriteFile(filepath.Join(dir, "pw"), []byte(s.RootPW), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(ready+".tmp", []byte(s.URL+" "+s.RootDN+"\n"), 0o644); err != nil {
		return err
	}
	if err := os.Rename(ready+".tmp", ready); err != nil {
		return err
	}
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT)
	<-sig
	return nil
}

func doExport(a []string) error {
	url, dn, pwfile, base, filter, out := a[0], a[1], a[2], a[3], a[4], a[5]
	pw, err := os.ReadFile(pwfile)
	if err != nil {
		return err
	}
	if p := os.Getenv("LDIFBENCH_CPUPROFILE"); p != "" {
		f, err := os.Create(p)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	c, err := export.Dial(ctx, url, export.Bind{DN: dn, Password: export.Secret(pw)}, export.TLS{}, export.DialOptions{Timeout: time.Minute})
	if err != nil {
		return err
	}
	defer c.Close()
	r, err := export.Export(ctx, c, export.Spec{Name: "bench", Base: base, Filter: filter, File: "bench.ldif"}, out,
		export.Options{PageSize: pageSize(), Server: url, GoLDAPDecoder: os.Getenv("LDIFBENCH_GOLDAP") != ""})
	if err != nil {
		return err
	}
	fmt.Println(r.Entries)
	return nil
}

// pageSize is LDIFBENCH_PAGESIZE or 1000, ldapsearch's -E pr=1000.
func pageSize() int {
	if n, err := strconv.Atoi(os.Getenv("LDIFBENCH_PAGESIZE")); err == nil && n > 0 {
		return n
	}
	return 1000
}
