package api

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"time"

	"github.com/hashicorp/go-hclog"
	nomad "github.com/hashicorp/nomad/api"
	"github.com/labstack/echo/v4"
	echoswagger "github.com/swaggo/echo-swagger"

	// The generated swagger spec registers itself with swag.
	_ "github.com/dtle-io/dtle/docs"
)

//	@title						dtle API
//	@version					2
//	@description				Create, watch, pause, resume and delete dtle jobs (MySQL/MariaDB migration, sync and Kafka subscription) running on Nomad.
//	@BasePath					/
//	@securityDefinitions.apikey	ApiToken
//	@in							header
//	@name						Authorization
//	@description				"Bearer <api_token>", needed when the node sets api_token.

// Config is what the API server needs.
type Config struct {
	// Addr is where it listens (host:port).
	Addr string
	// Token, when set, is required by every route but /v2/health and the
	// swagger page, as "Authorization: Bearer <token>" (the scheme in any
	// case); a bare token or another scheme is a 401.
	Token string
	// Nomad says how to reach the local Nomad agent.
	Nomad NomadConn
	// TLS, with a certificate, makes the API serve HTTPS only; its CA
	// checks the other nodes' APIs.
	TLS TLSFiles
	// ClusterSecret gives the cluster's secret, which seals the passwords
	// of the jobs the API registers when there is no RSAKey; nil stores
	// them as given (an API embedded without a plugin).
	ClusterSecret func(context.Context) ([]byte, error)
	// RSAKey decrypts is_mysql_password_encrypted passwords; with a key, the
	// jobs the API registers hold passwords only encrypted.
	RSAKey *rsa.PrivateKey
	// AdminPassword, when set, is the password of the first user, made on
	// the first start (no users in Nomad yet); without it that user gets a
	// random password, printed once to the log. Later starts ignore it.
	AdminPassword string
	// Version is the plugin's version.
	Version string
	Logger  hclog.Logger
	// Local is the plugin this server runs in.
	Local Local

	// ReadHeaderTimeout bounds reading a request's headers (0:
	// DefaultReadHeaderTimeout).
	ReadHeaderTimeout time.Duration
	// ReadTimeout bounds reading a whole request, body included (0:
	// DefaultReadTimeout).
	ReadTimeout time.Duration
	// WriteTimeout bounds a request from its headers to the end of the
	// reply (0: DefaultWriteTimeout); each handler gets a deadline a tenth
	// shorter, so it answers before the connection is cut.
	WriteTimeout time.Duration
	// IdleTimeout is how long a keep-alive connection may wait for its next
	// request (0: DefaultIdleTimeout).
	IdleTimeout time.Duration
	// MaxBodyBytes caps a request body of any content type; a larger one is
	// a 413 (0: DefaultMaxBodyBytes).
	MaxBodyBytes int64
}

// Server is the HTTP API of one node.
type Server struct {
	cfg   Config
	log   hclog.Logger
	nomad *nomad.Client
	echo  *echo.Echo
	http  *http.Client
	// tls is the server's TLS config; nil serves plain HTTP.
	tls *tls.Config
	// tokenHash is the SHA-256 of cfg.Token, compared with the presented
	// token's in constant time (hashing first hides the token's length).
	tokenHash [sha256.Size]byte
	// id tells this server from the others: its replies to forwarded
	// requests carry it, so a forward that reaches this server knows.
	id string

	// authState holds users, logins and captchas (auth.go).
	authState
	// verify holds the job comparisons this node runs (verify.go).
	verify verifyRuns
}

// New validates cfg and builds the server; Serve runs it.
func New(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		return nil, errors.New("api: no address to listen on")
	}
	if cfg.Logger == nil {
		cfg.Logger = hclog.NewNullLogger()
	}
	if err := cfg.setLimits(); err != nil {
		return nil, err
	}
	nc, err := cfg.Nomad.Client("")
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	serverTLS, clientTLS, err := cfg.TLS.Load()
	if err != nil {
		return nil, fmt.Errorf("api: %w", err)
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = clientTLS
	s := &Server{cfg: cfg, log: cfg.Logger, nomad: nc, http: &http.Client{Timeout: 10 * time.Second, Transport: transport},
		tls: serverTLS, tokenHash: sha256.Sum256([]byte(cfg.Token)), id: rand.Text()}
	s.initAuth()
	s.echo = s.routes()
	return s, nil
}

// Handler is the server's HTTP handler (for tests).
func (s *Server) Handler() http.Handler { return s.echo }

