package api

import (
	"net/http"
	"slices"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
)

// objectTypeAll is the object type of a role that manages every user of
// its tenant (every tenant for a role of PlatformTenant).
const objectTypeAll = "all"

// maxObjectTypeLen bounds a role's object type.
const maxObjectTypeLen = 32

// tenantListV2 godoc
//
//	@Summary		List tenants
//	@Description	The tenants the caller sees: every tenant that has users or roles, for the platform tenant and the api_token; its own otherwise.
//	@Id				TenantListV2
//	@Tags			user
//	@Produce		json
//	@Success		200	{object}	TenantListResp
//	@Failure		401	{object}	ErrorResponse	"unauthorized: no login or api_token"
//	@Failure		403	{object}	ErrorResponse	"forbidden: the role does not allow user-list_tenant"
//	@Failure		502	{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Security		ApiToken
//	@Router			/v2/tenant/list [get]
func (s *Server) tenantListV2(c echo.Context) error {
	cl := callerOf(c)
	out := TenantListResp{TenantList: []string{cl.tenant}, Message: MessageOK}
	if cl.allTenants() {
		names, err := s.store.tenants(c.Request().Context())
		if err != nil {
			return err
		}
		if !slices.Contains(names, PlatformTenant) {
			names = append([]string{PlatformTenant}, names...)
		}
		out.TenantList = names
	}
	return c.JSON(http.StatusOK, out)
}

// roleListV2 godoc
//
//	@Summary		List roles
//	@Description	The roles of the tenants the caller sees (filter_tenant: of that one), the admin role of each first. authority is the JSON of the menus and operations the role grants.
//	@Id				RoleListV2
//	@Tags			Role
//	@Produce		json
//	@Param			filter_tenant	query		string	false	"filter tenant"
//	@Success		200				{object}	RoleListResp
//	@Failure		401				{object}	ErrorResponse	"unauthorized: no login or api_token"
//	@Failure		403				{object}	ErrorResponse	"forbidden: the role does not allow auth-list"
//	@Failure		502				{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Security		ApiToken
//	@Router			/v2/role/list [get]
func (s *Server) roleListV2(c echo.Context) error {
	cl := callerOf(c)
	tenants, err := s.visibleTenants(c.Request().Context(), cl, c.QueryParam("filter_tenant"))
	if err != nil {
		return err
	}
	out := RoleListResp{RoleList: []Role{}, Message: MessageOK}
	for _, t := range tenants {
		if t.index == 0 && t.name != cl.tenant {
			continue // no such tenant
		}
		out.RoleList = append(out.RoleList, Role{Tenant: t.name, Name: AdminRole, Authority: authorityString(nil),
			ObjectType: objectTypeAll, ObjectUsers: []string{}})
		for _, name := range t.sortedRoles() {
			r := t.roles[name]
			users := r.ObjectUsers
			if users == nil {
				users = []string{}
			}
			out.RoleList = append(out.RoleList, Role{Tenant: t.name, Name: name, Authority: authorityString(r.Actions),
				ObjectType: r.ObjectType, ObjectUsers: users})
		}
	}
	return c.JSON(http.StatusOK, out)
}

// roleRequest reads and checks the body of role create and update into
// the role to store.
func (s *Server) roleRequest(c echo.Context) (RoleReqV2, *roleRecord, error) {
	var req RoleReqV2
	if err := s.decodeJSONBody(c, &req); err != nil {
		return req, nil, err
	}
	if err := requireFields(map[string]string{"tenant": req.Tenant, "name": req.Name}); err != nil {
		return req, nil, err
	}
	if err := checkUserNames(req.Tenant, req.Name, "name"); err != nil {
		return req, nil, err
	}
	actions, err := parseAuthority(req.Authority)
	if err != nil {
		return req, nil, badRequest("%w", err)
	}
	if len(req.OperationObjectType) > maxObjectTypeLen {
		return req, nil, badRequest("operation_object_type: at most %d characters", maxObjectTypeLen)
	}
	users := []string{}
	for _, u := range req.OperationUsers {
		tenant, name, ok := strings.Cut(u, ":")
		if !ok || validTenant(tenant) != nil || validUserName(name) != nil {
			return req, nil, badRequest("operation_users: %q is not \"tenant:user\"", u)
		}
		if tenant != req.Tenant && req.Tenant != PlatformTenant {
			return req, nil, badRequest("operation_users: %q is not of tenant %q; a role manages users of its own tenant", u, req.Tenant)
		}
		if !slices.Contains(users, u) {
			users = append(users, u)
		}
	}
	sort.Strings(users)
	return req, &roleRecord{Actions: actions, ObjectType: req.OperationObjectType, ObjectUsers: users}, nil
}

