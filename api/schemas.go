package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/secret"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// CodeMySQL: the MySQL server named in the request failed.
const CodeMySQL = "mysql_error"

// listSchemas godoc
//
//	@Summary		List a server's schemas and tables
//	@Description	Connects to a MySQL or MariaDB server and lists its schemas (system schemas left out) with their base tables: what replicate_do_db can name.
//	@Tags			mysql
//	@Produce		json
//	@Param			mysql_host					query		string	true	"host"
//	@Param			mysql_port					query		string	true	"port"
//	@Param			mysql_user					query		string	true	"user"
//	@Param			mysql_password				query		string	true	"password, plain or encrypted; empty (but given) for an account without one"
//	@Param			mysql_character_set			query		string	false	"character set"												default(utf8mb4)
//	@Param			is_mysql_password_encrypted	query		string	false	"true when mysql_password is encrypted with the node's key"	default(false)
//	@Success		200							{object}	SchemasResponse
//	@Failure		400							{object}	ErrorResponse	"invalid_request (a parameter) or mysql_error (the server refused)"
//	@Failure		401							{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		408							{object}	ErrorResponse	"invalid_request: the body came too slowly"
//	@Failure		413							{object}	ErrorResponse	"invalid_request: the body is over the limit"
//	@Failure		500							{object}	ErrorResponse	"internal: see the plugin log"
//	@Security		ApiToken
//	@Router			/v2/mysql/schemas [get]
func (s *Server) listSchemas(c echo.Context) error {
	p, err := params(c)
	if err != nil {
		return err
	}
	conn, err := s.connParam(p, mysqlNames)
	if err != nil {
		return err
	}
	return s.replySchemas(c, conn)
}

// replySchemas answers with a server's schemas and tables.
func (s *Server) replySchemas(c echo.Context, conn *config.MySQLConnection) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), serverTimeout)
	defer cancel()
	schemas, err := readSchemas(ctx, conn)
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Code: CodeMySQL, Err: err}
	}
	return c.JSON(http.StatusOK, SchemasResponse{Schemas: schemas, Message: MessageOK})
}

// serverTimeout bounds the work on a server a data-source request names.
const serverTimeout = 20 * time.Second

// connNames are the parameter names of a server in a request: 3.x's
// (mysql_host, ...) or 4.x's (host, ...).
type connNames struct {
	host, port, user, password, charset, encrypted string
}

var (
	mysqlNames    = connNames{"mysql_host", "mysql_port", "mysql_user", "mysql_password", "mysql_character_set", "is_mysql_password_encrypted"}
	databaseNames = connNames{"host", "port", "user", "password", "character_set", "is_password_encrypted"}
)

// connParam reads a server's connection from the parameters: all four of
// host, port, user and password are required (the password may be empty,
// for an account without one); an encrypted password is decrypted with
// the node's key.
func (s *Server) connParam(p map[string]string, n connNames) (*config.MySQLConnection, error) {
	conn := &config.MySQLConnection{CharacterSet: p[n.charset]}
	var err error
	if conn.Host, err = required(p, n.host); err != nil {
		return nil, err
	}
	port, err := required(p, n.port)
	if err != nil {
		return nil, err
	}
	if conn.Port, err = strconv.Atoi(port); err != nil || conn.Port <= 0 || conn.Port > 65535 {
		return nil, badRequest("%s: must be a number 1-65535, got %q", n.port, port)
	}
	if conn.User, err = required(p, n.user); err != nil {
		return nil, err
	}
	// Required as the contract says; an empty value is an account without
	// a password.
	var given bool
	if conn.Password, given = p[n.password]; !given {
		return nil, badRequest("%s: required (give it empty for an account without a password)", n.password)
	}
	if enc := p[n.encrypted]; enc != "" {
		encrypted, err := strconv.ParseBool(enc)
		if err != nil {
			return nil, badRequest("%s: must be true or false, got %q", n.encrypted, enc)
		}
		if encrypted {
			if conn.Password, err = secret.Decrypt(s.cfg.RSAKey, conn.Password); err != nil {
				return nil, badRequest("%s: %w", n.password, err)
			}
		}
	}
	if conn.CharacterSet == "" {
		conn.CharacterSet = config.DefaultCharacterSet
	}
	return conn, nil
}

func readSchemas(ctx context.Context, conn *config.MySQLConnection) ([]Schema, error) {
	db, err := mysqlconn.Open(ctx, conn)
	if err != nil {
		return nil, err
	}
	defer func() { _ = db.Close() }()
	rows, err := db.QueryContext(ctx, "SHOW DATABASES")
	if err != nil {
		return nil, errorf("show databases on %s: %w", mysqlconn.Address(conn), mysqlconn.Redact(err, conn))
	}
	defer func() { _ = rows.Close() }()
	out := []Schema{}
	index := map[string]int{}
	for rows.Next() {
		var name string
		if err := rows.Scan(&name); err != nil {
			return nil, errorf("show databases: %w", err)
		}
		if tableinfo.SystemSchemas[strings.ToLower(name)] {
			continue
		}
		index[name] = len(out)
		out = append(out, Schema{SchemaName: name, Tables: []SchemaTable{}})
	}
	if err := rows.Err(); err != nil {
		return nil, errorf("show databases: %w", err)
	}
	tables, err := tableinfo.ListTables(ctx, db)
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		if i, ok := index[t.Schema]; ok {
			out[i].Tables = append(out[i].Tables, SchemaTable{TableName: t.Table})
		}
	}
	for i := range out {
		out[i].LegacyTables = out[i].Tables
	}
	return out, nil
}
