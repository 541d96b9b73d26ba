// Package atomicfile is kept so code written against its old place still
// builds.
//
// Deprecated: moved to mswizard/internal/atomicfile (a leaf that backup,
// ldif and the journal use, no part of the engine).
package atomicfile

import "mswizard/internal/atomicfile"

// The functions of mswizard/internal/atomicfile, under their old names.
var (
	WriteFile = atomicfile.WriteFile
	SyncDir   = atomicfile.SyncDir
	Rename    = atomicfile.Rename
)
