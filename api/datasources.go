package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/mysqlconn"
	"github.com/dtle-io/dtle/internal/tableinfo"
)

// The 4.x data-source routes: /v2/database/* name the server with host,
// port, user, password and database_type; their /v2/mysql/* aliases with
// 3.x's mysql_host, mysql_port, mysql_user and mysql_password. Passwords
// may come in the query string, as the UI sends them, or in a form or JSON
// body; the API never logs a query string. is_password_encrypted (or
// is_mysql_password_encrypted) keeps the password out of the clear.

// databaseConn reads the server a /v2/database request names; its
// database_type must be MySQL or MariaDB.
func (s *Server) databaseConn(c echo.Context) (map[string]string, *config.MySQLConnection, error) {
	p, err := params(c)
	if err != nil {
		return nil, nil, err
	}
	if err := checkDBType("database_type", p["database_type"], true); err != nil {
		return nil, nil, badRequest("%w", err)
	}
	conn, err := s.connParam(p, databaseNames)
	return p, conn, err
}

// listDatabaseSchemas godoc
//
//	@Summary		List a server's schemas and tables (4.x)
//	@Description	As GET /v2/mysql/schemas, with the 4.x parameter names. database_type is MySQL or MariaDB (any case); any other (Oracle) is a 400 saying it is not supported.
//	@Tags			database (4.x)
//	@Produce		json
//	@Param			database_type			query		string	true	"MySQL or MariaDB"
//	@Param			host					query		string	true	"host"
//	@Param			port					query		int		true	"port"
//	@Param			user					query		string	true	"user"
//	@Param			password				query		string	true	"password, plain or encrypted; empty (but given) for an account without one"
//	@Param			service_name			query		string	false	"Oracle's; ignored"
//	@Param			character_set			query		string	false	"character set"											default(utf8mb4)
//	@Param			is_password_encrypted	query		bool	false	"true when password is encrypted with the node's key"	default(false)
//	@Success		200						{object}	SchemasResponse
//	@Failure		400						{object}	ErrorResponse	"invalid_request (a parameter, an unsupported database_type) or mysql_error (the server refused)"
//	@Failure		401						{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		500						{object}	ErrorResponse	"internal: see the plugin log"
//	@Security		ApiToken
//	@Router			/v2/database/schemas [get]
func (s *Server) listDatabaseSchemas(c echo.Context) error {
	_, conn, err := s.databaseConn(c)
	if err != nil {
		return err
	}
	return s.replySchemas(c, conn)
}

// listDatabaseColumns godoc
//
//	@Summary		List a table's columns (4.x)
//	@Description	The columns of a table, in their order: what column_map_from can name. database_type is MySQL or MariaDB (any case); any other (Oracle) is a 400 saying it is not supported. A table that does not exist is a 404.
//	@Tags			database (4.x)
//	@Produce		json
//	@Param			database_type			query		string	true	"MySQL or MariaDB"
//	@Param			host					query		string	true	"host"
//	@Param			port					query		int		true	"port"
//	@Param			user					query		string	true	"user"
//	@Param			password				query		string	true	"password, plain or encrypted; empty (but given) for an account without one"
//	@Param			schema					query		string	true	"schema"
//	@Param			table					query		string	true	"table"
//	@Param			service_name			query		string	false	"Oracle's; ignored"
//	@Param			character_set			query		string	false	"character set"											default(utf8mb4)
//	@Param			is_password_encrypted	query		bool	false	"true when password is encrypted with the node's key"	default(false)
//	@Success		200						{object}	ListColumnsRespV2
//	@Failure		400						{object}	ErrorResponse	"invalid_request (a parameter, an unsupported database_type) or mysql_error (the server refused)"
//	@Failure		401						{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		404						{object}	ErrorResponse	"not_found: no such table"
//	@Failure		500						{object}	ErrorResponse	"internal: see the plugin log"
//	@Security		ApiToken
//	@Router			/v2/database/columns [get]
func (s *Server) listDatabaseColumns(c echo.Context) error {
	p, conn, err := s.databaseConn(c)
	if err != nil {
		return err
	}
	return s.replyColumns(c, conn, p, "schema", "table")
}

// listMySQLColumns godoc
//
//	@Summary		List a table's columns (4.x, 3.x parameter names)
//	@Description	As GET /v2/database/columns, with the 3.x parameter names.
//	@Tags			mysql
//	@Produce		json
//	@Param			mysql_host					query		string	true	"host"
//	@Param			mysql_port					query		string	true	"port"
//	@Param			mysql_user					query		string	true	"user"
//	@Param			mysql_password				query		string	true	"password, plain or encrypted; empty (but given) for an account without one"
//	@Param			mysql_schema				query		string	true	"schema"
//	@Param			mysql_table					query		string	true	"table"
//	@Param			mysql_character_set			query		string	false	"character set"												default(utf8mb4)
//	@Param			is_mysql_password_encrypted	query		string	false	"true when mysql_password is encrypted with the node's key"	default(false)
//	@Success		200							{object}	ListColumnsRespV2
//	@Failure		400							{object}	ErrorResponse	"invalid_request (a parameter) or mysql_error (the server refused)"
//	@Failure		401							{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		404							{object}	ErrorResponse	"not_found: no such table"
//	@Failure		500							{object}	ErrorResponse	"internal: see the plugin log"
//	@Security		ApiToken
//	@Router			/v2/mysql/columns [get]
func (s *Server) listMySQLColumns(c echo.Context) error {
	p, err := params(c)
	if err != nil {
		return err
	}
	conn, err := s.connParam(p, mysqlNames)
	if err != nil {
		return err
	}
	return s.replyColumns(c, conn, p, "mysql_schema", "mysql_table")
}

