package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"
)

// bearerScheme is the one Authorization scheme the API takes, matched
// without regard to case and followed by exactly one space.
const bearerScheme = "bearer "

// The replies to a request without the credential a route needs; each says
// the same whatever was wrong with what was sent.
var (
	errNeedToken = errors.New(`this node requires its api_token or a login: send "Authorization: Bearer <api_token>" or "Authorization: Bearer <login token>"`)
	errNeedLogin = errors.New(`this route needs a login or the api_token: log in with POST /v2/loginWithoutVerifyCode (or /v2/login), ` +
		`then send "Authorization: Bearer <login token>"; scripts send "Authorization: Bearer <api_token>"`)
	errNeedLocal = errors.New(`this route acts on a job's servers with the job's stored credentials: without an api_token or users ` +
		`it is served only to clients on this machine; set api_token on the node (or log in once users exist) and send it`)
	errUsersConfigured = errors.New(`users are configured on this cluster, so every route needs a login or the api_token: ` +
		`send "Authorization: Bearer <login token>" (POST /v2/loginWithoutVerifyCode) or "Authorization: Bearer <api_token>"`)
)

// routeClass says who may call a route before its actions are checked.
type routeClass int

const (
	// classLegacy: the 3.x routes (and any route not listed): the api_token
	// when the node sets one; otherwise anyone, until users are configured
	// (a user other than the first admin exists), then a login or the token.
	classLegacy routeClass = iota
	// classPublic: anyone (health, swagger, login).
	classPublic
	// classLogin: the 4.x routes: a login or the api_token, always.
	classLogin
	// classLocal: routes that act on a job's servers with its stored
	// credentials (repair rows, move a checkpoint, run replacement SQL,
	// change a speed limit): as classLegacy, but without a credential only
	// for a client on this machine, whatever api_addr listens on.
	classLocal
)

// routePolicy is what a route asks of its caller.
type routePolicy struct {
	class routeClass
	// platform: only platform admins (and the api_token) among logins.
	platform bool
	// actions are the actions of which a login's role must hold one; nil:
	// any login.
	actions func(c echo.Context) []string
}

// authenticate finds the request's caller (the api_token, a login, or
// nobody where the route allows it), checks the route's policy and leaves
// the caller for the handler (callerOf).
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		pol := s.policyFor(c)
		if pol.class == classPublic {
			return next(c)
		}
		cl, err := s.identify(c)
		if err != nil {
			return err
		}
		if cl == nil {
			if err := s.openToAnyone(c, pol); err != nil {
				return err
			}
			cl = fullAccess(callerOpen)
		}
		if cl.kind == callerUser {
			if pol.platform && !cl.platformAdmin() {
				return forbidden("%s %s is for the admins of tenant %s", c.Request().Method, c.Request().URL.Path, PlatformTenant)
			}
			if pol.actions != nil {
				if want := pol.actions(c); !cl.canAny(want) {
					return forbidden("your role does not allow %s", strings.Join(want, " or "))
				}
			}
		}
		c.Set(callerKey, cl)
		return next(c)
	}
}

// identify returns the caller the Authorization header proves: the
// api_token (as "Bearer <token>" only), or a login token (bearer or bare,
// as dtle 4.x's UI sends it). Anything else is no credential (nil); a login
// token that does not check out is a 401.
func (s *Server) identify(c echo.Context) (*caller, error) {
	header := c.Request().Header.Get(echo.HeaderAuthorization)
	if header == "" {
		return nil, nil
	}
	tok, bearer := bearerToken(header)
	if bearer && s.cfg.Token != "" {
		sum := sha256.Sum256([]byte(tok))
		if subtle.ConstantTimeCompare(sum[:], s.tokenHash[:]) == 1 {
			return fullAccess(callerToken), nil
		}
	}
	if !bearer {
		tok = header
	}
	if !looksLikeJWT(tok) {
		return nil, nil
	}
	return s.sessionCaller(c.Request().Context(), tok)
}

// openToAnyone is nil when a request without a credential may use a route
// of policy pol, else the 401 that says what it needs.
func (s *Server) openToAnyone(c echo.Context, pol routePolicy) error {
	ctx := c.Request().Context()
	unauthorized := func(err error) error {
		return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Err: err}
	}
	switch {
	case pol.class == classLogin:
		return unauthorized(errNeedLogin)
	case s.cfg.Token != "":
		return unauthorized(errNeedToken)
	case pol.class == classLocal && !isLoopback(c.Request().RemoteAddr):
		return unauthorized(errNeedLocal)
	case s.keys.secret == nil:
		// No logins without the cluster's secret (an embedded API): the
		// 3.x routes stay as they were.
		return nil
	}
	configured, err := s.users.configured(ctx, s.store)
	if err != nil {
		return err
	}
	if configured {
		return unauthorized(errUsersConfigured)
	}
	return nil
}

