package preflight

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/sandbox"
	"github.com/dtle-io/dtle/internal/sandbox/sandboxtest"
)

var pair *sandbox.Pair

func TestMain(m *testing.M) { sandboxtest.RunTests(m, &pair) }

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), time.Minute)
	t.Cleanup(cancel)
	return c
}

func exec(t *testing.T, c *config.MySQLConnection, stmts ...string) {
	t.Helper()
	db, err := mysqlconn.Open(ctx(t), c)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = db.Close() }()
	for _, s := range stmts {
		if _, err := db.ExecContext(ctx(t), s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}

func TestSourcePasses(t *testing.T) {
	r := Source(ctx(t), &config.Task{ConnectionConfig: pair.Source})
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]*Check{"connection": r.Connection, "privileges": r.Privileges,
		"gtid": r.GtidMode, "server_id": r.ServerID, "binlog": r.Binlog} {
		if c == nil || !c.Validated {
			t.Errorf("%s: %+v", name, c)
		}
	}
	if r.Server.Major == 0 {
		t.Errorf("server not detected: %+v", r.Server)
	}
}

func TestDestPasses(t *testing.T) {
	r := Dest(ctx(t), &config.Task{ConnectionConfig: pair.Dest})
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	if r.Binlog != nil || r.GtidMode != nil || r.ServerID != nil {
		t.Fatalf("source-only checks ran on a destination: %+v", r)
	}
	if r.Connection == nil || !r.Connection.Validated || r.Privileges == nil || !r.Privileges.Validated {
		t.Fatalf("connection and privileges checks did not run and pass: %+v %+v", r.Connection, r.Privileges)
	}
}

// limitedUser creates a user with only the given grants and returns how to
// connect as it.
func limitedUser(t *testing.T, c *config.MySQLConnection, name string, grants ...string) *config.MySQLConnection {
	t.Helper()
	stmts := []string{
		fmt.Sprintf("DROP USER IF EXISTS '%s'@'%%'", name),
		fmt.Sprintf("CREATE USER '%s'@'%%' IDENTIFIED BY 'pw-%s'", name, name),
	}
	for _, g := range grants {
		stmts = append(stmts, fmt.Sprintf("GRANT %s TO '%s'@'%%'", g, name))
	}
	exec(t, c, stmts...)
	u := *c
	u.User, u.Password = name, "pw-"+name
	return &u
}

func TestPrivilegeFailuresNameWhatIsMissing(t *testing.T) {
	cases := []struct {
		name    string
		role    string
		grants  []string
		do      []*config.ReplicateDB
		missing []string
		ok      bool
	}{
		{"source with only select lacks replication", config.RoleSource,
			[]string{"SELECT ON *.*"}, nil, []string{"REPLICATION SLAVE"}, false},
		{"source with replication but no select", config.RoleSource,
			[]string{"REPLICATION SLAVE, REPLICATION CLIENT ON *.*"}, nil, []string{"SELECT"}, false},
		{"schema-level select is enough for a do list", config.RoleSource,
			[]string{"REPLICATION SLAVE, REPLICATION CLIENT ON *.*", "SELECT ON `pf_db1`.*"},
			[]*config.ReplicateDB{{TableSchema: "pf_db1"}}, nil, true},
		{"schema-level select on another schema is not", config.RoleSource,
			[]string{"REPLICATION SLAVE, REPLICATION CLIENT ON *.*", "SELECT ON `pf_db1`.*"},
			[]*config.ReplicateDB{{TableSchema: "pf_db2"}}, []string{"SELECT ON `pf_db2`"}, false},
		{"dest with read only", config.RoleDest, []string{"SELECT ON *.*"}, nil,
			[]string{"INSERT", "CREATE", "ALTER"}, false},
	}
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			server := pair.Source
			if tc.role == config.RoleDest {
				server = pair.Dest
			}
			user := limitedUser(t, server, fmt.Sprintf("pf_user%d", i), tc.grants...)
			task := &config.Task{ConnectionConfig: user, ReplicateDoDB: tc.do}
			var r *Report
			if tc.role == config.RoleSource {
				r = Source(ctx(t), task)
			} else {
				r = Dest(ctx(t), task)
			}
			if tc.ok {
				if err := r.Err(); err != nil {
					t.Fatal(err)
				}
				if r.Privileges == nil || !r.Privileges.Validated {
					t.Fatalf("privileges check did not run and pass: %+v", r.Privileges)
				}
				return
			}
			if r.Privileges == nil || r.Privileges.Validated {
				t.Fatalf("privileges check passed: %+v", r.Privileges)
			}
			for _, m := range tc.missing {
				if !strings.Contains(r.Privileges.Error, m) {
					t.Errorf("%q does not name %s", r.Privileges.Error, m)
				}
			}
		})
	}
}

