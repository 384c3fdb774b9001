package api

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/labstack/echo/v4"
)

// maxRemarkLen bounds a user's remark.
const maxRemarkLen = 256

// tokenUserName is how current_user names the api_token, which is no user;
// no user can have the name.
const tokenUserName = "(api_token)"

// userRoutes registers the users, roles, tenants and login routes.
func (s *Server) userRoutes(e *echo.Echo) {
	e.POST("/v2/login", s.loginV2)
	e.POST("/v2/loginWithoutVerifyCode", s.loginWithoutVerifyCodeV2)
	e.POST("/v2/login/captcha", s.captchaV2)
	e.GET("/v2/user/list", s.userListV2)
	e.POST("/v2/user/create", s.createUserV2)
	e.POST("/v2/user/update", s.updateUserV2)
	e.POST("/v2/user/reset_password", s.resetPasswordV2)
	e.POST("/v2/user/delete", s.deleteUserV2)
	e.GET("/v2/user/current_user", s.currentUserV2)
	e.GET("/v2/user/list_action", s.listActionV2)
	e.GET("/v2/tenant/list", s.tenantListV2)
	e.GET("/v2/role/list", s.roleListV2)
	e.POST("/v2/role/create", s.createRoleV2)
	e.POST("/v2/role/update", s.updateRoleV2)
	e.POST("/v2/role/delete", s.deleteRoleV2)
}

// visibleTenants reads the tenants the caller sees (only, when filter is
// set, that one).
func (s *Server) visibleTenants(ctx context.Context, cl *caller, filter string) ([]*tenantState, error) {
	if !cl.allTenants() || filter != "" {
		name := cl.tenant
		if filter != "" {
			if !cl.seesTenant(filter) || validTenant(filter) != nil {
				return nil, nil
			}
			name = filter
		}
		t, err := s.store.load(ctx, name)
		if err != nil {
			return nil, err
		}
		return []*tenantState{t}, nil
	}
	return s.store.loadAll(ctx)
}

// checkUserNames checks a request's tenant and user names.
func checkUserNames(tenant, user, userField string) error {
	if err := validTenant(tenant); err != nil {
		return badRequest("tenant: %w", err)
	}
	if err := validUserName(user); err != nil {
		return badRequest("%s: %w", userField, err)
	}
	return nil
}

func noSuchUser(tenant, user string) *Error {
	return notFound("no user %q in tenant %q", user, tenant)
}

// userListV2 godoc
//
//	@Summary		List users
//	@Description	The users the caller's role manages: in its own tenant, or in every tenant for the platform tenant; a role that is not object_type "all" lists only its operation users and the caller. filter_username keeps the names that start with it. Passwords show as "*".
//	@Id				UserListV2
//	@Tags			user
//	@Produce		json
//	@Param			filter_username	query		string	false	"filter user name"
//	@Param			filter_tenant	query		string	false	"filter tenant"
//	@Success		200				{object}	UserListResp
//	@Failure		401				{object}	ErrorResponse	"unauthorized: no login or api_token"
//	@Failure		403				{object}	ErrorResponse	"forbidden: the role does not allow user-list"
//	@Failure		502				{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Security		ApiToken
//	@Router			/v2/user/list [get]
func (s *Server) userListV2(c echo.Context) error {
	cl := callerOf(c)
	prefix := c.QueryParam("filter_username")
	tenants, err := s.visibleTenants(c.Request().Context(), cl, c.QueryParam("filter_tenant"))
	if err != nil {
		return err
	}
	out := UserListResp{UserList: []User{}, Message: MessageOK}
	for _, t := range tenants {
		for _, name := range t.sortedUsers() {
			if cl.reaches(t.name, name) && strings.HasPrefix(name, prefix) {
				out.UserList = append(out.UserList, userReply(t.name, name, t.users[name]))
			}
		}
	}
	return c.JSON(http.StatusOK, out)
}

func userReply(tenant, name string, u *userRecord) User {
	return User{Tenant: tenant, Username: name, Role: u.Role, Remark: u.Remark, CreateTime: u.CreateTime, Password: maskedPassword}
}

