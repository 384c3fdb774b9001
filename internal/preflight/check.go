package preflight

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/filter"
	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// Source runs the checks of a source task against its server.
func Source(ctx context.Context, task *config.Task) *Report {
	r := &Report{TaskName: config.RoleSource}
	db, ok := connect(ctx, r, task.ConnectionConfig)
	if !ok {
		return r
	}
	defer func() { _ = db.Close() }()

	vars, err := mysqlconn.Variables(ctx, db, "log_bin", "binlog_format", "binlog_row_image",
		"binlog_row_value_options", "gtid_mode", "enforce_gtid_consistency", "server_id")
	if err != nil {
		r.Connection = fail("%s", mysqlconn.Redact(err, task.ConnectionConfig))
		return r
	}
	r.Binlog = checkBinlog(vars)
	r.GtidMode = checkGtid(r.Server, vars)
	r.ServerID = checkServerID(vars)
	need := sourcePrivileges(r.Server)
	schemas := doSchemas(task)
	if schemas == nil {
		need = append(need, privilege{[]string{"SELECT"}, "to copy every schema"})
	}
	r.Privileges = checkPrivileges(ctx, db, need, schemas)
	r.RuleWarnings, r.RuleErrors = checkRules(ctx, db, task)
	return r
}

// checkRules matches the task's rules against the source's tables.
func checkRules(ctx context.Context, db *sql.DB, task *config.Task) (warnings, errs []string) {
	rules, err := filter.New(task)
	if err != nil {
		return nil, []string{err.Error()}
	}
	tables, err := tableinfo.ListTables(ctx, db)
	if err != nil {
		return nil, []string{err.Error()}
	}
	warnings = rules.Unmatched(tables)
	for _, n := range tables {
		tg := rules.Table(n.Schema, n.Table)
		if tg == nil || !tg.Reshapes() {
			continue
		}
		t, err := tableinfo.Load(ctx, db, n.Schema, n.Table)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if err := tg.Check(t); err != nil {
			errs = append(errs, err.Error())
		}
	}
	return warnings, errs
}

// Dest runs the checks of a MySQL destination task against its server.
func Dest(ctx context.Context, task *config.Task) *Report {
	r := &Report{TaskName: config.RoleDest}
	db, ok := connect(ctx, r, task.ConnectionConfig)
	if !ok {
		return r
	}
	defer func() { _ = db.Close() }()
	r.Privileges = checkPrivileges(ctx, db, destPrivileges, nil)
	return r
}

func connect(ctx context.Context, r *Report, c *config.MySQLConnection) (*sql.DB, bool) {
	if c == nil {
		r.Connection = fail("mysql_connection_config is missing from the task")
		return nil, false
	}
	db, err := mysqlconn.Open(ctx, c)
	if err != nil {
		r.Connection = fail("%s; check mysql_host, mysql_port, mysql_user and mysql_password", err)
		return nil, false
	}
	srv, err := mysqlconn.Detect(ctx, db)
	if err == nil {
		err = srv.Supported()
	}
	if err != nil {
		_ = db.Close()
		r.Connection = fail("%s", mysqlconn.Redact(err, c))
		return nil, false
	}
	r.Server = srv
	r.Connection = pass()
	return db, true
}

func checkBinlog(vars map[string]string) *Check {
	var problems []string
	if !isOn(vars["log_bin"]) {
		problems = append(problems, "log_bin is OFF: start the server with --log-bin")
	}
	if f := strings.ToUpper(vars["binlog_format"]); f != "ROW" {
		problems = append(problems, fmt.Sprintf("binlog_format is %s: set binlog_format=ROW", f))
	}
	// binlog_row_image appeared in MySQL 5.6 / MariaDB 10.1; older servers log full images.
	if img, ok := vars["binlog_row_image"]; ok && strings.ToUpper(img) != "FULL" {
		problems = append(problems, fmt.Sprintf("binlog_row_image is %s: set binlog_row_image=FULL", img))
	}
	// MySQL 8 can log only the changed part of a JSON value, which a full
	// row image cannot be rebuilt from.
	if strings.Contains(strings.ToUpper(vars["binlog_row_value_options"]), "PARTIAL_JSON") {
		problems = append(problems, "binlog_row_value_options is PARTIAL_JSON: set binlog_row_value_options=''")
	}
	if len(problems) > 0 {
		return fail("%s", strings.Join(problems, "; "))
	}
	return pass()
}

