package change

// Column is one column of a source table.
type Column struct {
	Name      string
	DataType  string // information_schema DATA_TYPE: "int", "varchar", ...
	Unsigned  bool
	Binary    bool // values are bytes (binary, varbinary, blobs, bit), not text
	Generated bool // computed by the server; never written
	Charset   string
	// Elems are the members of an ENUM or SET, in order, Collation the
	// column's collation, AutoIncrement whether it is the AUTO_INCREMENT
	// column. None is sent on the wire.
	Elems         []string
	Collation     string
	AutoIncrement bool
}

// TableName names a table. It is the key of every map by table: schema and
// table names may hold any character, dots included, so no string joining
// them is.
type TableName struct{ Schema, Table string }

// String is schema.table, for messages (ambiguous with dots in names: never
// a key).
func (n TableName) String() string { return n.Schema + "." + n.Table }

// Table is the definition of a source table as the pipeline needs it.
type Table struct {
	Schema, Name string
	Columns      []Column
	// Key holds the indexes of the primary key columns, or of a unique key
	// over NOT NULL columns; empty when the table has neither.
	Key []int
	// Uniques are the column indexes of every unique index, the key's
	// included; an applier's writesets use them. An index with a prefix or
	// functional part has no columns here. Not sent on the wire.
	Uniques [][]int
	// CreateSQL is SHOW CREATE TABLE from the source.
	CreateSQL string
}

// TableName is the table's name.
func (t *Table) TableName() TableName { return TableName{t.Schema, t.Name} }

// HasKey reports whether rows can be addressed by a key.
func (t *Table) HasKey() bool { return len(t.Key) > 0 }

// Op is the kind of a row change.
type Op uint8

// Row change kinds.
const (
	OpInsert Op = iota + 1
	OpUpdate
	OpDelete
)

// Row holds one value per column, in table order. What a value means
// depends on where the row comes from:
//   - a binlog row image (RowChange) is as the binlog holds it, not yet
//     interpreted: nil, int64 for integers (an unsigned column's large
//     values arrive negative), uint64 where the decoder gives one, float32,
//     float64, string for DECIMAL and temporal values, and []byte for text
//     and binary alike, text in its column's character set. The destination
//     reads it against its column with InterpretRow;
//   - a full-copy row (PackedRows, chunk bounds Lo and Hi) is decoded from
//     the packed form, values as the destination writes them.
type Row []any

// RowChange is one row event. Insert has After, Delete has Before, Update
// has both.
type RowChange struct {
	Op            Op
	Schema, Table string
	Before, After Row
	// Where the row is in the binlog: Pos is the start of its rows event,
	// Row its index among the event's rows (an update's two images count
	// as one), When the event's timestamp in unix seconds. Zero when not
	// known.
	Pos  uint32
	Row  uint32
	When uint32
}

// DDL is a schema change statement, run with Schema as the default schema.
type DDL struct {
	Schema string
	SQL    string
	// Tables are the tables the statement touches, when known.
	Tables []TableName
	// Pos is the start of the statement's event in the binlog; 0: not known.
	Pos uint32
}

// Txn is one source transaction, or a part of one: a transaction larger
// than a message is sent in parts, all but the last with More set.
type Txn struct {
	GTID      string
	Timestamp uint32 // source commit time, unix seconds
	Changes   []RowChange
	DDL       *DDL
	More      bool
	// LogFile and LogPos are the binlog coordinates after the transaction
	// (LogPos is 0 in all but the last part).
	LogFile string
	LogPos  uint32
	// ServerID is the server_id of the server that wrote the transaction,
	// from its binlog events; 0: not known.
	ServerID uint32
	// Thread is the connection id in the transaction's QUERY_EVENT (its
	// BEGIN, or the DDL statement), when ThreadKnown.
	Thread      uint32
	ThreadKnown bool
	// CommitMicros is the commit time in microseconds since the epoch, when
	// the server gives it (MySQL 8's immediate_commit_timestamp); 0: only
	// Timestamp is known.
	CommitMicros uint64
}

// Kind says what a Message carries.
type Kind uint8

