package applier

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/change"
	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

// A schema change that arrives with a second statement behind it never
// runs the second: a parsed one is refused before it runs, and one the
// parser cannot read runs on a connection that takes one statement only.
func TestReplicatedDDLRunsOneStatement(t *testing.T) {
	ctx := context.Background()
	db := sandboxtest.OpenDB(t, pair.Dest)
	sandboxtest.Exec(t, db, []string{"DROP DATABASE IF EXISTS ddl_guard", "DROP DATABASE IF EXISTS ddl_prod",
		"CREATE DATABASE ddl_guard", "CREATE DATABASE ddl_prod", "CREATE TABLE ddl_guard.t (id INT PRIMARY KEY)"})
	for i, sql := range []string{
		"ALTER TABLE t COMMENT 'x'; DROP DATABASE ddl_prod",
		"ALTER TABLE t ADD SYSTEM VERSIONING ; DROP DATABASE ddl_prod",
		"DROP TABLE t /* ; */; DROP DATABASE ddl_prod",
	} {
		func() {
			rctx, cancel := context.WithCancel(ctx)
			defer cancel()
			a, err := New(rctx, Config{JobID: fmt.Sprintf("ddl-guard-%d-%d", time.Now().UnixNano(), i), Task: &config.Task{ConnectionConfig: pair.Dest}, Logger: sandboxtest.Logger(t, "dest")})
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = a.Close() }()
			go func() { _ = a.Run(rctx) }()
			if _, err := a.Checkpoint(rctx); err != nil {
				t.Fatal(err)
			}
			if err := a.Handle(rctx, &change.Message{Kind: change.KindCopyDone, Flavor: change.FlavorMariaDB, Snapshot: "0-1-1"}); err != nil {
				t.Fatalf("copy done: %v", err)
			}
			err = a.Handle(rctx, &change.Message{Kind: change.KindTxns, Flavor: change.FlavorMariaDB,
				Txns: []change.Txn{{GTID: "0-1-2", DDL: &change.DDL{Schema: "ddl_guard", SQL: sql}}}})
			if err == nil {
				t.Errorf("%s: applied", sql)
			}
		}()
		var n int
		if err := db.QueryRowContext(ctx, "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = 'ddl_prod'").Scan(&n); err != nil || n != 1 {
			t.Fatalf("%s: ddl_prod is gone (%d, %v)", sql, n, err)
		}
	}
}

// A schema message is data, not SQL: a character set or collation that is
// not a plain name is left out, a name with quotes is quoted, and a system
// schema is refused.
func TestSchemaMessageIsNotSQL(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	db := sandboxtest.OpenDB(t, pair.Dest)
	weird := "ddl_s`; DROP DATABASE ddl_keep; --x"
	sandboxtest.Exec(t, db, []string{"DROP DATABASE IF EXISTS ddl_keep", "CREATE DATABASE ddl_keep",
		"DROP DATABASE IF EXISTS `ddl_s``; DROP DATABASE ddl_keep; --x`", "DROP DATABASE IF EXISTS ddl_cs"})
	a, err := New(ctx, Config{JobID: fmt.Sprintf("schema-msg-%d", time.Now().UnixNano()), Task: &config.Task{ConnectionConfig: pair.Dest},
		Logger: sandboxtest.Logger(t, "dest")})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = a.Close() }()
	go func() { _ = a.Run(ctx) }()
	if _, err := a.Checkpoint(ctx); err != nil {
		t.Fatal(err)
	}
	schema := func(name, cs, coll string) error {
		return a.Handle(ctx, &change.Message{Kind: change.KindSchema, Flavor: change.FlavorMariaDB, Table: &change.Table{Schema: name},
			Charset: cs, Collation: coll})
	}
	if err := schema("ddl_cs", "latin1 COLLATE latin1_bin; DROP DATABASE ddl_keep", "x"); err != nil {
		t.Fatalf("a schema with a hostile charset: %v", err)
	}
	if err := schema(weird, "utf8mb4", "utf8mb4_bin'; DROP DATABASE ddl_keep; --"); err != nil {
		t.Fatalf("a schema with a hostile name: %v", err)
	}
	if err := schema("mysql", "utf8mb4", "utf8mb4_bin"); !errors.Is(err, ErrRefusedDDL) {
		t.Fatalf("the mysql schema: %v, want ErrRefusedDDL", err)
	}
	for _, name := range []string{"ddl_keep", "ddl_cs", weird} {
		var n int
		if err := db.QueryRowContext(context.Background(), "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", name).Scan(&n); err != nil || n != 1 {
			t.Errorf("schema %q: %d, %v", name, n, err)
		}
	}
}
