package extractor

import (
	"reflect"
	"testing"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
	"github.com/go-mysql-org/go-mysql/replication"
)

func TestClassifyDDL(t *testing.T) {
	cases := []struct {
		name   string
		sql    string
		kind   ddlKind
		schema string
		tables [][2]string
	}{
		{"create table in the default schema", "CREATE TABLE t1 (id INT PRIMARY KEY)", tableDDL, "", [][2]string{{"db", "t1"}}},
		{"qualified alter", "ALTER TABLE other.t2 ADD COLUMN c INT DEFAULT 5", tableDDL, "", [][2]string{{"other", "t2"}}},
		{"drop several", "DROP TABLE IF EXISTS a, b.c", tableDDL, "", [][2]string{{"db", "a"}, {"b", "c"}}},
		{"rename lists both names", "RENAME TABLE a TO b", tableDDL, "", [][2]string{{"db", "a"}, {"db", "b"}}},
		{"truncate", "TRUNCATE TABLE t", tableDDL, "", [][2]string{{"db", "t"}}},
		{"create index", "CREATE UNIQUE INDEX ix ON t (a)", tableDDL, "", [][2]string{{"db", "t"}}},
		{"drop index", "DROP INDEX ix ON t", tableDDL, "", [][2]string{{"db", "t"}}},
		{"create database", "CREATE DATABASE IF NOT EXISTS newdb", schemaDDL, "newdb", nil},
		{"drop schema", "DROP SCHEMA olddb", schemaDDL, "olddb", nil},
		{"grants are not replicated", "GRANT SELECT ON *.* TO 'u'@'%'", notDDL, "", nil},
		{"users are not replicated", "CREATE USER 'u'@'%' IDENTIFIED BY 'x'", notDDL, "", nil},
		{"temporary tables are not replicated", "CREATE TEMPORARY TABLE tmp (a INT)", notDDL, "", nil},
		{"a sequence is not table DDL", "CREATE OR REPLACE SEQUENCE s1", notDDL, "", nil},
		{"unparsed table DDL falls back to the table kind", "ALTER TABLE t1 ADD SYSTEM VERSIONING", tableDDL, "", nil},
		{"two words that do not parse", "DROP TABLE", tableDDL, "", nil},
		{"one word", "DROP", notDDL, "", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			info := classifyDDL(tc.sql, "db")
			if info.kind != tc.kind || info.schema != tc.schema || !reflect.DeepEqual(info.tables, tc.tables) || (info.kind != notDDL && info.event == "") {
				t.Fatalf("got %+v", info)
			}
		})
	}
}

func TestAfterKey(t *testing.T) {
	where, args := afterKey([]string{"`a`", "`b`"}, []any{"x", "5"})
	if where != "(`a` > ?) OR (`a` = ? AND `b` > ?)" || !reflect.DeepEqual(args, []any{"x", "x", "5"}) {
		t.Fatalf("got %s %v", where, args)
	}
}

func TestMySQLGTID(t *testing.T) {
	sid := []byte{0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1, 0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42, 0x95, 0x62}
	cases := []struct {
		name, tag, want string
	}{
		{"untagged", "", "3e11fa47-71ca-11e1-9e33-c80aa9429562:7"},
		{"tagged (MySQL 8.4)", "Batch", "3e11fa47-71ca-11e1-9e33-c80aa9429562:batch:7"},
	}
	for _, c := range cases {
		got, err := mysqlGTID(&replication.GTIDEvent{SID: sid, GNO: 7, Tag: gomysql.NewTag(c.tag)})
		if err != nil || got != c.want {
			t.Errorf("%s: %q, %v; want %q", c.name, got, err, c.want)
		}
	}
}
