package extractor

import "errors"

// Named errors of the extractor.
var (
	// ErrFlavorChanged: the destination's checkpoint was written for another
	// kind of source; a job cannot switch between MySQL and MariaDB.
	ErrFlavorChanged = errors.New("the source's flavor differs from the destination checkpoint's")
	// ErrSchemaMismatch: a row event does not fit the table definition.
	ErrSchemaMismatch = errors.New("row event does not match the table definition")
)
