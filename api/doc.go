// Package api is dtle's HTTP API (v2): it turns JSON job configs into Nomad
// jobs, pauses, resumes and deletes them, and reports their state and live
// figures. It follows the contract's routes, parameters and reply shapes;
// docs/ holds the swagger spec generated from the annotations here.
//
// The server runs inside the plugin on every node where api_addr is set. It
// talks to Nomad through Nomad's Go client, and reads a task's live figures
// from the plugin that runs it: its own (Local) or, for a task on another
// node, that node's API, found through the node's driver.dtle.api_addr
// attribute.
//
// Users, roles and tenants (the 4.x UI's) live in Nomad Variables
// (authstore.go); a login is a JWT signed with a key derived from the
// cluster's secret (session.go). One middleware (auth.go, policy.go) finds
// each request's caller, the api_token or a login, checks the route's
// action, and leaves the caller for the handlers (caller.go), which check
// the tenant of what they touch.
package api