func checkGtid(srv mysqlconn.Server, vars map[string]string) *Check {
	if srv.Flavor == mysqlconn.FlavorMariaDB {
		// MariaDB always writes GTIDs.
		return pass()
	}
	var problems []string
	if m := strings.ToUpper(vars["gtid_mode"]); m != "ON" {
		problems = append(problems, fmt.Sprintf("gtid_mode is %s: set gtid_mode=ON", m))
	}
	if m := strings.ToUpper(vars["enforce_gtid_consistency"]); m != "ON" {
		problems = append(problems, fmt.Sprintf("enforce_gtid_consistency is %s: set enforce_gtid_consistency=ON", m))
	}
	if len(problems) > 0 {
		return fail("%s", strings.Join(problems, "; "))
	}
	return pass()
}

func checkServerID(vars map[string]string) *Check {
	id, err := strconv.ParseUint(vars["server_id"], 10, 32)
	if err != nil || id == 0 {
		return fail("server_id is %q: set server_id to a non-zero value unique among the servers", vars["server_id"])
	}
	return pass()
}

func isOn(v string) bool {
	switch strings.ToUpper(v) {
	case "ON", "1", "YES", "TRUE":
		return true
	}
	return false
}

// privilege is one needed privilege; any of its names satisfies it (MariaDB
// 10.5 renamed REPLICATION CLIENT to BINLOG MONITOR).
type privilege struct {
	names []string
	why   string
}

func sourcePrivileges(srv mysqlconn.Server) []privilege {
	p := []privilege{
		{[]string{"REPLICATION SLAVE"}, "to read the binlog"},
		{[]string{"REPLICATION CLIENT", "BINLOG MONITOR"}, "to read the binlog position"},
	}
	if srv.Flavor == mysqlconn.FlavorMySQL {
		p = append(p, privilege{[]string{"RELOAD"}, "to take a consistent snapshot (FLUSH TABLES WITH READ LOCK)"})
	}
	return p
}

var destPrivileges = []privilege{
	{[]string{"SELECT"}, "to read the checkpoint"},
	{[]string{"INSERT"}, "to write rows"},
	{[]string{"UPDATE"}, "to write rows"},
	{[]string{"DELETE"}, "to write rows"},
	{[]string{"CREATE"}, "to create schemas and tables"},
	{[]string{"DROP"}, "to replicate DROP and TRUNCATE"},
	{[]string{"ALTER"}, "to replicate ALTER TABLE"},
	{[]string{"INDEX"}, "to replicate CREATE/DROP INDEX"},
}

// checkPrivileges needs every privilege globally, and SELECT globally or on
// each schema in selectOn.
func checkPrivileges(ctx context.Context, db *sql.DB, need []privilege, selectOn []string) *Check {
	global, err := grantedPrivileges(ctx, db, "USER_PRIVILEGES", "")
	if err != nil {
		return fail("read privileges: %s", err)
	}
	var missing []string
	for _, p := range need {
		if !slices.ContainsFunc(p.names, func(n string) bool { return global[n] }) {
			missing = append(missing, fmt.Sprintf("%s (%s)", p.names[0], p.why))
		}
	}
	if selectOn != nil && !global["SELECT"] {
		for _, schema := range selectOn {
			onSchema, err := grantedPrivileges(ctx, db, "SCHEMA_PRIVILEGES", schema)
			if err != nil {
				return fail("read privileges: %s", err)
			}
			if !onSchema["SELECT"] {
				missing = append(missing, fmt.Sprintf("SELECT ON `%s`.* (to copy its tables)", schema))
			}
		}
	}
	if len(missing) > 0 {
		return fail("the user lacks %s: GRANT them to the user", strings.Join(missing, ", "))
	}
	return pass()
}

// grantedPrivileges lists the current user's privileges from an
// information_schema table, for one schema when schema is set.
func grantedPrivileges(ctx context.Context, db *sql.DB, table, schema string) (map[string]bool, error) {
	q := "SELECT PRIVILEGE_TYPE FROM information_schema." + table +
		" WHERE GRANTEE = CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')"
	args := []any{}
	if schema != "" {
		q += " AND ? LIKE TABLE_SCHEMA"
		args = append(args, schema)
	}
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer func() { _ = rows.Close() }()
	out := map[string]bool{}
	for rows.Next() {
		var p string
		if err := rows.Scan(&p); err != nil {
			return nil, err
		}
		out[strings.ToUpper(p)] = true
	}
	return out, rows.Err()
}

// doSchemas are the schemas a source must read; nil means all of them.
func doSchemas(task *config.Task) []string {
	if len(task.ReplicateDoDB) == 0 {
		return nil
	}
	var out []string
	for _, r := range task.ReplicateDoDB {
		if r != nil && r.TableSchema != "" {
			out = append(out, r.TableSchema)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}
