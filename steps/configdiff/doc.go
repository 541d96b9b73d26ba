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
// Resuming: Merge records the backup it merges and the FILE.pre-merge
// copies it makes in msg-INSTANCE/.mswizard-configdiff.json. Run again for
// the same backup, it starts from those copies, so it is idempotent and
// accepts new Decisions; pre-merge copies it cannot vouch for make it stop
// with ErrForeignPreMerge.
package configdiff
