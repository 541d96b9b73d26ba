package main

import (
	_ "embed"
	"html/template"
	"io"
	"strings"
	"time"

	"mswizard/wizard"
)

// report.html is one self-contained page: the styles are inline and there is
// no script and no reference to anything outside it, so it opens the same from
// a state directory copied off a host with no network.
//
//go:embed report.html.tmpl
var reportHTMLTemplate string

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"clock": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.Format("15:04:05")
	},
	"stamp": func(t time.Time) string { return t.Format("2006-01-02 15:04:05 MST") },
	"dur":   fmtDur,
	"bytes": humanBytes,
	"join":  strings.Join,
	"sev": func(s wizard.Severity) string {
		if s == "" {
			return "info"
		}
		return string(s)
	},
	"state": func(s wizard.StepState) string { return strings.ReplaceAll(string(s), "-", "") },
	"tail":  func(s string) string { return strings.Join(lastLines(s, 40), "\n") },
	"argv":  func(a []string) string { return strings.Join(a, " ") },
}).Parse(reportHTMLTemplate))

// htmlView adds to the model what only the page draws.
type htmlView struct {
	*runReport
	WindowLeft, WindowWidth float64
	Counts                  map[string]int
}

func renderHTML(w io.Writer, rep *runReport) error {
	v := htmlView{runReport: rep, Counts: map[string]int{}}
	for _, f := range rep.Findings {
		v.Counts[string(f.Severity)]++
	}
	if win := rep.Window; win != nil {
		span := rep.End.Sub(rep.Start)
		to := win.To
		if win.Open {
			to = rep.End
		}
		if span > 0 {
			v.WindowLeft = pct(win.From.Sub(rep.Start), span)
			v.WindowWidth = max(pct(to.Sub(win.From), span), 0.4)
		}
	}
	return reportTmpl.Execute(w, v)
}
