// Package configdiff compares and merges a Messaging Server instance's
// configuration across the 5.1 -> 5.2 upgrade.
//
// The 5.2 installer moves msg-INSTANCE/config/local.conf, config/msg.conf,
// imta/config/ and html/ into msg-INSTANCE/backup.TIMESTAMP/ and lays down
// new defaults; the operator must compare the two and re-apply every
// customization (iPlanet Messaging Server 5.2 Installation Guide, appendix
// C, "Messaging Server 5.2 へのアップグレード", steps 1-2).
//
// Each file is parsed by its format (FORMATS.md §2: configutil files,
// option files with sections, imta.cnf, mappings, aliases; anything else is
// one whole-file value) into keyed items that keep the file's own text, so
// a merged file is the new file with the operator's lines put back, and
// comments and order survive.
//
// Diff is read-only (`mswizard diff`). Merge does a per-key three-way merge
// (base = the old version's pristine defaults, old = backup.TIMESTAMP,
// new = the live instance): customizations are re-applied, vendor changes
// and new keys kept, and keys both sides changed differently are reported
// as conflicts, never resolved by policy. Without a base every difference
// is handled by the Policy. Decisions answer single keys and can be
// replayed on the HA peer.
//
// Keys: configutil parameter names, "[TYPE=NAME] OPTION" in option files,
// "rule PATTERN" and "channel NAME" in imta.cnf, "table NAME" and
// "TABLE PATTERN" in mappings, alias names, "(file)" for a whole file. An
// imta.cnf channel block that both the operator's and the new file have
// merges keyword by keyword ("channel NAME keyword KW", KW lower-cased,
// KW#2 for a repeat; the value is the keyword with its arguments) and host
// line by host line as a set ("channel NAME host HOST"): the new file's
// keyword order, operator-added keywords appended, host lines the operator
// added after the new ones (channel.go has the argument rule). A decision
// for "channel NAME" still answers the whole block.
//
// A section the operator removed (option-file [TYPE=NAME], mappings table)
// goes, once its header is reapplied, with the entries the new file still
// has in it; each is reported (By "section", with a Note). An entry kept
// by its own keep-new decision, or a conflict when only the policy removed
// the header, keeps the header unresolved with a Note naming it.
//
// Resuming: Merge records the backup it merges and the FILE.pre-merge
// copies it makes in msg-INSTANCE/.mswizard-configdiff.json. Run again for
// the same backup, it starts from those copies, so it is idempotent and
// accepts new Decisions; pre-merge copies it cannot vouch for make it stop
// with ErrForeignPreMerge.
package configdiff
