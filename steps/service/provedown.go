package service

import (
	"context"
	"fmt"
	"strings"
)

// ProveDown proves that every service the pre-upgrade stops stop — the
// messaging services, the web server instances and the Administration Server
// — is down now: proved by the process table and the listening sockets on the
// configured addresses (host-facts: F-PROC-001, F-PROC-002); unknown is not down. Steps that archive, move the store, run the installer or restore
// call it right before they act, because a resumed run skips the stops its
// journal says are done while boot scripts (or an operator) may have started
// the mail server again meanwhile. An error names what runs.
func (c Config) ProveDown(ctx context.Context) error {
	c = c.withDefaults()
	names := append(c.MessagingServices(ctx), webUnits(c.Host)...)
	if c.hasAdmin(ctx) {
		names = append(names, AdminUnit)
	}
	us, err := c.units(names...)
	if err != nil {
		return fmt.Errorf("services: %w", err)
	}
	var up []string
	for _, u := range us {
		st, err := c.observe(ctx, u)
		if err != nil {
			return fmt.Errorf("services: %s: %w", u.Name, err)
		}
		if !st.down() {
			up = append(up, st.describe())
		}
	}
	if len(up) > 0 {
		return fmt.Errorf("services the run stopped are running again: %s", strings.Join(up, "; "))
	}
	return nil
}