// sessionCaller checks a login token and returns its user as the caller,
// with the role it has now: a deleted user, or one whose password changed
// since the login, is refused (401).
func (s *Server) sessionCaller(ctx context.Context, raw string) (*caller, error) {
	claims, err := s.parseSession(ctx, raw)
	if err != nil {
		return nil, err
	}
	t, err := s.store.load(ctx, claims.Tenant)
	if err != nil {
		return nil, err
	}
	u := t.users[claims.Username]
	if u == nil || subtle.ConstantTimeCompare([]byte(pwVersion(u.Hash)), []byte(claims.PwVersion)) != 1 {
		return nil, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Err: errSessionInvalid}
	}
	cl := &caller{kind: callerUser, tenant: claims.Tenant, username: claims.Username, role: u.Role, actions: map[string]bool{}, session: raw}
	actions, objectAll, objectUsers, _ := t.role(u.Role)
	if actions == nil {
		cl.actions = nil
	}
	for _, a := range actions {
		cl.actions[a] = true
	}
	cl.objectAll, cl.objectUsers = objectAll, objectUsers
	return cl, nil
}

// role is what a tenant's role grants: its actions (nil: every one, the
// admin role), whether it manages all the tenant's users, or which ones.
// A role that does not exist (deleted from under a user) grants nothing.
func (t *tenantState) role(name string) (actions []string, objectAll bool, objectUsers []string, exists bool) {
	if name == AdminRole {
		return nil, true, nil, true
	}
	r := t.roles[name]
	if r == nil {
		return []string{}, false, nil, false
	}
	return r.Actions, r.ObjectType == objectTypeAll, r.ObjectUsers, true
}

// bearerToken is the token of an "Authorization: Bearer <token>" header
// value; ok is false for any other form (a bare token, another scheme, no
// token, more than one space).
func bearerToken(header string) (token string, ok bool) {
	if len(header) <= len(bearerScheme) || !strings.EqualFold(header[:len(bearerScheme)], bearerScheme) {
		return "", false
	}
	token = header[len(bearerScheme):]
	if strings.TrimLeft(token, " \t") != token {
		return "", false
	}
	return token, true
}

// usersConfiguredTTL is how long a node trusts what it read about users
// being configured; a user made on another node counts within it.
const usersConfiguredTTL = 5 * time.Second

// usersState caches whether users are configured: a user other than the
// first admin (AdminUser of PlatformTenant) exists.
type usersState struct {
	mu     sync.Mutex
	known  bool
	value  bool
	readAt time.Time
}

// configured says whether users are configured, from Nomad at most every
// usersConfiguredTTL. When Nomad cannot say, the last answer stands; with
// none yet, the request is refused (503): the routes are never opened on a
// guess.
func (u *usersState) configured(ctx context.Context, st *authStore) (bool, error) {
	u.mu.Lock()
	if u.known && time.Since(u.readAt) < usersConfiguredTTL {
		v := u.value
		u.mu.Unlock()
		return v, nil
	}
	u.mu.Unlock()
	tenants, err := st.loadAll(ctx)
	u.mu.Lock()
	defer u.mu.Unlock()
	if err != nil {
		if u.known {
			return u.value, nil
		}
		return false, unavailable(errorf("cannot tell whether users are configured (Nomad did not answer); retry: %w", err))
	}
	value := false
	for _, t := range tenants {
		for name := range t.users {
			if t.name != PlatformTenant || name != AdminUser {
				value = true
			}
		}
	}
	u.known, u.value, u.readAt = true, value, time.Now()
	return value, nil
}

// forget makes the next check read Nomad again (after this node changed
// the users).
func (u *usersState) forget() {
	u.mu.Lock()
	u.readAt = time.Time{}
	u.mu.Unlock()
}

// authState is the server's state for users, logins and captchas.
type authState struct {
	keys     keyring
	store    *authStore
	users    usersState
	captchas captchaIDs
	logins   loginLimiter
	// registered holds "METHOD route" of every route, filled once.
	routesOnce sync.Once
	registered map[string]bool
}

// initAuth readies the auth state from the server's config and Nomad client.
func (s *Server) initAuth() {
	s.keys.secret = s.cfg.ClusterSecret
	s.store = &authStore{nomad: s.nomad}
}
