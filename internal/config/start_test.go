package config

import (
	"strings"
	"testing"
)

func TestValidateStart(t *testing.T) {
	conn := &MySQLConnection{Host: "db", Port: 3306, User: "u"}
	cases := []struct {
		name    string
		task    Task
		wantErr []string // substrings; none means valid
	}{
		{"file and position", Task{BinlogFile: "mysql-bin.000003", BinlogPos: 1234}, nil},
		{"a file's first event", Task{BinlogFile: "mariadb-bin.000001", BinlogPos: 4}, nil},
		{"a gtid alone", Task{Gtid: "0-1-42"}, nil},
		{"a file needs its position", Task{BinlogFile: "mysql-bin.000003"}, []string{"binlog_pos: required with binlog_file"}},
		{"a position needs its file", Task{BinlogPos: 1234}, []string{"binlog_file: required with binlog_pos"}},
		{"one starting point only", Task{Gtid: "0-1-42", BinlogFile: "mysql-bin.000003", BinlogPos: 1234},
			[]string{"give one starting point"}},
		{"no directory in the file name", Task{BinlogFile: "/var/lib/mysql/mysql-bin.000003", BinlogPos: 1234},
			[]string{"binlog_file: want a binlog file name"}},
		{"no spaces around the file name", Task{BinlogFile: " mysql-bin.000003", BinlogPos: 1234},
			[]string{"binlog_file: want a binlog file name"}},
		{"inside the file's header", Task{BinlogFile: "mysql-bin.000003", BinlogPos: 3}, []string{"binlog_pos: must be between 4"}},
		{"negative position", Task{BinlogFile: "mysql-bin.000003", BinlogPos: -5}, []string{"binlog_pos: must be between 4"}},
		{"beyond what an event header holds", Task{BinlogFile: "mysql-bin.000003", BinlogPos: 1 << 32}, []string{"binlog_pos: must be between 4"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			task := tc.task
			task.ConnectionConfig = conn
			err := task.Validate(RoleSource)
			if len(tc.wantErr) == 0 {
				if err != nil {
					t.Fatalf("want valid, got %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("want error containing %q, got nil", tc.wantErr)
			}
			for _, w := range tc.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

// A binlog file name reaches MySQL inside SHOW BINLOG EVENTS, which takes
// no parameters: anything but a plain name is refused.
func TestCheckBinlogFileRefusesHostileNames(t *testing.T) {
	for _, bad := range []string{"", "a'b", "x' OR '1'='1", `a"b`, "a`b", "a;b", "../mysql-bin.000001", `a\b`, "a b", "a\x00b", "a\nb", ".", ".."} {
		if CheckBinlogFile(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for _, ok := range []string{"mysql-bin.000042", "binlog.000001", "db1-relay_bin.123456"} {
		if err := CheckBinlogFile(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
}