// createUserV2 godoc
//
//	@Summary		Create a user
//	@Description	Creates a user in a tenant (which exists from its first user or role on). The caller must see the tenant (its own, or any for the platform tenant), manage the user (role object_type "all" or the user among its operation users) and hold every action of the role it gives. The admin role exists in every tenant. pass_word: 8 to 72 bytes with three of lower-case, upper-case, digits and other characters; it is stored only as a bcrypt hash.
//	@Id				CreateUserV2
//	@Tags			user
//	@Accept			json
//	@Produce		json
//	@Param			user	body		CreateUserReqV2	true	"user info"
//	@Success		200		{object}	MessageResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_request: a missing or bad field, a weak password or no such role"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: no login or api_token"
//	@Failure		403		{object}	ErrorResponse	"forbidden: the caller's role does not allow it"
//	@Failure		409		{object}	ErrorResponse	"conflict: the user exists"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Security		ApiToken
//	@Router			/v2/user/create [post]
func (s *Server) createUserV2(c echo.Context) error {
	var req CreateUserReqV2
	if err := s.decodeJSONBody(c, &req); err != nil {
		return err
	}
	if err := requireFields(map[string]string{"tenant": req.Tenant, "username": req.Username, "role": req.Role, "pass_word": req.PassWord}); err != nil {
		return err
	}
	if err := checkUserNames(req.Tenant, req.Username, "username"); err != nil {
		return err
	}
	if len(req.Remark) > maxRemarkLen {
		return badRequest("remark: at most %d characters", maxRemarkLen)
	}
	pw := s.userPassword(req.PassWord)
	if err := CheckUserPassword(pw); err != nil {
		return badRequest("pass_word: %w", err)
	}
	cl := callerOf(c)
	if !cl.reaches(req.Tenant, req.Username) {
		return forbidden("your role does not manage user %q of tenant %q", req.Username, req.Tenant)
	}
	hash, err := hashPassword(pw)
	if err != nil {
		return err
	}
	err = s.store.update(c.Request().Context(), req.Tenant, func(t *tenantState) error {
		if t.users[req.Username] != nil {
			return &Error{Status: http.StatusConflict, Code: CodeConflict, Err: errorf("user %q of tenant %q exists", req.Username, req.Tenant)}
		}
		if err := cl.mayGive(t, req.Role); err != nil {
			return err
		}
		t.users[req.Username] = &userRecord{Hash: hash, Role: req.Role, Remark: req.Remark, CreateTime: time.Now().UTC().Format(time.RFC3339)}
		return nil
	})
	if err != nil {
		return err
	}
	s.users.forget()
	s.log.Info("API user created", "tenant", req.Tenant, "username", req.Username, "role", req.Role)
	return c.JSON(http.StatusOK, MessageResponse{Message: MessageOK})
}

// mayGive refuses (400 or 403) to give a user of t the role name: it must
// exist, and allow nothing the caller is not allowed.
func (cl *caller) mayGive(t *tenantState, name string) error {
	actions, all, users, exists := t.role(name)
	if !exists {
		return badRequest("role: no role %q in tenant %q", name, t.name)
	}
	if !cl.grants(actions, all, users) {
		return forbidden("you may not give the role %q: it allows more than yours", name)
	}
	return nil
}

// mayManage refuses (404 or 403) a caller who may not change user name of
// t: it must exist, be among the users the caller's role manages, and have
// a role that allows nothing the caller is not allowed.
func (cl *caller) mayManage(t *tenantState, name string) (*userRecord, error) {
	u := t.users[name]
	if u == nil || !cl.seesTenant(t.name) {
		return nil, noSuchUser(t.name, name)
	}
	if !cl.reaches(t.name, name) {
		return nil, forbidden("your role does not manage user %q of tenant %q", name, t.name)
	}
	if actions, all, users, _ := t.role(u.Role); !cl.grants(actions, all, users) {
		return nil, forbidden("user %q of tenant %q has a role that allows more than yours", name, t.name)
	}
	return u, nil
}