// createRoleV2 godoc
//
//	@Summary		Create a role
//	@Description	Creates a role in a tenant the caller sees. authority is the JSON of the menus whose operations it grants (as /v2/user/list_action returns them; only operations count, by their action); operation_object_type "all" lets it manage every user of its tenant, anything else only operation_users ("tenant:user"). It may allow nothing the caller's role does not. Every tenant has the role admin already.
//	@Id				CreateRoleV2
//	@Tags			Role
//	@Accept			json
//	@Produce		json
//	@Param			Role	body		RoleReqV2	true	"Role info"
//	@Success		200		{object}	MessageResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_request: a missing or bad field, or an unknown menu or action"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: no login or api_token"
//	@Failure		403		{object}	ErrorResponse	"forbidden: the caller's role does not allow it"
//	@Failure		409		{object}	ErrorResponse	"conflict: the role exists"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Security		ApiToken
//	@Router			/v2/role/create [post]
func (s *Server) createRoleV2(c echo.Context) error {
	req, role, err := s.roleRequest(c)
	if err != nil {
		return err
	}
	cl := callerOf(c)
	switch {
	case req.Name == AdminRole:
		return &Error{Status: http.StatusConflict, Code: CodeConflict, Err: errorf("role %q exists in every tenant", AdminRole)}
	case !cl.seesTenant(req.Tenant):
		return forbidden("you may not manage tenant %q", req.Tenant)
	case !cl.grants(role.Actions, role.ObjectType == objectTypeAll, role.ObjectUsers):
		return forbidden("the role would allow more than yours")
	}
	err = s.store.update(c.Request().Context(), req.Tenant, func(t *tenantState) error {
		if t.roles[req.Name] != nil {
			return &Error{Status: http.StatusConflict, Code: CodeConflict, Err: errorf("role %q of tenant %q exists", req.Name, req.Tenant)}
		}
		t.roles[req.Name] = role
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("API role created", "tenant", req.Tenant, "role", req.Name)
	return c.JSON(http.StatusOK, MessageResponse{Message: MessageOK})
}

// updateRoleV2 godoc
//
//	@Summary		Update a role
//	@Description	Replaces a role's authority, object type and operation users, as for create. The role must allow nothing the caller's does not, before and after. The admin role cannot be changed.
//	@Id				UpdateRoleV2
//	@Tags			Role
//	@Accept			json
//	@Produce		json
//	@Param			Role	body		RoleReqV2	true	"Role info"
//	@Success		200		{object}	MessageResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_request: a missing or bad field, or an unknown menu or action"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: no login or api_token"
//	@Failure		403		{object}	ErrorResponse	"forbidden: the admin role, or the caller's role does not allow it"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such role"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Security		ApiToken
//	@Router			/v2/role/update [post]
func (s *Server) updateRoleV2(c echo.Context) error {
	req, role, err := s.roleRequest(c)
	if err != nil {
		return err
	}
	cl := callerOf(c)
	switch {
	case req.Name == AdminRole:
		return forbidden("the role %q cannot be changed", AdminRole)
	case !cl.seesTenant(req.Tenant):
		return noSuchRole(req.Tenant, req.Name)
	case !cl.grants(role.Actions, role.ObjectType == objectTypeAll, role.ObjectUsers):
		return forbidden("the role would allow more than yours")
	}
	err = s.store.update(c.Request().Context(), req.Tenant, func(t *tenantState) error {
		old := t.roles[req.Name]
		if old == nil {
			return noSuchRole(req.Tenant, req.Name)
		}
		if !cl.grants(old.Actions, old.ObjectType == objectTypeAll, old.ObjectUsers) {
			return forbidden("role %q allows more than yours", req.Name)
		}
		t.roles[req.Name] = role
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("API role updated", "tenant", req.Tenant, "role", req.Name)
	return c.JSON(http.StatusOK, MessageResponse{Message: MessageOK})
}

func noSuchRole(tenant, name string) *Error {
	return notFound("no role %q in tenant %q", name, tenant)
}

// deleteRoleV2 godoc
//
//	@Summary		Delete a role
//	@Description	Deletes a role no user has. The admin role cannot be deleted.
//	@Id				DeleteRoleV2
//	@Tags			Role
//	@Accept			x-www-form-urlencoded
//	@Produce		json
//	@Param			tenant	formData	string	true	"tenant"
//	@Param			name	formData	string	true	"role name"
//	@Success		200		{object}	MessageResponse
//	@Failure		400		{object}	ErrorResponse	"invalid_request: a missing or bad field"
//	@Failure		401		{object}	ErrorResponse	"unauthorized: no login or api_token"
//	@Failure		403		{object}	ErrorResponse	"forbidden: the admin role, or the caller's role does not allow it"
//	@Failure		404		{object}	ErrorResponse	"not_found: no such role"
//	@Failure		409		{object}	ErrorResponse	"conflict: users have the role"
//	@Failure		502		{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Security		ApiToken
//	@Router			/v2/role/delete [post]
func (s *Server) deleteRoleV2(c echo.Context) error {
	p, err := params(c)
	if err != nil {
		return err
	}
	if err := requireFields(map[string]string{"tenant": p["tenant"], "name": p["name"]}); err != nil {
		return err
	}
	tenant, name := p["tenant"], p["name"]
	if err := checkUserNames(tenant, name, "name"); err != nil {
		return err
	}
	cl := callerOf(c)
	switch {
	case name == AdminRole:
		return forbidden("the role %q cannot be deleted", AdminRole)
	case !cl.seesTenant(tenant):
		return noSuchRole(tenant, name)
	}
	err = s.store.update(c.Request().Context(), tenant, func(t *tenantState) error {
		r := t.roles[name]
		if r == nil {
			return noSuchRole(tenant, name)
		}
		if !cl.grants(r.Actions, r.ObjectType == objectTypeAll, r.ObjectUsers) {
			return forbidden("role %q allows more than yours", name)
		}
		var holders []string
		for _, u := range t.sortedUsers() {
			if t.users[u].Role == name {
				holders = append(holders, u)
			}
		}
		if len(holders) > 0 {
			return &Error{Status: http.StatusConflict, Code: CodeConflict,
				Err: errorf("role %q of tenant %q is the role of %s; give them another first", name, tenant, strings.Join(holders, ", "))}
		}
		delete(t.roles, name)
		return nil
	})
	if err != nil {
		return err
	}
	s.log.Info("API role deleted", "tenant", tenant, "role", name)
	return c.JSON(http.StatusOK, MessageResponse{Message: MessageOK})
}
