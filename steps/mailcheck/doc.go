// Package mailcheck proves that mail still flows after an upgrade step: it
// reads the MTA transaction log (mail.log_current and its rotations, see
// docs/FORMATS.md §3) and daemontools multilog directories
// (FORMATS.md §4), scans the MTA queue tree (FORMATS.md §2.8), records a
// read-only baseline before the upgrade and compares the state after the
// restart against it.
//
// Everything that reads a clock or sleeps takes it from a [Probe], so tests
// drive time by hand. All results are plain structs that marshal to JSON for
// journal receipts and have a plain-text renderer for the operator.
package mailcheck