func (s *Server) routes() *echo.Echo {
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	e.HTTPErrorHandler = s.handleError
	e.Use(s.bound, s.recoverPanics, s.authenticate)

	e.GET("/swagger/*", echoswagger.WrapHandler)
	e.GET("/v2/health", s.health)
	e.GET("/metrics", s.metrics)

	e.POST("/v2/job/:type", s.createJob)
	e.POST("/v2/job/pause", s.pauseJob)
	e.POST("/v2/job/verify", s.startVerify)
	e.POST("/v2/job/speed_limit", s.setSpeedLimit)
	e.GET("/v2/job/speed_limit", s.getSpeedLimit)
	e.GET("/v2/job/verify", s.verifyStatus)
	s.positionRoutes(e)
	e.GET("/v2/job/status", s.jobStatus)
	e.POST("/v2/job/resume", s.resumeJob)
	e.POST("/v2/job/delete", s.deleteJob)
	e.GET("/v2/jobs", s.listJobs)
	e.GET("/v2/job/:type/detail", s.jobDetail)
	e.GET("/v2/validation/job", s.validateJob)
	e.POST("/v2/validation/job", s.validateJob)
	e.GET("/v2/monitor/task", s.monitorTask)
	e.GET("/v2/nodes", s.listNodes)
	e.GET("/v2/mysql/schemas", s.listSchemas)
	e.POST("/v2/log/level", s.setLogLevel)

	// The 4.x UI's job and data-source routes (jobsv4.go).
	s.uiRoutes(e)
	s.reverseRoutes(e)
	e.GET("/v2/job/diagnosis", s.diagnoseJob)

	// Users, roles, tenants and login (users.go).
	s.userRoutes(e)
	return e
}

// Serve listens on cfg.Addr until ctx ends.
func (s *Server) Serve(ctx context.Context) error {
	lc := net.ListenConfig{}
	ln, err := lc.Listen(ctx, "tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("api: listen on api_addr %s: %w", s.cfg.Addr, err)
	}
	return s.ServeListener(ctx, ln)
}

// ServeListener serves on ln, which it closes, until ctx ends.
func (s *Server) ServeListener(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{Handler: s.echo, ReadHeaderTimeout: s.cfg.ReadHeaderTimeout, ReadTimeout: s.cfg.ReadTimeout,
		WriteTimeout: s.cfg.WriteTimeout, IdleTimeout: s.cfg.IdleTimeout}
	ctx, stop := context.WithCancel(ctx)
	defer stop()
	done := make(chan struct{})
	go func() {
		defer close(done)
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	scheme := "http"
	if s.tls != nil {
		scheme = "https"
		ln = tls.NewListener(ln, s.tls)
	}
	s.log.Info("API listening", "addr", ln.Addr().String(), "swagger", scheme+"://"+ln.Addr().String()+"/swagger/index.html")
	s.startBootstrap(ctx)
	err := srv.Serve(ln)
	stop()
	<-done
	s.verify.stop()
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("api: serve: %w", err)
}

// recoverPanics turns a handler panic into a 500, so the server keeps serving.
func (s *Server) recoverPanics(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			if r := recover(); r != nil {
				s.log.Error("API handler panicked", "path", c.Path(), "panic", r)
				err = &Error{Status: http.StatusInternalServerError, Code: CodeInternal, Err: errors.New("internal error; see the plugin log")}
			}
		}()
		return next(c)
	}
}

// handleError writes every failure as ErrorResponse.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		return
	}
	status, body := http.StatusInternalServerError, ErrorResponse{Message: err.Error(), ErrorCode: CodeInternal}
	var ae *Error
	var he *echo.HTTPError
	switch {
	case errors.As(err, &ae):
		status, body.ErrorCode = ae.Status, ae.Code
	case errors.As(err, &he):
		status, body.Message = he.Code, fmt.Sprint(he.Message)
		switch he.Code {
		case http.StatusNotFound:
			body.ErrorCode, body.Message = CodeNotFound, "no such route: "+c.Request().Method+" "+c.Request().URL.Path+"; see /swagger/index.html"
		case http.StatusMethodNotAllowed:
			body.ErrorCode = CodeInvalidRequest
		default:
			body.ErrorCode = CodeInvalidRequest
		}
	}
	if status >= 500 {
		s.log.Error("API request failed", "method", c.Request().Method, "path", c.Request().URL.Path, "error", body.Message)
	} else {
		s.log.Debug("API request refused", "method", c.Request().Method, "path", c.Request().URL.Path, "status", status, "error", body.Message)
	}
	_ = c.JSON(status, body)
}
