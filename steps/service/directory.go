package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"

	"mswizard/wizard"
)

// searcher is the part of *ldap.Conn this package uses.
type searcher interface {
	Search(*ldap.SearchRequest) (*ldap.SearchResult, error)
}

// directoryUp is check/directory-up.
type directoryUp struct{ step }

// DirectoryUp is check/directory-up, read-only: after the stops, an
// authenticated bind (Config.Directory) and a base search of the root DSE prove the
// Directory Server still answers — the appendix forbids stopping it, the
// upgrade needs it running (seed 003, pre-upgrade step 2).
func DirectoryUp(c Config) wizard.Step {
	s := &directoryUp{step{c.withDefaults()}}
	return wizard.Phase{
		ID: IDDirectoryUp, Title: "Check that the Directory Server is still up",
		Check: s.Check, Plan: s.Plan, // read-only: nothing to undo
	}.Step()
}

// DirectoryTimeout bounds the bind and the search.
const DirectoryTimeout = 30 * time.Second

// probeDirectory binds and reads the root DSE, returning what it says.
func probeDirectory(ctx context.Context, c Config) (string, error) {
	if c.Directory == nil {
		return "", fmt.Errorf("no directory connection in the answers")
	}
	ctx, cancel := context.WithTimeout(ctx, DirectoryTimeout)
	defer cancel()
	conn, err := c.Directory.DialLDAP(ctx)
	if err != nil {
		return "", fmt.Errorf("bind: %w", err)
	}
	s, ok := conn.(searcher)
	if !ok {
		conn.Close()
		return "", fmt.Errorf("the directory connection (%T) cannot search", conn)
	}
	type result struct {
		res *ldap.SearchResult
		err error
	}
	ch := make(chan result, 1)
	go func() {
		res, err := s.Search(ldap.NewSearchRequest("", ldap.ScopeBaseObject, ldap.NeverDerefAliases, 1, int(DirectoryTimeout/time.Second), false,
			"(objectClass=*)", []string{"namingContexts", "vendorName", "vendorVersion"}, nil))
		ch <- result{res, err}
	}()
	var r result
	select {
	case r = <-ch:
		conn.Close()
	case <-ctx.Done():
		conn.Close() // unblocks the search
		return "", fmt.Errorf("root DSE search: %w", ctx.Err())
	}
	if r.err != nil {
		return "", fmt.Errorf("root DSE search: %w", r.err)
	}
	if len(r.res.Entries) != 1 {
		return "", fmt.Errorf("root DSE search returned %d entries", len(r.res.Entries))
	}
	e := r.res.Entries[0]
	desc := "the root DSE answers"
	if v := e.GetAttributeValue("vendorVersion"); v != "" {
		desc += " (" + v + ")"
	} else if v := e.GetAttributeValue("vendorName"); v != "" {
		desc += " (" + v + ")"
	}
	if nc := e.GetAttributeValues("namingContexts"); len(nc) > 0 {
		desc += "; naming contexts " + strings.Join(nc, ", ")
	}
	return desc, nil
}

func (s *directoryUp) Check(ctx context.Context, env *wizard.Env) (bool, string, error) {
	desc, err := probeDirectory(ctx, s.c)
	if err != nil {
		return false, "the Directory Server does not answer: " + err.Error(), nil
	}
	return true, desc, nil
}

func (s *directoryUp) Plan(ctx context.Context, env *wizard.Env) ([]wizard.Action, error) {
	return []wizard.Action{{
		Summary:    "ldap: bind and base search of the root DSE",
		Idempotent: true,
		Do: func(ctx context.Context, r *wizard.Receipt) error {
			desc, err := probeDirectory(ctx, s.c)
			if err != nil {
				return fmt.Errorf("the Directory Server must stay up during the upgrade (appendix C): %w", err)
			}
			r.Note = desc
			return nil
		},
	}}, nil
}
