package api

import (
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// policies maps "METHOD route" (the route as registered, with its :params)
// to what it asks of its caller. A route registered without an entry here
// is a 3.x-class route that, among logins, only platform admins may call:
// give every new route its entry.
var policies = buildPolicies()

// anyLogin is a route any login may call (the handler checks the tenant of
// what it touches).
func anyLogin(class routeClass) routePolicy { return routePolicy{class: class} }

// needs is a route for logins whose role holds one of actions.
func needs(class routeClass, actions ...string) routePolicy {
	return routePolicy{class: class, actions: func(echo.Context) []string { return actions }}
}

// needsForType is a route for logins whose role holds "<type>-<op>" for the
// job type in the :type path parameter, for one of ops.
func needsForType(class routeClass, ops ...string) routePolicy {
	return routePolicy{class: class, actions: func(c echo.Context) []string {
		out := make([]string, len(ops))
		for i, op := range ops {
			out[i] = c.Param("type") + "-" + op
		}
		return out
	}}
}

// everyType is "<type>-<op>" for every job type: a 3.x route that learns
// the type from the job lets a role in with any of them, and the handler
// checks the job's own (requireAction).
func everyType(op string) []string {
	return []string{JobTypeMigration + "-" + op, JobTypeSync + "-" + op, JobTypeSubscription + "-" + op}
}

func buildPolicies() map[string]routePolicy {
	get, post := http.MethodGet+" ", http.MethodPost+" "
	p := map[string]routePolicy{
		// Anyone.
		post + "/v2/login":                  {class: classPublic},
		post + "/v2/loginWithoutVerifyCode": {class: classPublic},
		post + "/v2/login/captcha":          {class: classPublic},

		// The 3.x routes, some of which 4.x kept.
		post + "/v2/job/:type":       needsForType(classLegacy, "create", "update"),
		post + "/v2/job/pause":       needs(classLegacy, everyType("pause")...),
		post + "/v2/job/resume":      needs(classLegacy, everyType("resume")...),
		post + "/v2/job/delete":      needs(classLegacy, everyType("delete")...),
		get + "/v2/jobs":             needs(classLegacy, everyType("list")...),
		get + "/v2/job/:type/detail": needsForType(classLegacy, "detail"),
		get + "/v2/validation/job":   anyLogin(classLegacy),
		post + "/v2/validation/job":  anyLogin(classLegacy),
		get + "/v2/monitor/task":     anyLogin(classLegacy),
		get + "/v2/nodes":            anyLogin(classLegacy),
		get + "/v2/mysql/schemas":    anyLogin(classLegacy),
		post + "/v2/log/level":       {class: classLegacy, platform: true},
		get + "/metrics":             {class: classLegacy, platform: true},

		// Comparisons of a job's source and destination (verify.go): a
		// repair rewrites destination rows, as an update of the job would.
		post + "/v2/job/verify": needs(classLocal, everyType("update")...),
		get + "/v2/job/verify":  needs(classLegacy, everyType("detail")...),
		// A running job's speed limit (limit.go): setting it changes the job.
		post + "/v2/job/speed_limit": needs(classLocal, everyType("update")...),
		get + "/v2/job/speed_limit":  needs(classLegacy, everyType("detail")...),
		// Position control of a paused job (position.go): moving its
		// checkpoint or skipping a transaction changes the job.
		post + "/v2/job/checkpoint": needs(classLocal, everyType("update")...),
		post + "/v2/job/skip":       needs(classLocal, everyType("update")...),
		get + "/v2/job/skip":        needs(classLegacy, everyType("detail")...),
		// Where a job stands (status.go).
		get + "/v2/job/status": needs(classLegacy, everyType("detail")...),

		// The 4.x routes: a login or the token.
		get + "/v2/database/schemas":   anyLogin(classLogin),
		get + "/v2/database/columns":   anyLogin(classLogin),
		get + "/v2/mysql/columns":      anyLogin(classLogin),
		get + "/v2/job/position":       anyLogin(classLogin),
		get + "/v2/job/diagnosis":      anyLogin(classLogin),
		post + "/v2/job/reverse_start": needs(classLogin, JobTypeMigration+"-reverse_start", JobTypeSync+"-reverse_start"),

		get + "/v2/database/instance_connection": anyLogin(classLogin),
		get + "/v2/mysql/instance_connection":    anyLogin(classLogin),

		// Users and roles.
		get + "/v2/user/current_user":    anyLogin(classLogin),
		get + "/v2/user/list_action":     anyLogin(classLogin),
		post + "/v2/user/reset_password": anyLogin(classLogin),
		get + "/v2/user/list":            needs(classLogin, "user-list"),
		post + "/v2/user/create":         needs(classLogin, "user-create"),
		post + "/v2/user/update":         needs(classLogin, "user-update"),
		post + "/v2/user/delete":         needs(classLogin, "user-delete"),
		get + "/v2/tenant/list":          needs(classLogin, "user-list_tenant"),
		get + "/v2/role/list":            needs(classLogin, "auth-list"),
		post + "/v2/role/create":         needs(classLogin, "auth-create"),
		post + "/v2/role/update":         needs(classLogin, "auth-update"),
		post + "/v2/role/delete":         needs(classLogin, "auth-delete"),
	}
	// The 4.x job routes: each operation of the catalogue on its uri.
	for _, m := range catalogue {
		for _, op := range m.Operations {
			if strings.HasPrefix(op.URI, "/v2/job") {
				method := post
				if strings.HasPrefix(op.URI, "/v2/jobs/") || strings.HasSuffix(op.URI, "/detail") {
					method = get
				}
				class := classLogin
				if method == get && strings.HasSuffix(op.URI, "/detail") {
					class = classLegacy // also the 3.x /v2/job/{type}/detail
				}
				if _, ok := p[method+op.URI]; !ok {
					p[method+op.URI] = needs(class, op.Action)
				}
			}
		}
	}
	return p
}

// policyFor is the policy of the request's route. Health and the swagger
// page need nothing, whatever the method; a route without an entry is
// classLegacy and, among logins, for platform admins; a request that matches
// no route lets any authenticated caller through to its 404 or 405.
func (s *Server) policyFor(c echo.Context) routePolicy {
	path := c.Request().URL.Path
	if path == "/v2/health" || strings.HasPrefix(path, "/swagger/") {
		return routePolicy{class: classPublic}
	}
	key := c.Request().Method + " " + c.Path()
	if p, ok := policies[key]; ok {
		return p
	}
	s.routesOnce.Do(func() {
		s.registered = map[string]bool{}
		for _, r := range s.echo.Routes() {
			s.registered[r.Method+" "+r.Path] = true
		}
	})
	if !s.registered[key] {
		return routePolicy{class: classLegacy}
	}
	return routePolicy{class: classLegacy, platform: true}
}