// Message kinds, in the order a job sends them.
const (
	// KindTable: create (or reset) Table on the destination before its chunks.
	KindTable Kind = iota + 1
	// KindChunk: rows of one table from the full copy.
	KindChunk
	// KindTableDone: every chunk of the table is sent; Pos is the snapshot.
	KindTableDone
	// KindCopyDone: the full copy is over; binlog replay starts after Pos.
	KindCopyDone
	// KindTxns: whole (or parts of) source transactions, in commit order.
	KindTxns
	// KindSchema: create the schema Table.Schema, with its default Charset
	// and Collation, unless it exists; the full copy sends one for every
	// replicated schema, before its tables, so that an empty one exists on
	// the destination too.
	KindSchema
)

// Message is one unit the source task sends to the destination task.
type Message struct {
	Kind    Kind
	Session string
	Seq     uint64
	Flavor  string

	Table *Table     // KindTable, KindChunk, KindTableDone
	Rows  PackedRows // KindChunk
	// Lo and Hi bound a chunk of a keyed table by key: its rows have keys
	// above Lo (nil: from the start) up to Hi, the last row's key. Chunks of
	// a table follow each other: each Lo is the previous Hi.
	Lo, Hi Row
	// Snapshot (KindTable, KindTableDone, KindCopyDone) is the GTID set of
	// the consistent snapshot the rows were read at.
	Snapshot string
	// KeepRows (KindTable): the copy continues after the key the destination
	// reported, so it keeps the rows it has.
	KeepRows bool
	Txns     []Txn // KindTxns

	DropFirst  bool // KindTable: drop_table_if_exists
	SkipCreate bool // KindTable: skip_create_db_table
	// Referenced (KindTable): foreign keys of other tables refer to the
	// table, which is then created with every index it has.
	Referenced bool
	// Charset and Collation (KindSchema) are the schema's defaults.
	Charset, Collation string
	// SnapshotFile and SnapshotPos (KindTable) are the binlog coordinates
	// of the snapshot, as the server reports them; "" and 0 when it does
	// not.
	SnapshotFile string
	SnapshotPos  uint64
	// LastTable (KindTableDone): no other table follows in this copy.
	LastTable bool
}

// Name is the table's name.
func (c *RowChange) Name() TableName { return TableName{c.Schema, c.Table} }

// TableProgress is how far the full copy of one table got on the destination.
type TableProgress struct {
	Schema, Table string
	Done          bool
	// Snapshot is the GTID set of the earliest snapshot any of the table's
	// rows were copied at: binlog events inside it are already in every
	// copied row. (Its JSON name, in a Kafka job's offsets topic, is older.)
	Snapshot string `json:"Pos"`
	// CopiedUpTo, for a keyed table not done, is the encoded key (EncodeRow)
	// up to which every chunk is committed; nil: from the start.
	CopiedUpTo []byte `json:"Resume,omitempty"`
}

// Name is the table's name.
func (p *TableProgress) Name() TableName { return TableName{p.Schema, p.Table} }

// Checkpoint is what the destination has committed, handed to the source
// so it resumes exactly there.
// The Kafka sink also stores it, as JSON without a session, in the job's
// offsets topic: the JSON names are kept stable.
type Checkpoint struct {
	Session string `json:"session,omitempty"`
	Flavor  string `json:"flavor"`
	// Stage is "" (nothing yet), "full" (copying) or "incr" (binlog).
	Stage string `json:"stage"`
	// GTIDSet: in "incr", every transaction applied so far.
	GTIDSet string          `json:"gtid_set"`
	Tables  []TableProgress `json:"tables,omitempty"`
}

// Stages of a job, also the task events the destination emits.
const (
	StageFull = "full"
	StageIncr = "incr"
)

// Size estimates the memory a transaction's row data takes, in bytes.
func (t *Txn) Size() int {
	n := 64
	for i := range t.Changes {
		n += 32 + RowBytes(t.Changes[i].Before) + RowBytes(t.Changes[i].After)
	}
	if t.DDL != nil {
		n += len(t.DDL.SQL)
	}
	return n
}

// RowBytes estimates the memory a row image takes, in bytes.
func RowBytes(r Row) int {
	n := 0
	for _, v := range r {
		switch x := v.(type) {
		case string:
			n += len(x) + 16
		case []byte:
			n += len(x) + 24
		default:
			n += 16
		}
	}
	return n
}