// replyColumns answers with the columns of the table the parameters
// schemaParam and tableParam name.
func (s *Server) replyColumns(c echo.Context, conn *config.MySQLConnection, p map[string]string, schemaParam, tableParam string) error {
	schema, err := required(p, schemaParam)
	if err != nil {
		return err
	}
	table, err := required(p, tableParam)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), serverTimeout)
	defer cancel()
	db, err := mysqlconn.Open(ctx, conn)
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Code: CodeMySQL, Err: err}
	}
	defer func() { _ = db.Close() }()
	t, err := tableinfo.Load(ctx, db, schema, table)
	switch {
	case errors.Is(err, tableinfo.ErrNoTable):
		return notFound("%s.%s: no such table on %s", schema, table, mysqlconn.Address(conn))
	case err != nil:
		return &Error{Status: http.StatusBadRequest, Code: CodeMySQL, Err: mysqlconn.Redact(err, conn)}
	}
	out := ListColumnsRespV2{Columns: make([]string, 0, len(t.Columns)), Message: MessageOK}
	for _, col := range t.Columns {
		out.Columns = append(out.Columns, col.Name)
	}
	return c.JSON(http.StatusOK, out)
}

// databaseConnection godoc
//
//	@Summary		Check that a server can be reached (4.x)
//	@Description	Connects to the server as the user and pings it. database_type is MySQL or MariaDB (any case); any other (Oracle) is a 400 saying it is not supported.
//	@Tags			database (4.x)
//	@Produce		json
//	@Param			database_type			query		string	true	"MySQL or MariaDB"
//	@Param			host					query		string	true	"host"
//	@Param			port					query		int		true	"port"
//	@Param			user					query		string	true	"user"
//	@Param			password				query		string	true	"password, plain or encrypted; empty (but given) for an account without one"
//	@Param			service_name			query		string	false	"Oracle's; ignored"
//	@Param			is_password_encrypted	query		bool	false	"true when password is encrypted with the node's key"	default(false)
//	@Success		200						{object}	MessageResponse
//	@Failure		400						{object}	ErrorResponse	"invalid_request (a parameter, an unsupported database_type) or mysql_error (the server refused)"
//	@Failure		401						{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		500						{object}	ErrorResponse	"internal: see the plugin log"
//	@Security		ApiToken
//	@Router			/v2/database/instance_connection [get]
func (s *Server) databaseConnection(c echo.Context) error {
	_, conn, err := s.databaseConn(c)
	if err != nil {
		return err
	}
	return s.replyConnection(c, conn)
}

// mysqlConnection godoc
//
//	@Summary		Check that a server can be reached (4.x, 3.x parameter names)
//	@Description	As GET /v2/database/instance_connection, with the 3.x parameter names.
//	@Tags			mysql
//	@Produce		json
//	@Param			mysql_host					query		string	true	"host"
//	@Param			mysql_port					query		string	true	"port"
//	@Param			mysql_user					query		string	true	"user"
//	@Param			mysql_password				query		string	true	"password, plain or encrypted; empty (but given) for an account without one"
//	@Param			is_mysql_password_encrypted	query		string	false	"true when mysql_password is encrypted with the node's key"	default(false)
//	@Success		200							{object}	MessageResponse
//	@Failure		400							{object}	ErrorResponse	"invalid_request (a parameter) or mysql_error (the server refused)"
//	@Failure		401							{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		500							{object}	ErrorResponse	"internal: see the plugin log"
//	@Security		ApiToken
//	@Router			/v2/mysql/instance_connection [get]
func (s *Server) mysqlConnection(c echo.Context) error {
	p, err := params(c)
	if err != nil {
		return err
	}
	conn, err := s.connParam(p, mysqlNames)
	if err != nil {
		return err
	}
	return s.replyConnection(c, conn)
}

// replyConnection answers ok when the server lets the user in.
func (s *Server) replyConnection(c echo.Context, conn *config.MySQLConnection) error {
	ctx, cancel := context.WithTimeout(c.Request().Context(), serverTimeout)
	defer cancel()
	db, err := mysqlconn.Open(ctx, conn)
	if err != nil {
		return &Error{Status: http.StatusBadRequest, Code: CodeMySQL, Err: err}
	}
	_ = db.Close()
	return c.JSON(http.StatusOK, MessageResponse{Message: MessageOK})
}
