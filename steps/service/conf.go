package service

import (
	"os"

	"mswizard/steps/host"
)

// LocalConf holds the parameters of local.conf / msg.conf (see host.LocalConf).
type LocalConf = host.LocalConf

// ReadConfig reads msg.conf and then local.conf of a host, local.conf winning
// (host-facts: F-CONF-001).
func ReadConfig(l host.Layout) (LocalConf, error) { return host.ReadConfig(l) }

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