func TestWrongPasswordIsAConnectionFailureWithoutThePassword(t *testing.T) {
	c := *pair.Source
	c.User, c.Password = "nobody", "very-secret-pw"
	r := Source(ctx(t), &config.Task{ConnectionConfig: &c})
	if r.Connection == nil || r.Connection.Validated {
		t.Fatalf("connection passed: %+v", r.Connection)
	}
	if strings.Contains(r.Connection.Error, "very-secret-pw") || strings.Contains(r.Err().Error(), "very-secret-pw") {
		t.Fatalf("password leaked: %s", r.Connection.Error)
	}
	if r.Binlog != nil {
		t.Fatal("binlog checked without a connection")
	}
}

func TestBinlogSettingsEachNamed(t *testing.T) {
	cases := []struct {
		name string
		opt  sandbox.Options
		want []string
	}{
		{"binlog off", sandbox.Options{Name: "nobinlog", NoBinlog: true}, []string{"log_bin is OFF", "--log-bin"}},
		{"statement format and minimal image", sandbox.Options{Name: "stmt",
			Args: []string{"--log-bin=mysql-bin", "--binlog-format=STATEMENT", "--binlog-row-image=MINIMAL"}},
			[]string{"binlog_format is STATEMENT", "binlog_row_image is MINIMAL"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := sandbox.Start(ctx(t), t.TempDir(), tc.opt)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(s.Stop)
			r := Source(ctx(t), &config.Task{ConnectionConfig: s.Connection()})
			if r.Binlog == nil || r.Binlog.Validated {
				t.Fatalf("binlog check passed: %+v", r.Binlog)
			}
			for _, w := range tc.want {
				if !strings.Contains(r.Binlog.Error, w) {
					t.Errorf("%q lacks %q", r.Binlog.Error, w)
				}
			}
			if r.Connection == nil || !r.Connection.Validated {
				t.Errorf("connection should pass: %+v", r.Connection)
			}
		})
	}
}

func TestCheckBinlogVariables(t *testing.T) {
	cases := []struct {
		name string
		vars map[string]string
		want string // "" means pass
	}{
		{"all good", map[string]string{"log_bin": "ON", "binlog_format": "ROW", "binlog_row_image": "FULL"}, ""},
		{"old server without row image", map[string]string{"log_bin": "1", "binlog_format": "row"}, ""},
		{"partial json", map[string]string{"log_bin": "ON", "binlog_format": "ROW", "binlog_row_image": "FULL",
			"binlog_row_value_options": "PARTIAL_JSON"}, "binlog_row_value_options"},
		{"mixed format", map[string]string{"log_bin": "ON", "binlog_format": "MIXED"}, "binlog_format is MIXED"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := checkBinlog(tc.vars)
			if tc.want == "" {
				if !c.Validated {
					t.Fatalf("failed: %s", c.Error)
				}
				return
			}
			if c.Validated || !strings.Contains(c.Error, tc.want) {
				t.Fatalf("got %+v, want an error naming %q", c, tc.want)
			}
		})
	}
}
