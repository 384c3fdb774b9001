package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// setLogLevel godoc
//
//	@Summary		Change the log level
//	@Description	Changes this node's dtle plugin log level at run time, then has the node's Nomad agent reload its configuration (as 3.x did with SIGHUP), so that a log_level raised in the agent's file takes effect too: the agent passes on only the plugin lines its own log_level lets through.
//	@Tags			log
//	@Accept			x-www-form-urlencoded,json
//	@Produce		json
//	@Param			dtle_log_level	formData	string	true	"new level"	Enums(TRACE, DEBUG, INFO, WARN, ERROR)
//	@Success		200				{object}	LogLevelResponse
//	@Failure		400				{object}	ErrorResponse	"invalid_request: a bad or missing parameter, or a malformed body; the message names it"
//	@Failure		401				{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		408				{object}	ErrorResponse	"invalid_request: the body came too slowly"
//	@Failure		413				{object}	ErrorResponse	"invalid_request: the body is over the limit"
//	@Failure		500				{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		503				{object}	ErrorResponse	"unavailable: no plugin in this server"
//	@Security		ApiToken
//	@Router			/v2/log/level [post]
func (s *Server) setLogLevel(c echo.Context) error {
	p, err := params(c)
	if err != nil {
		return err
	}
	level, err := required(p, "dtle_log_level")
	if err != nil {
		return err
	}
	level = strings.ToUpper(level)
	switch level {
	case "TRACE", "DEBUG", "INFO", "WARN", "ERROR":
	default:
		return badRequest("dtle_log_level: %q is not one of TRACE, DEBUG, INFO, WARN, ERROR", level)
	}
	if s.cfg.Local == nil {
		return unavailable(errorf("no plugin to set the level of"))
	}
	if err := s.cfg.Local.SetLogLevel(level); err != nil {
		return badRequest("dtle_log_level: %w", err)
	}
	s.log.Info("log level changed", "level", level)
	if err := s.cfg.Local.ReloadAgent(); err != nil {
		s.log.Warn("the Nomad agent did not reload its configuration: its own log_level stays as it was; "+
			"set log_level in its file and send it SIGHUP (or restart it)", "error", err)
	}
	return c.JSON(http.StatusOK, LogLevelResponse{DtleLogLevel: level, Message: MessageOK})
}

// health godoc
//
//	@Summary		Health
//	@Description	Whether this API server is up and reaches its Nomad agent. Needs no token.
//	@Tags			node
//	@Produce		json
//	@Success		200	{object}	HealthResponse
//	@Failure		503	{object}	HealthResponse
//	@Failure		500	{object}	ErrorResponse	"internal: see the plugin log"
//	@Router			/v2/health [get]
func (s *Server) health(c echo.Context) error {
	out := HealthResponse{Status: "ok", Version: s.cfg.Version, Nomad: "ok"}
	q, cancel := s.query(c)
	defer cancel()
	q.PerPage = 1
	if _, _, err := s.nomad.Nodes().List(q); err != nil {
		out.Status, out.Nomad = "degraded", err.Error()
		return c.JSON(http.StatusServiceUnavailable, out)
	}
	return c.JSON(http.StatusOK, out)
}
