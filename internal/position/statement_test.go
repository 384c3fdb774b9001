package position

import (
	"errors"
	"strings"
	"testing"
)

func TestCheckStatement(t *testing.T) {
	cases := []struct {
		name string
		sql  string
		want Kind
		err  string // substring; "" when accepted
	}{
		{"an insert", "INSERT INTO db1.t (id, v) VALUES (1, 'a')", RowChange, ""},
		{"a replace", "REPLACE INTO db1.t VALUES (1, 'a')", RowChange, ""},
		{"an update", "UPDATE db1.t SET v = 'b' WHERE id = 1", RowChange, ""},
		{"a delete", "DELETE FROM db1.t WHERE id = 1", RowChange, ""},
		{"a trailing semicolon is one statement", "DELETE FROM db1.t WHERE id = 1;", RowChange, ""},
		{"a schema change", "ALTER TABLE db1.t ADD COLUMN c INT", SchemaChange, ""},
		{"a new schema", "CREATE DATABASE db2", SchemaChange, ""},
		{"two statements in one item", "DELETE FROM db1.t WHERE id = 1; DROP TABLE db1.u", 0, "2 statements in one item"},
		{"a hidden statement in a MariaDB comment", "INSERT INTO db1.t VALUES (1) /*M!100000 ; DROP TABLE db1.u */", 0, "executable comments"},
		{"a hidden statement in a MySQL comment", "INSERT INTO db1.t VALUES (1) /*!50000 ; DROP TABLE db1.u */", 0, "executable comments"},
		{"not a change", "SELECT * FROM db1.t", 0, "neither a row change"},
		{"a session setting", "SET foreign_key_checks = 1", 0, "neither a row change"},
		{"a grant", "GRANT ALL ON *.* TO x", 0, "neither a row change"},
		{"no schema", "INSERT INTO t VALUES (1)", 0, "name the table \"t\" with its schema"},
		{"dtle's own checkpoint", "UPDATE dtle.checkpoint SET gtid_set = ''", 0, `schema "dtle"`},
		{"read from a system table", "INSERT INTO db1.t SELECT user FROM mysql.user", 0, `schema "mysql"`},
		{"drop a system schema", "DROP DATABASE mysql", 0, `schema "mysql"`},
		{"empty", "  ", 0, "empty statement"},
		{"not SQL", "INSERT INTO", 0, "does not parse"},
		// A DDL node the applier does not replicate would run on its DDL
		// connection: a lock held there wedges every later write.
		{"a table lock", "LOCK TABLES db1.t WRITE", 0, "a LockTables is neither"},
		{"an unlock", "UNLOCK TABLES", 0, "a UnlockTables is neither"},
		{"an optimize", "OPTIMIZE TABLE db1.t", 0, "a OptimizeTable is neither"},
		{"a flashback", "FLASHBACK DATABASE db1 TO db2", 0, "a FlashBackDatabase is neither"},
		{"a recover", "RECOVER TABLE db1.t", 0, "a RecoverTable is neither"},
		{"a repair (TiDB cannot read it)", "REPAIR TABLE db1.t", 0, "does not parse"},
		{"a placement policy", "CREATE PLACEMENT POLICY p1 FOLLOWERS=1", 0, "neither a row change"},
		{"a resource group", "CREATE RESOURCE GROUP rg RU_PER_SEC=100", 0, "neither a row change"},
		{"a sequence", "CREATE SEQUENCE db1.s", 0, "neither a row change"},
		{"a temporary table", "CREATE TEMPORARY TABLE db1.t (a INT)", 0, "temporary table"},
		{"a schema change on a system table", "ALTER TABLE mysql.user ADD COLUMN c INT", 0, `schema "mysql"`},
		{"a rename into a system schema", "RENAME TABLE db1.t TO mysql.t", 0, `schema "mysql"`},
		{"a row change on a system table", "DELETE FROM mysql.user WHERE user = 'x'", 0, `schema "mysql"`},
		{"two schema changes", "ALTER TABLE db1.t ADD COLUMN c INT; DROP DATABASE db2", 0, "2 statements in one item"},
		{"ALTER DATABASE without a name", "ALTER DATABASE CHARACTER SET utf8mb4", 0, "name the schema"},
		{"an index", "CREATE INDEX i ON db1.t (v)", SchemaChange, ""},
		{"a view", "CREATE VIEW db1.v AS SELECT id FROM db1.t", SchemaChange, ""},
		{"a truncate", "TRUNCATE TABLE db1.t", SchemaChange, ""},
		{"a rename", "RENAME TABLE db1.t TO db1.u", SchemaChange, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			k, err := CheckStatement(tc.sql)
			if tc.err == "" {
				if err != nil || k != tc.want {
					t.Fatalf("got %v, %v; want %v", k, err, tc.want)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.err) || !errors.Is(err, ErrBadStatement) {
				t.Fatalf("got %v; want ErrBadStatement saying %q", err, tc.err)
			}
		})
	}
}

