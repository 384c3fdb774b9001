package kafka

import (
	"strconv"
	"strings"
	"time"

	"github.com/dtle-io/dtle/internal/change"
)

// connectorVersion is what events give as source.version.
const connectorVersion = "dtle"

// snapshotAllowed are the values of source.snapshot.
const snapshotAllowed = "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"

// sourceSchema is Debezium's io.debezium.connector.mysql.Source.
const sourceSchema = `{"type":"struct","fields":[` +
	`{"type":"string","optional":false,"field":"version"},{"type":"string","optional":false,"field":"connector"},` +
	`{"type":"string","optional":false,"field":"name"},{"type":"int64","optional":false,"field":"ts_ms"},` +
	`{"type":"string","optional":true,"name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"` + snapshotAllowed + `"},"default":"false","field":"snapshot"},` +
	`{"type":"string","optional":false,"field":"db"},{"type":"string","optional":true,"field":"sequence"},` +
	`{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"},` +
	`{"type":"string","optional":true,"field":"table"},{"type":"int64","optional":false,"field":"server_id"},` +
	`{"type":"string","optional":true,"field":"gtid"},{"type":"string","optional":false,"field":"file"},` +
	`{"type":"int64","optional":false,"field":"pos"},{"type":"int32","optional":false,"field":"row"},` +
	`{"type":"int64","optional":true,"field":"thread"},{"type":"string","optional":true,"field":"query"}],` +
	`"optional":false,"name":"io.debezium.connector.mysql.Source","version":1,"field":"source"}`

const blockSchema = `{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},` +
	`{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],` +
	`"optional":true,"name":"event.block","version":1,"field":"transaction"}`

// tableCodec encodes the events of one table as of one definition.
type tableCodec struct {
	def    *tableDef
	fields []*field
	key    []int // key column positions; empty: null Kafka keys
	topic  string
	// keyHead and valueHead are the JSON up to each payload.
	keyHead, valueHead []byte
}

func newTableCodec(prefix string, d *tableDef, o *options) *tableCodec {
	tc := &tableCodec{def: d, key: d.keyIndexes(), topic: tableTopic(prefix, d.Schema, d.Name)}
	for i := range d.Columns {
		tc.fields = append(tc.fields, fieldFor(&d.Columns[i], o))
	}
	// Debezium names the schemas after the topic, characters Kafka does
	// not allow in topic names cleaned.
	base := tc.topic
	if len(tc.key) > 0 {
		b := []byte(`{"schema":{"type":"struct","fields":[`)
		for i, k := range tc.key {
			if i > 0 {
				b = append(b, ',')
			}
			b = tc.fields[k].appendSchema(b, false)
		}
		b = append(b, `],"optional":false,"name":`...)
		b = appendJSONString(b, base+".Key")
		tc.keyHead = append(b, `},"payload":`...)
	}
	var cols []byte
	for i, f := range tc.fields {
		if i > 0 {
			cols = append(cols, ',')
		}
		cols = f.appendSchema(cols, f.col.Nullable)
	}
	b := []byte(`{"schema":{"type":"struct","fields":[`)
	for _, which := range []string{"before", "after"} {
		b = append(b, `{"type":"struct","fields":[`...)
		b = append(b, cols...)
		b = append(b, `],"optional":true,"name":`...)
		b = appendJSONString(b, base+".Value")
		b = append(b, `,"field":"`+which+`"},`...)
	}
	b = append(b, sourceSchema+","+blockSchema+`,{"type":"string","optional":false,"field":"op"},`+
		`{"type":"int64","optional":true,"field":"ts_ms"},{"type":"int64","optional":true,"field":"ts_us"},`+
		`{"type":"int64","optional":true,"field":"ts_ns"}],"optional":false,"name":`...)
	b = appendJSONString(b, base+".Envelope")
	tc.valueHead = append(b, `,"version":2},"payload":`...)
	return tc
}

