package filter

import (
	"fmt"
	"slices"
	"strings"
)

// Event is a kind of change ignore_event can name.
type Event string

// Row events.
const (
	Insert Event = "insert"
	Update Event = "update"
	Delete Event = "delete"
)

// DDL events.
const (
	CreateDatabase Event = "create database"
	DropDatabase   Event = "drop database"
	AlterDatabase  Event = "alter database"
	CreateTable    Event = "create table"
	DropTable      Event = "drop table"
	AlterTable     Event = "alter table"
	RenameTable    Event = "rename table"
	TruncateTable  Event = "truncate table"
	CreateIndex    Event = "create index"
	DropIndex      Event = "drop index"
)

var (
	dmlEvents = []Event{Insert, Update, Delete}
	ddlEvents = []Event{CreateDatabase, DropDatabase, AlterDatabase, CreateTable, DropTable, AlterTable,
		RenameTable, TruncateTable, CreateIndex, DropIndex}
)

// eventNames maps what ignore_event accepts to the events it means: each
// event, the groups "all dml", "all ddl" and "all", and "schema" spellings.
var eventNames = func() map[string][]Event {
	m := map[string][]Event{
		"all dml": dmlEvents,
		"all ddl": ddlEvents,
		"all":     append(slices.Clone(dmlEvents), ddlEvents...),
	}
	for _, e := range append(slices.Clone(dmlEvents), ddlEvents...) {
		m[string(e)] = []Event{e}
	}
	m["create schema"] = []Event{CreateDatabase}
	m["drop schema"] = []Event{DropDatabase}
	m["alter schema"] = []Event{AlterDatabase}
	return m
}()

// eventSet is a set of ignored events.
type eventSet map[Event]bool

// parseEvents reads an ignore_event list; names are case-insensitive.
func parseEvents(field string, names []string) (eventSet, error) {
	if len(names) == 0 {
		return nil, nil
	}
	set := eventSet{}
	for i, n := range names {
		key := strings.Join(strings.Fields(strings.ToLower(n)), " ")
		evs, ok := eventNames[key]
		if !ok {
			return nil, fmt.Errorf("%s[%d]: unknown event %q; use insert, update, delete, %s, all dml, all ddl or all",
				field, i, n, joinEvents(ddlEvents))
		}
		for _, e := range evs {
			set[e] = true
		}
	}
	return set, nil
}

func joinEvents(evs []Event) string {
	s := make([]string, len(evs))
	for i, e := range evs {
		s[i] = string(e)
	}
	return strings.Join(s, ", ")
}

func (s eventSet) union(o eventSet) eventSet {
	if len(o) == 0 {
		return s
	}
	out := eventSet{}
	for e := range s {
		out[e] = true
	}
	for e := range o {
		out[e] = true
	}
	return out
}