func TestCheckDDL(t *testing.T) {
	for _, c := range []struct {
		sql, schema string
		ok          bool
	}{
		{"ALTER TABLE t ADD COLUMN c INT", "app", true},
		{"CREATE TABLE `app`.`t` (id INT PRIMARY KEY) COMMENT 'a\\';DROP DATABASE prod;-- '", "x", true},
		{"CREATE OR REPLACE TABLE t (a INT) WITH SYSTEM VERSIONING", "app", true}, // MariaDB's own: runs alone
		{"ALTER TABLE t COMMENT 'x'; DROP DATABASE prod", "app", false},
		{"DROP DATABASE prod; DROP DATABASE other", "app", false},
		{"INSERT INTO t VALUES (1)", "app", false},
		{"GRANT ALL ON *.* TO 'x'@'%'", "app", false},
		{"SET GLOBAL read_only = 1", "app", false},
		{"DROP TABLE mysql.user", "app", false},
		{"ALTER TABLE user ADD c INT", "mysql", false},
		{"DROP DATABASE dtle", "app", false},
		{"RENAME TABLE app.t TO dtle.gtid_executed", "app", false},
		{"/*!50000 DROP DATABASE dtle */", "app", false},
		{"/*!50000 DROP DATABASE prod */", "app", true}, // an executable comment is read as what it runs
		{"FLUSH PRIVILEGES xyz", "app", false},
		// Only what the extractor replicates runs: a DDL node of another kind
		// would hold the DDL connection (a lock) or change more than tables.
		{"LOCK TABLES app.t WRITE", "app", false},
		{"UNLOCK TABLES", "app", false},
		{"OPTIMIZE TABLE app.t", "app", false},
		{"RECOVER TABLE app.t", "app", false},
		{"FLASHBACK DATABASE app TO app2", "app", false},
		{"CREATE PLACEMENT POLICY p1 FOLLOWERS=1", "app", false},
		{"CREATE RESOURCE GROUP rg RU_PER_SEC=100", "app", false},
		{"CREATE SEQUENCE app.s", "app", false},
		{"CREATE TEMPORARY TABLE t (a INT)", "app", false},
		{"CREATE VIEW v AS SELECT * FROM app.t", "app", true},
		{"DROP VIEW app.v", "app", true},
		{"CREATE INDEX i ON t (a)", "app", true},
		{"DROP INDEX i ON t", "app", true},
		{"TRUNCATE TABLE t", "app", true},
		{"ALTER DATABASE CHARACTER SET utf8mb4", "app", true},
		{"ALTER DATABASE CHARACTER SET utf8mb4", "mysql", false},
		{"ALTER TABLE app.t RENAME TO mysql.x", "app", false},
		// MariaDB's own syntax, which the parser cannot read, is checked by its names.
		{"CREATE OR REPLACE TABLE mysql.user (a INT) WITH SYSTEM VERSIONING", "app", false},
		{"CREATE OR REPLACE TABLE user (a INT) WITH SYSTEM VERSIONING", "mysql", false},
		{"CREATE OR REPLACE TABLE t LIKE `dtle`.`checkpoint` WITH SYSTEM VERSIONING", "app", false},
		{"CREATE OR REPLACE DATABASE `performance_schema` ENGINE=x", "app", false},
	} {
		err := CheckDDL(c.sql, c.schema)
		if (err == nil) != c.ok {
			t.Errorf("%s (in %s): %v, want allowed %v", c.sql, c.schema, err, c.ok)
		}
		if err != nil && !errors.Is(err, ErrRefusedDDL) {
			t.Errorf("%s: %v is not ErrRefusedDDL", c.sql, err)
		}
	}
}

