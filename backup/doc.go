// Package backup writes, verifies and restores the archives an operator
// relies on to back out a Messaging Server upgrade.
//
// An archive NAME.tar.zst is a PAX tar of a sorted depth-first walk
// (nanosecond mtimes, numeric uid/gid, setuid/setgid/sticky bits, relative and
// absolute symlinks, hardlinks as tar hardlinks, empty directories, FIFOs),
// compressed as independent 4 MiB zstd frames that `tar --zstd` and `zstd -d`
// read as one stream. Beside it, NAME.manifest.jsonl holds one JSON line per
// entry (path, type, size, mode, uid, gid, mtime_ns, sha256, link) between a
// header line and a trailer with the counts; sockets and device nodes are
// listed with "skipped" and not archived. Both are written under temporary
// names, fsynced and renamed, so a final name always means a complete file.
//
// Verify compares an archive with its manifest entry by entry. Restore
// extracts through os.Root into a staging directory, refusing names and links
// that leave it, checks every entry against the manifest as it lands, and then
// swaps the tree into place with a recorded, resumable pair of renames; a
// target that is a mount point has its top-level entries swapped instead,
// staged and recorded inside it (see WizardPrefix for the names kept out).
// CompareTree compares a live tree with a manifest for the backout check.
//
// Reading goes through mholt/archives (Tar extraction over FramedZstd);
// writing drives archive/tar directly, for the reasons given on Create.
package backup