// appendSchema writes the Connect schema of one column, its members in
// the order JsonConverter writes them.
func (f *field) appendSchema(b []byte, optional bool) []byte {
	b = append(b, `{"type":"`+f.typ+`"`...)
	if f.fields != "" {
		b = append(b, `,"fields":`+f.fields...)
	}
	b = append(b, `,"optional":`...)
	b = strconv.AppendBool(b, optional)
	if f.name != "" {
		b = append(b, `,"name":"`+f.name+`","version":1`...)
	}
	if f.doc != "" {
		b = append(b, `,"doc":`...)
		b = appendJSONString(b, f.doc)
	}
	if len(f.params) > 0 {
		b = append(b, `,"parameters":{`...)
		for i, p := range f.params {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, p[0])
			b = append(b, ':')
			b = appendJSONString(b, p[1])
		}
		b = append(b, '}')
	}
	if f.def != nil {
		b = append(b, `,"default":`...)
		b = append(b, f.def...)
	}
	b = append(b, `,"field":`...)
	b = appendJSONString(b, f.col.Name)
	return append(b, '}')
}

// origin is where an event comes from, for its source block.
type origin struct {
	snapshot string // "true", "false", ...
	// tsMS is the source time; tsUS the same in microseconds when the
	// server gives them (0: tsMS*1000).
	tsMS, tsUS int64
	gtid       string
	file       string
	pos        int64
	row        int
	serverID   int64
	// thread is the source connection's id, when hasThread (else null).
	thread    int64
	hasThread bool
	tables    string // schema changes: the tables, comma-separated; "": null
}

// at sets the source time: the server's commit time in microseconds when
// it gives one (MySQL 8), else the binlog event's, in seconds.
func (o *origin) at(seconds uint32, micros uint64) {
	if micros > 0 {
		o.tsUS = int64(micros)
		o.tsMS = o.tsUS / 1000
		return
	}
	o.tsMS, o.tsUS = int64(seconds)*1000, 0
}

// payloadHint is a guess of the payload's size, to allocate a record once.
func (tc *tableCodec) payloadHint(before, after change.Row) int {
	n := 640 + len(tc.def.Schema) + len(tc.def.Name)
	for _, r := range []change.Row{before, after} {
		for i, v := range r {
			n += len(tc.fields[i].col.Name) + 8
			switch x := v.(type) {
			case string:
				n += len(x) + len(x)/8
			case []byte:
				n += len(x)*4/3 + 4
			default:
				n += 20
			}
		}
	}
	return n
}

// appendKey writes the record key of row; nil for a table without a key.
// snap: the row is the full copy's.
func (tc *tableCodec) appendKey(dst []byte, row change.Row, snap bool) ([]byte, error) {
	if len(tc.key) == 0 {
		return nil, nil
	}
	dst = append(dst, tc.keyHead...)
	dst = append(dst, '{')
	for i, k := range tc.key {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, tc.fields[k].col.Name)
		dst = append(dst, ':')
		var err error
		if dst, err = tc.appendValue(dst, k, row[k], snap); err != nil {
			return nil, err
		}
	}
	return append(dst, "}}"...), nil
}

func (tc *tableCodec) appendValue(dst []byte, i int, v any, snap bool) ([]byte, error) {
	if v == nil {
		return append(dst, "null"...), nil
	}
	f := tc.fields[i]
	conv := f.conv
	if snap && f.snapConv != nil {
		conv = f.snapConv
	}
	out, err := conv(dst, v)
	if err != nil {
		return dst, &ValueError{Table: tc.def.name().String(), Column: tc.fields[i].col.Name, Err: err}
	}
	return out, nil
}

func (tc *tableCodec) appendRow(dst []byte, row change.Row, snap bool) ([]byte, error) {
	if row == nil {
		return append(dst, "null"...), nil
	}
	dst = append(dst, '{')
	for i := range tc.fields {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, tc.fields[i].col.Name)
		dst = append(dst, ':')
		var err error
		if dst, err = tc.appendValue(dst, i, row[i], snap); err != nil {
			return nil, err
		}
	}
	return append(dst, '}'), nil
}

