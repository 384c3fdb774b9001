package driver

// Log field names, the same in every log line of the plugin.
const (
	logJob     = "job"
	logTask    = "task"
	logAllocID = "alloc_id"
)
