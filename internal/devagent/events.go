package devagent

import (
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// HasEvent reports whether a task's events include substr in their message
// or driver error (the dtle driver's stage events, say, or a failure).
func HasEvent(st *nomad.TaskState, substr string) bool {
	return CountEvents(st, substr) > 0
}

// HasEventSince reports whether an event at or after since includes
// substr: what happened after a kill, say, rather than before it.
func HasEventSince(st *nomad.TaskState, substr string, since time.Time) bool {
	for _, e := range st.Events {
		if e.Time >= since.UnixNano() && eventHas(e, substr) {
			return true
		}
	}
	return false
}

// CountEvents counts the task's events that include substr.
func CountEvents(st *nomad.TaskState, substr string) int {
	n := 0
	for _, e := range st.Events {
		if eventHas(e, substr) {
			n++
		}
	}
	return n
}

// eventHas reports whether an event's message or driver error includes substr.
func eventHas(e *nomad.TaskEvent, substr string) bool {
	return strings.Contains(e.DisplayMessage, substr) || strings.Contains(e.Message, substr) ||
		strings.Contains(e.DriverError, substr)
}