// appendValueRecord writes a change event: op is c, u, d, r or t (a
// truncate, without rows).
func (tc *tableCodec) appendValueRecord(dst []byte, prefix string, op byte, before, after change.Row, o *origin, now time.Time) ([]byte, error) {
	dst = append(dst, tc.valueHead...)
	dst = append(dst, `{"before":`...)
	var err error
	if dst, err = tc.appendRow(dst, before, op == 'r'); err != nil {
		return nil, err
	}
	dst = append(dst, `,"after":`...)
	if dst, err = tc.appendRow(dst, after, op == 'r'); err != nil {
		return nil, err
	}
	dst = append(dst, `,"source":`...)
	dst = appendSource(dst, prefix, tc.def.Schema, tc.def.Name, o)
	dst = append(dst, `,"transaction":null,"op":"`...)
	dst = append(dst, op)
	dst = append(dst, '"')
	dst = appendTimes(dst, now)
	return append(dst, "}}"...), nil
}

func appendSource(dst []byte, prefix, db, table string, o *origin) []byte {
	dst = append(dst, `{"version":"`+connectorVersion+`","connector":"mysql","name":`...)
	dst = appendJSONString(dst, prefix)
	dst = append(dst, `,"ts_ms":`...)
	dst = strconv.AppendInt(dst, o.tsMS, 10)
	dst = append(dst, `,"snapshot":"`...)
	dst = append(dst, o.snapshot...)
	dst = append(dst, `","db":`...)
	dst = appendJSONString(dst, db)
	us := o.tsUS
	if us == 0 {
		us = o.tsMS * 1000
	}
	dst = append(dst, `,"sequence":null,"ts_us":`...)
	dst = strconv.AppendInt(dst, us, 10)
	dst = append(dst, `,"ts_ns":`...)
	dst = strconv.AppendInt(dst, us*1000, 10)
	dst = append(dst, `,"table":`...)
	if table == "" {
		dst = append(dst, "null"...)
	} else {
		dst = appendJSONString(dst, table)
	}
	dst = append(dst, `,"server_id":`...)
	dst = strconv.AppendInt(dst, o.serverID, 10)
	dst = append(dst, `,"gtid":`...)
	if o.gtid == "" {
		dst = append(dst, "null"...)
	} else {
		dst = appendJSONString(dst, o.gtid)
	}
	dst = append(dst, `,"file":`...)
	dst = appendJSONString(dst, o.file)
	dst = append(dst, `,"pos":`...)
	dst = strconv.AppendInt(dst, o.pos, 10)
	dst = append(dst, `,"row":`...)
	dst = strconv.AppendInt(dst, int64(o.row), 10)
	dst = append(dst, `,"thread":`...)
	if o.hasThread {
		dst = strconv.AppendInt(dst, o.thread, 10)
	} else {
		dst = append(dst, "null"...)
	}
	return append(dst, `,"query":null}`...)
}

func appendTimes(dst []byte, now time.Time) []byte {
	dst = append(dst, `,"ts_ms":`...)
	dst = strconv.AppendInt(dst, now.UnixMilli(), 10)
	dst = append(dst, `,"ts_us":`...)
	dst = strconv.AppendInt(dst, now.UnixMicro(), 10)
	dst = append(dst, `,"ts_ns":`...)
	return strconv.AppendInt(dst, now.UnixNano(), 10)
}

// tableTopic is the topic of a table's events, <prefix>.<db>.<table>, with
// characters Kafka does not allow in topic names replaced by '_'.
func tableTopic(prefix, db, table string) string {
	return sanitizeTopic(prefix + "." + db + "." + table)
}

func sanitizeTopic(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	out := b.String()
	if len(out) > 249 {
		out = out[:249]
	}
	return out
}