func TestCheckStatementsDoNotMixKinds(t *testing.T) {
	if k, err := CheckStatements(nil); k != 0 || err != nil {
		t.Fatalf("a skip: %v, %v", k, err)
	}
	if k, err := CheckStatements([]string{"INSERT INTO a.t VALUES (1)", "DELETE FROM a.t WHERE id = 2"}); k != RowChange || err != nil {
		t.Fatalf("row changes: %v, %v", k, err)
	}
	_, err := CheckStatements([]string{"INSERT INTO a.t VALUES (1)", "ALTER TABLE a.t ADD COLUMN c INT"})
	if err == nil || !strings.Contains(err.Error(), "sql[1]") || !strings.Contains(err.Error(), "not both") {
		t.Fatalf("a mix: %v", err)
	}
	_, err = CheckStatements([]string{"INSERT INTO a.t VALUES (1)", "SELECT 1"})
	if err == nil || !strings.Contains(err.Error(), "sql[1]") {
		t.Fatalf("the bad item is not named: %v", err)
	}
}

func TestNormalizeGTID(t *testing.T) {
	const uuid = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	cases := []struct {
		name, flavor, in, want string // want "" for an error
	}{
		{"mariadb", "mariadb", " 0-1-42 ", "0-1-42"},
		{"mariadb, another domain", "mariadb", "2-10-7", "2-10-7"},
		{"mariadb set", "mariadb", "0-1-42,1-1-3", ""},
		{"mariadb not numbers", "mariadb", "0-a-42", ""},
		{"mariadb mysql's form", "mariadb", uuid + ":23", ""},
		{"mysql", "mysql", uuid + ":23", uuid + ":23"},
		{"mysql upper case", "mysql", strings.ToUpper(uuid) + ":23", uuid + ":23"},
		{"mysql interval", "mysql", uuid + ":23-25", ""},
		{"mysql set", "mysql", uuid + ":23," + uuid[:35] + "3:1", ""},
		{"empty", "mysql", "", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := NormalizeGTID(tc.flavor, tc.in)
			if tc.want == "" {
				if err == nil || !errors.Is(err, ErrBadPosition) {
					t.Fatalf("got %q, %v; want ErrBadPosition", got, err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

// FuzzCheckStatement: any operator input is checked without panicking, and
// what is accepted is one statement with no executable comment; a schema
// change it takes, CheckDDL takes too.
func FuzzCheckStatement(f *testing.F) {
	f.Add("INSERT INTO db1.t VALUES (1)")
	f.Add("DELETE FROM db1.t WHERE id = 1; DROP TABLE db1.u")
	f.Add("INSERT INTO db1.t VALUES (1) /*M!100000 ; DROP TABLE db1.u */")
	f.Add("ALTER TABLE db1.t ADD COLUMN c INT")
	f.Add("LOCK TABLES db1.t WRITE")
	f.Add("CREATE VIEW db1.v AS SELECT id FROM db1.t")
	f.Fuzz(func(t *testing.T, sql string) {
		kind, err := CheckStatement(sql)
		if err != nil {
			if !errors.Is(err, ErrBadStatement) {
				t.Fatalf("%q: %v is not ErrBadStatement", sql, err)
			}
			return
		}
		if kind != RowChange && kind != SchemaChange {
			t.Fatalf("%q: accepted as kind %d", sql, kind)
		}
		if executableComment.MatchString(sql) {
			t.Fatalf("%q: accepted with an executable comment", sql)
		}
		if err := CheckDDL(sql, ""); kind == SchemaChange && err != nil {
			t.Fatalf("%q: an operator's schema change that a replicated one could not be: %v", sql, err)
		}
	})
}

// FuzzNormalizeGTID: a GTID is read back as itself.
func FuzzNormalizeGTID(f *testing.F) {
	f.Add("mariadb", "0-1-42")
	f.Add("mysql", "3e11fa47-71ca-11e1-9e33-c80aa9429562:23")
	f.Fuzz(func(t *testing.T, flavor, s string) {
		if flavor != "mysql" && flavor != "mariadb" {
			return
		}
		g, err := NormalizeGTID(flavor, s)
		if err != nil {
			return
		}
		if again, err := NormalizeGTID(flavor, g); err != nil || again != g {
			t.Fatalf("%s %q: %q, then %q, %v", flavor, s, g, again, err)
		}
	})
}
