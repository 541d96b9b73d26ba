package answers

import "strings"

// RegimeSpec is one way a host's services are controlled, and the [Wizard]
// keys it needs. The list is written once: the answers' choices, their
// validation and the service steps' own check (steps/service, one
// implementation per regime) all read it, so `answers validate` and the
// preflight agree on what a regime needs.
type RegimeSpec struct {
	Name  string
	Needs []string // [Wizard] keys that must be set
	Why   string   // said after the keys when one is missing
}

// Regimes, in the order the template lists them.
var Regimes = []RegimeSpec{
	{Name: "plain"},
	{Name: "daemontools", Needs: []string{"ServiceDir"}},
	{Name: "sc2.2"},
	{Name: "sc3", Needs: []string{"ClusterResource", "ClusterGroup"}},
	{Name: "veritas", Needs: []string{"ClusterResource", "ClusterGroup", "ClusterSystem", "IPResource", "MountResource"},
		Why: "(the -sys of hares/hagrp and the resources the mail resource depends on)"},
}

// RegimeNames lists the regimes' names.
func RegimeNames() []string {
	out := make([]string, len(Regimes))
	for i, r := range Regimes {
		out[i] = r.Name
	}
	return out
}

// RegimeNeeds returns the [Wizard] keys a regime needs; nil for an unknown one.
func RegimeNeeds(name string) []string {
	for _, r := range Regimes {
		if r.Name == name {
			return r.Needs
		}
	}
	return nil
}

// MissingForRegime says which of the regime's keys value reports empty, as
// one sentence ("Regime = sc3 needs ClusterResource and ClusterGroup"), or "".
func MissingForRegime(name string, value func(key string) string) string {
	var missing []string
	why := ""
	for _, r := range Regimes {
		if r.Name != name {
			continue
		}
		why = r.Why
		for _, k := range r.Needs {
			if strings.TrimSpace(value(k)) == "" {
				missing = append(missing, k)
			}
		}
	}
	if len(missing) == 0 {
		return ""
	}
	list := missing[0]
	if n := len(missing); n > 1 {
		list = strings.Join(missing[:n-1], ", ") + " and " + missing[n-1]
	}
	s := "Regime = " + name + " needs " + list
	if why != "" {
		s += " " + why
	}
	return s
}

// RegimeValue returns the value of a [Wizard] key a regime may need.
func (a *Answers) RegimeValue(key string) string {
	return map[string]string{
		"ServiceDir": a.ServiceDir, "ClusterResource": a.ClusterResource, "ClusterGroup": a.ClusterGroup,
		"ClusterSystem": a.ClusterSystem, "IPResource": a.IPResource, "MountResource": a.MountResource,
		"HaregService": a.HaregService, "ClusterBin": a.ClusterBin,
	}[key]
}