// updateUserV2 godoc
//
//	@Summary		Update a user
//	@Description	Sets a user's role and remark. The caller must manage the user, whose role and new role may allow nothing the caller's does not. The first admin keeps the admin role.
//	@Id				UpdateUserV2
//	@Tags			user
//	@Accept			json
//	@Produce		json
//	@Param			user	body		UpdateUserReqV2	true	"user info"
//	@Success		200		{object}	MessageResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_request: a missing or bad field, or no such role"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: no login or api_token"
//	@Failure		403		{object}	ErrorResponse	"forbidden: the caller's role does not allow it"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such user"
//	@Failure		409		{object}	ErrorResponse	"conflict: the tenant changed on another node at the same time; retry"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Security		ApiToken
//	@Router			/v2/user/update [post]
func (s *Server) updateUserV2(c echo.Context) error {
	var req UpdateUserReqV2
	if err := s.decodeJSONBody(c, &req); err != nil {
		return err
	}
	if err := requireFields(map[string]string{"tenant": req.Tenant, "username": req.Username, "role": req.Role}); err != nil {
		return err
	}
	if err := checkUserNames(req.Tenant, req.Username, "username"); err != nil {
		return err
	}
	if len(req.Remark) > maxRemarkLen {
		return badRequest("remark: at most %d characters", maxRemarkLen)
	}
	if req.Tenant == PlatformTenant && req.Username == AdminUser && req.Role != AdminRole {
		return badRequest("role: user %q of tenant %q keeps the role %q", AdminUser, PlatformTenant, AdminRole)
	}
	cl := callerOf(c)
	if !cl.seesTenant(req.Tenant) {
		return noSuchUser(req.Tenant, req.Username)
	}
	err := s.store.update(c.Request().Context(), req.Tenant, func(t *tenantState) error {
		u, err := cl.mayManage(t, req.Username)
		if err != nil {
			return err
		}
		if err := cl.mayGive(t, req.Role); err != nil {
			return err
		}
		u.Role, u.Remark = req.Role, req.Remark
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, MessageResponse{Message: MessageOK})
}

// resetPasswordV2 godoc
//
//	@Summary		Set a user's password
//	@Description	Sets the password of a user: the caller's own, or, with the action user-update, one of the users it manages. current_user_password is the caller's own password (the api_token has none: anything). The user's logins end. Five wrong current_user_password within 10 minutes lock the caller out of this for the rest of them (429).
//	@Id				ResetPasswordV2
//	@Tags			user
//	@Accept			json
//	@Produce		json
//	@Param			user	body		ResetPasswordReqV2	true	"reset user password"
//	@Success		200		{object}	MessageResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_request: a missing or bad field, or a weak password"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: no login or api_token"
//	@Failure		403		{object}	ErrorResponse	"forbidden: a wrong current_user_password, or the caller's role does not allow it"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such user"
//	@Failure		429		{object}	ErrorResponse	"too_many_requests: too many wrong current_user_password"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Security		ApiToken
//	@Router			/v2/user/reset_password [post]
func (s *Server) resetPasswordV2(c echo.Context) error {
	var req ResetPasswordReqV2
	if err := s.decodeJSONBody(c, &req); err != nil {
		return err
	}
	if err := requireFields(map[string]string{"tenant": req.Tenant, "username": req.Username, "password": req.Password,
		"current_user_password": req.CurrentUserPassword}); err != nil {
		return err
	}
	if err := checkUserNames(req.Tenant, req.Username, "username"); err != nil {
		return err
	}
	pw := s.userPassword(req.Password)
	if err := CheckUserPassword(pw); err != nil {
		return badRequest("password: %w", err)
	}
	cl := callerOf(c)
	ctx := c.Request().Context()
	if err := s.checkCallerPassword(c, cl, req.CurrentUserPassword); err != nil {
		return err
	}
	if !cl.seesTenant(req.Tenant) {
		return noSuchUser(req.Tenant, req.Username)
	}
	hash, err := hashPassword(pw)
	if err != nil {
		return err
	}
	err = s.store.update(ctx, req.Tenant, func(t *tenantState) error {
		u := t.users[req.Username]
		if !cl.isSelf(req.Tenant, req.Username) {
			if !cl.can("user-update") {
				return forbidden("setting another user's password needs the action user-update")
			}
			var err error
			if u, err = cl.mayManage(t, req.Username); err != nil {
				return err
			}
		}
		if u == nil {
			return noSuchUser(req.Tenant, req.Username)
		}
		u.Hash = hash
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("API user password set", "tenant", req.Tenant, "username", req.Username)
	return c.JSON(http.StatusOK, MessageResponse{Message: MessageOK})
}

// checkCallerPassword checks a logged-in caller's own password, as a
// request that changes passwords must give it.
func (s *Server) checkCallerPassword(c echo.Context, cl *caller, given string) error {
	if cl.kind != callerUser {
		return nil
	}
	key := cl.tenant + "\x00" + cl.username + "\x00reset"
	if left := s.logins.locked(key); left > 0 {
		return &Error{Status: http.StatusTooManyRequests, Code: CodeTooManyRequests,
			Err: errorf("too many wrong current_user_password; retry in %s", left.Round(time.Second))}
	}
	t, err := s.store.load(c.Request().Context(), cl.tenant)
	if err != nil {
		return err
	}
	hash := ""
	if me := t.users[cl.username]; me != nil {
		hash = me.Hash
	}
	if !passwordMatches(hash, s.userPassword(given)) {
		s.logins.fail(key)
		return forbidden("current_user_password: not your password")
	}
	s.logins.succeed(key)
	return nil
}

// deleteUserV2 godoc
//
//	@Summary		Delete a user
//	@Description	Deletes a user the caller manages (whose role allows nothing the caller's does not); its logins end. Nobody deletes the first admin (admin of platform) or themselves.
//	@Id				DeleteUserV2
//	@Tags			user
//	@Accept			x-www-form-urlencoded
//	@Produce		json
//	@Param			tenant		formData	string	true	"tenant"
//	@Param			username	formData	string	true	"user name"
//	@Success		200			{object}	MessageResponse
//	@Failure		400			{object}	ErrorResponse	"invalid_request: a missing or bad field; the first admin or the caller"
//	@Failure		401			{object}	ErrorResponse	"unauthorized: no login or api_token"
//	@Failure		403			{object}	ErrorResponse	"forbidden: the caller's role does not allow it"
//	@Failure		404			{object}	ErrorResponse	"not_found: no such user"
//	@Failure		502			{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Security		ApiToken
//	@Router			/v2/user/delete [post]
func (s *Server) deleteUserV2(c echo.Context) error {
	p, err := params(c)
	if err != nil {
		return err
	}
	if err := requireFields(map[string]string{"tenant": p["tenant"], "username": p["username"]}); err != nil {
		return err
	}
	tenant, name := p["tenant"], p["username"]
	if err := checkUserNames(tenant, name, "username"); err != nil {
		return err
	}
	cl := callerOf(c)
	switch {
	case tenant == PlatformTenant && name == AdminUser:
		return badRequest("user %q of tenant %q cannot be deleted", AdminUser, PlatformTenant)
	case cl.isSelf(tenant, name):
		return badRequest("you cannot delete yourself")
	case !cl.seesTenant(tenant):
		return noSuchUser(tenant, name)
	}
	err = s.store.update(c.Request().Context(), tenant, func(t *tenantState) error {
		if _, err := cl.mayManage(t, name); err != nil {
			return err
		}
		delete(t.users, name)
		return nil
	})
	if err != nil {
		return err
	}
	s.users.forget()
	s.log.Info("API user deleted", "tenant", tenant, "username", name)
	return c.JSON(http.StatusOK, MessageResponse{Message: MessageOK})
}

// currentUserV2 godoc
//
//	@Summary		The caller
//	@Description	The logged-in user (password "*"). With the api_token: a user named "(api_token)", admin of the platform tenant.
//	@Id				GetCurrentUserV2
//	@Tags			user
//	@Produce		json
//	@Success		200	{object}	CurrentUserResp
//	@Failure		401	{object}	ErrorResponse	"unauthorized: no login or api_token"
//	@Failure		502	{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Security		ApiToken
//	@Router			/v2/user/current_user [get]
func (s *Server) currentUserV2(c echo.Context) error {
	cl := callerOf(c)
	if cl.kind != callerUser {
		return c.JSON(http.StatusOK, CurrentUserResp{Message: MessageOK, CurrentUser: User{Tenant: PlatformTenant, Username: tokenUserName,
			Role: AdminRole, Remark: "this node's api_token", Password: maskedPassword}})
	}
	t, err := s.store.load(c.Request().Context(), cl.tenant)
	if err != nil {
		return err
	}
	u := t.users[cl.username]
	if u == nil {
		return noSuchUser(cl.tenant, cl.username)
	}
	return c.JSON(http.StatusOK, CurrentUserResp{CurrentUser: userReply(cl.tenant, cl.username, u), Message: MessageOK})
}

// listActionV2 godoc
//
//	@Summary		The caller's menus and actions
//	@Description	The menus and operations the caller's role grants, as the UI shows them; the admin role and the api_token get all of them. A role's authority is this list (cut down); each operation's action is what the API checks on its uri.
//	@Id				ListActionV2
//	@Tags			user
//	@Produce		json
//	@Success		200	{object}	ListActionRespV2
//	@Failure		401	{object}	ErrorResponse	"unauthorized: no login or api_token"
//	@Security		ApiToken
//	@Router			/v2/user/list_action [get]
func (s *Server) listActionV2(c echo.Context) error {
	cl := callerOf(c)
	var actions []string
	if cl.actions != nil {
		actions = sortedKeys(cl.actions)
	}
	return c.JSON(http.StatusOK, ListActionRespV2{Authority: menusFor(actions), Message: MessageOK})
}
