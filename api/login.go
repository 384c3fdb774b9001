package api

import (
	"errors"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// Logins that fail too often for one user are refused for a while, on each
// node: maxLoginFailures within loginWindow lock the user out of logins
// (not of the api_token) until the window ends.
const (
	maxLoginFailures = 5
	loginWindow      = 10 * time.Minute
	// maxLoginEntries bounds the users a node keeps failures for.
	maxLoginEntries = 10000
)

// errBadLogin is the reply to a login that does not match; it never says
// which of tenant, user or password was wrong.
var errBadLogin = errors.New("login refused: the tenant, user or password is wrong")

// loginLimiter counts the failed logins of each user on this node.
type loginLimiter struct {
	mu      sync.Mutex
	entries map[string]*loginFailures
}

type loginFailures struct {
	count int
	since time.Time
}

// locked returns how long key stays locked out; 0 when it is not.
func (l *loginLimiter) locked(key string) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	f := l.entries[key]
	if f == nil || f.count < maxLoginFailures {
		return 0
	}
	left := time.Until(f.since.Add(loginWindow))
	if left <= 0 {
		delete(l.entries, key)
		return 0
	}
	return left
}

// fail counts a failed login of key.
func (l *loginLimiter) fail(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	if l.entries == nil {
		l.entries = map[string]*loginFailures{}
	}
	f := l.entries[key]
	if f == nil || now.Sub(f.since) > loginWindow {
		if f == nil && len(l.entries) >= maxLoginEntries {
			for k, e := range l.entries {
				if now.Sub(e.since) > loginWindow {
					delete(l.entries, k)
				}
			}
			if len(l.entries) >= maxLoginEntries {
				return
			}
		}
		f = &loginFailures{since: now}
		l.entries[key] = f
	}
	f.count++
}

// succeed forgets key's failures.
func (l *loginLimiter) succeed(key string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	delete(l.entries, key)
}

// loginV2 godoc
//
//	@Summary		Log in (with a captcha)
//	@Description	Checks the captcha (from POST /v2/login/captcha: its id and the digits it shows), then the tenant, user and password, and returns a login token valid for 12 hours on every API node of the cluster: send it as "Authorization: Bearer <token>". A new password or deleting the user ends it. With rsa_private_key_path set, the password may also come RSA-encrypted, as dtle 4.x's scripts send it. Five failed logins of a user within 10 minutes lock its logins on that node until the 10 minutes end (429).
//	@Id				loginV2
//	@Tags			user
//	@Accept			json
//	@Produce		json
//	@Param			user	body		UserLoginReqV2	true	"user login request"
//	@Success		200		{object}	GetUserLoginResV2
//	@Failure		400		{object}	ErrorResponse	"invalid_request: a missing field, a malformed body, or a wrong, expired or used captcha"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: the tenant, user or password is wrong"
//	@Failure		429		{object}	ErrorResponse	"too_many_requests: too many failed logins of this user; retry after Retry-After"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Failure		503		{object}	ErrorResponse	"unavailable: the API runs without the cluster's secret, or cannot read it from Nomad now"
//	@Router			/v2/login [post]
func (s *Server) loginV2(c echo.Context) error {
	var req UserLoginReqV2
	if err := s.decodeJSONBody(c, &req); err != nil {
		return err
	}
	if err := requireFields(map[string]string{"tenant": req.Tenant, "username": req.Username, "password": req.Password,
		"captcha_id": req.CaptchaID, "captcha": req.Captcha}); err != nil {
		return err
	}
	if err := s.checkCaptcha(c.Request().Context(), req.CaptchaID, req.Captcha); err != nil {
		return err
	}
	return s.login(c, req.Tenant, req.Username, req.Password)
}

// loginWithoutVerifyCodeV2 godoc
//
//	@Summary		Log in (without a captcha)
//	@Description	Checks the tenant, user and password and returns a login token valid for 12 hours on every API node of the cluster: send it as "Authorization: Bearer <token>". For scripts; the UI uses /v2/login. With rsa_private_key_path set, the password may also come RSA-encrypted. Five failed logins of a user within 10 minutes lock its logins on that node until the 10 minutes end (429).
//	@Id				LoginWithoutVerifyCodeV2
//	@Tags			user
//	@Accept			json
//	@Produce		json
//	@Param			user	body		LoginWithoutVerifyCodeReqV2	true	"user login request"
//	@Success		200		{object}	GetUserLoginResV2
//	@Failure		400		{object}	ErrorResponse	"invalid_request: a missing field or a malformed body"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: the tenant, user or password is wrong"
//	@Failure		429		{object}	ErrorResponse	"too_many_requests: too many failed logins of this user; retry after Retry-After"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Failure		503		{object}	ErrorResponse	"unavailable: the API runs without the cluster's secret, or cannot read it from Nomad now"
//	@Router			/v2/loginWithoutVerifyCode [post]
func (s *Server) loginWithoutVerifyCodeV2(c echo.Context) error {
	var req LoginWithoutVerifyCodeReqV2
	if err := s.decodeJSONBody(c, &req); err != nil {
		return err
	}
	if err := requireFields(map[string]string{"tenant": req.Tenant, "username": req.Username, "password": req.Password}); err != nil {
		return err
	}
	return s.login(c, req.Tenant, req.Username, req.Password)
}

// login checks a user's password and replies with a new session.
func (s *Server) login(c echo.Context, tenant, user, password string) error {
	ctx := c.Request().Context()
	if _, err := s.keys.key(ctx, jwtKeyInfo); err != nil {
		return err
	}
	key := tenant + "\x00" + user
	if left := s.logins.locked(key); left > 0 {
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(left.Seconds())+1))
		return &Error{Status: http.StatusTooManyRequests, Code: CodeTooManyRequests,
			Err: errorf("too many failed logins of this user; retry in %s, or use the api_token", left.Round(time.Second))}
	}
	hash := ""
	if validTenant(tenant) == nil && validUserName(user) == nil {
		t, err := s.store.load(ctx, tenant)
		if err != nil {
			return err
		}
		if u := t.users[user]; u != nil {
			hash = u.Hash
		}
	}
	if !passwordMatches(hash, s.userPassword(password)) {
		s.logins.fail(key)
		return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Err: errBadLogin}
	}
	s.logins.succeed(key)
	tok, err := s.issueSession(ctx, tenant, user, hash)
	if err != nil {
		return err
	}
	s.log.Info("API login", "tenant", tenant, "username", user)
	return c.JSON(http.StatusOK, GetUserLoginResV2{Data: UserLoginResV2{Token: tok}, Message: MessageOK})
}

// decodeJSONBody reads a JSON body (application/json only) into v; unknown
// fields are ignored and logged, as for every body.
func (s *Server) decodeJSONBody(c echo.Context, v any) error {
	if media, err := mediaType(c); err != nil {
		return err
	} else if media != echo.MIMEApplicationJSON {
		return badRequest("malformed body: send it as application/json")
	}
	body, err := readBody(c)
	if err != nil {
		return err
	}
	return s.decodeBody(c, body, v)
}

// requireFields refuses the first empty one of fields, by name, in the
// order of names.
func requireFields(fields map[string]string) error {
	for _, name := range sortedKeys(fields) {
		if fields[name] == "" {
			return badRequest("%s: required", name)
		}
	}
	return nil
}
