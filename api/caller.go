package api

import (
	"net/http"
	"slices"

	"github.com/labstack/echo/v4"
)

// The caller of a request is what the middleware (authenticate) found: the
// api_token, a logged-in user, or nobody on a route open to anyone. Handlers
// ask it which tenants they may show and touch, and which actions it holds.

// callerKind says how a request was authenticated.
type callerKind int

const (
	// callerOpen: no credential, on a 3.x route this node serves to anyone
	// (no api_token set, no users configured): full access, as before users.
	callerOpen callerKind = iota
	// callerToken: the node's api_token: full access, for scripts.
	callerToken
	// callerUser: a login.
	callerUser
)

// callerKey is where authenticate leaves the caller in the echo context.
const callerKey = "dtle.caller"

// caller is who makes a request and what it may do.
type caller struct {
	kind     callerKind
	tenant   string
	username string
	role     string
	// actions are the role's actions; nil holds every one.
	actions map[string]bool
	// objectAll: the role manages every user of the tenants the caller
	// sees; otherwise only objectUsers ("tenant:user") and the caller.
	objectAll   bool
	objectUsers []string
	// session is a login's token, as it came.
	session string
}

// fullAccess is the caller of the api_token and of open routes.
func fullAccess(kind callerKind) *caller {
	return &caller{kind: kind, tenant: PlatformTenant, role: AdminRole, objectAll: true}
}

// callerOf is the request's caller; full access when the middleware did
// not run (a handler called directly).
func callerOf(c echo.Context) *caller {
	if cl, ok := c.Get(callerKey).(*caller); ok {
		return cl
	}
	return fullAccess(callerOpen)
}

// allTenants: the caller sees every tenant (the api_token, an open route,
// or a user of PlatformTenant).
func (cl *caller) allTenants() bool {
	return cl.kind != callerUser || cl.tenant == PlatformTenant
}

// seesTenant: the caller may see and touch what belongs to tenant.
func (cl *caller) seesTenant(tenant string) bool {
	return cl.allTenants() || cl.tenant == tenant
}

// can: the caller's role holds action.
func (cl *caller) can(action string) bool {
	return cl.actions == nil || cl.actions[action]
}

// canAny: the caller holds one of actions.
func (cl *caller) canAny(actions []string) bool {
	return slices.ContainsFunc(actions, cl.can)
}

// platformAdmin: the api_token, an open route, or the admin role of
// PlatformTenant.
func (cl *caller) platformAdmin() bool {
	return cl.kind != callerUser || (cl.tenant == PlatformTenant && cl.role == AdminRole)
}

// grants: everything the role (actions nil: all; objectAll; objectUsers)
// allows, the caller is allowed too, so giving it to someone raises no one
// above the caller.
func (cl *caller) grants(actions []string, objectAll bool, objectUsers []string) bool {
	if cl.actions != nil {
		if actions == nil {
			return false
		}
		for _, a := range actions {
			if !cl.actions[a] {
				return false
			}
		}
	}
	if objectAll {
		return cl.objectAll
	}
	for _, u := range objectUsers {
		if !cl.objectAll && !slices.Contains(cl.objectUsers, u) {
			return false
		}
	}
	return true
}

// reaches: tenant:user is in the caller's tenants and in its role's users.
func (cl *caller) reaches(tenant, user string) bool {
	if !cl.seesTenant(tenant) {
		return false
	}
	return cl.objectAll || (tenant == cl.tenant && user == cl.username) || slices.Contains(cl.objectUsers, tenant+":"+user)
}

// isSelf: the caller is the user tenant:user.
func (cl *caller) isSelf(tenant, user string) bool {
	return cl.kind == callerUser && cl.tenant == tenant && cl.username == user
}

// forbidden is a 403 for a caller whose role does not allow something.
func forbidden(format string, args ...any) *Error {
	return &Error{Status: http.StatusForbidden, Code: CodeForbidden, Err: errorf(format, args...)}
}

// MetaTenant is the Nomad job meta key naming the tenant a job belongs to.
// A job without it belongs to PlatformTenant.
const MetaTenant = "dtle_tenant"

// jobTenant is the tenant of a job with Nomad meta meta.
func jobTenant(meta map[string]string) string {
	if t := meta[MetaTenant]; t != "" {
		return t
	}
	return PlatformTenant
}

// jobVisible: the caller may see the job with Nomad meta meta (a
// JobListStub's Meta will do), for lists.
func jobVisible(c echo.Context, meta map[string]string) bool {
	return callerOf(c).seesTenant(jobTenant(meta))
}

// checkJobTenant refuses a job (by its Nomad meta) the caller may not see,
// as a 404 that does not tell it from a job that does not exist.
func checkJobTenant(c echo.Context, meta map[string]string, jobID string) error {
	if jobVisible(c, meta) {
		return nil
	}
	return notFound("job_id %q: no such job (GET /v2/jobs lists them)", jobID)
}

// requireAction refuses (403) a caller whose role lacks action, for a route
// whose action the middleware could not tell (a 3.x route that learns the
// job's type from the job).
func requireAction(c echo.Context, action string) error {
	if callerOf(c).can(action) {
		return nil
	}
	return forbidden("your role does not allow %s", action)
}

// tenantForNewJob is the tenant a new job is registered for (its
// MetaTenant): the caller's own tenant; a caller who sees every tenant may
// name another (requested), and gets PlatformTenant when it names none.
func tenantForNewJob(c echo.Context, requested string) (string, error) {
	cl := callerOf(c)
	switch {
	case requested == "" && cl.allTenants():
		return PlatformTenant, nil
	case requested == "":
		return cl.tenant, nil
	case validTenant(requested) != nil:
		return "", badRequest("tenant: %q is not a tenant name", requested)
	case !cl.seesTenant(requested):
		return "", forbidden("you may not create jobs for tenant %q", requested)
	}
	return requested, nil
}

// forwardAuthorization is the Authorization header a request that this
// node forwards to another node's API carries for its caller: the login's
// own token, which every node of the cluster takes ("" for the api_token,
// for which the node sends its own, and for an open route). Like the
// api_token it must go to another machine only over TLS.
func forwardAuthorization(c echo.Context) string {
	if cl := callerOf(c); cl.kind == callerUser && cl.session != "" {
		return "Bearer " + cl.session
	}
	return ""
}
