package api

import (
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/labstack/echo/v4"
)

// maxUnhealthyReasons bounds how many nodes a refusal describes.
const maxUnhealthyReasons = 5

// retryAfterSeconds is the Retry-After a refusal for want of a healthy
// driver suggests: the driver looks again every 2s while unhealthy.
const retryAfterSeconds = "5"

// listNodes godoc
//
//	@Summary		List nodes
//	@Description	The Nomad client nodes that can run dtle tasks, with their status; also (4.x) their Nomad and dtle versions, whether the node is the Nomad leader (leader) and whether a Nomad server runs there (member). Leader and member need Nomad's agent:read; without it they are false.
//	@Tags			node
//	@Produce		json
//	@Success		200	{object}	NodeListResponse
//	@Failure		401	{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403	{object}	ErrorResponse	"forbidden: Nomad refused this node's access (set NOMAD_TOKEN for the agent's plugin)"
//	@Failure		500	{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502	{object}	ErrorResponse	"nomad_unavailable: Nomad failed"
//	@Security		ApiToken
//	@Router			/v2/nodes [get]
func (s *Server) listNodes(c echo.Context) error {
	q, cancel := s.query(c)
	defer cancel()
	nodes, _, err := s.nomad.Nodes().List(q)
	if err != nil {
		return nomadError("list nodes", err)
	}
	leader, servers := s.nomadServers(q)
	out := NodeListResponse{Nodes: []NodeListItem{}, Message: MessageOK}
	for _, n := range nodes {
		it := NodeListItem{NodeAddress: n.Address, NodeName: n.Name, NodeID: n.ID,
			NodeStatus: n.Status, NodeStatusDescription: n.StatusDescription, Datacenter: n.Datacenter,
			NomadVersion: n.Version, Leader: n.Address != "" && n.Address == leader, Member: servers[n.Address]}
		if d := n.Drivers[driverName]; d != nil {
			it.DtleVersion = d.Attributes[attrVersion]
		}
		out.Nodes = append(out.Nodes, it)
	}
	sort.Slice(out.Nodes, func(a, b int) bool { return out.Nodes[a].NodeName < out.Nodes[b].NodeName })
	return c.JSON(http.StatusOK, out)
}

// attrVersion is the node attribute where the dtle driver tells its version.
const attrVersion = "driver.dtle.version"

// nomadServers are the host of the Nomad leader and the hosts of the Nomad
// servers, for the node list's leader and member. They need more of
// Nomad's ACL than listing nodes does; without it they stay empty, and the
// nodes are listed all the same.
func (s *Server) nomadServers(q *nomad.QueryOptions) (leader string, servers map[string]bool) {
	servers = map[string]bool{}
	var addr string
	if _, err := s.nomad.Raw().Query("/v1/status/leader", &addr, q); err != nil {
		s.log.Debug("node list without the Nomad leader", "error", err)
	} else if host, _, err := net.SplitHostPort(addr); err == nil {
		leader = host
	}
	members, err := s.nomad.Agent().MembersOpts(q)
	if err != nil {
		s.log.Debug("node list without the Nomad servers", "error", err)
		return leader, servers
	}
	for _, m := range members.Members {
		servers[m.Addr] = true
	}
	return leader, servers
}

// requireHealthyDriver refuses a job with ErrNoHealthyDriver (a 503 with
// Retry-After) unless some ready node has a healthy dtle driver: Nomad
// would block the job's evaluation otherwise. One list of node stubs.
func (s *Server) requireHealthyDriver(c echo.Context, q *nomad.QueryOptions) error {
	_, err := s.healthyNodes(c, q)
	return err
}

// healthyNodes lists the cluster's nodes, or fails as requireHealthyDriver
// does when none has a healthy dtle driver.
func (s *Server) healthyNodes(c echo.Context, q *nomad.QueryOptions) ([]*nomad.NodeListStub, error) {
	nodes, _, err := s.nomad.Nodes().List(q)
	if err != nil {
		return nil, nomadError("list nodes", err)
	}
	var why []string
	for _, n := range nodes {
		d := n.Drivers[driverName]
		switch {
		case n.Status == nomad.NodeStatusReady && d != nil && d.Healthy:
			return nodes, nil
		case n.Status != nomad.NodeStatusReady:
			why = append(why, fmt.Sprintf("node %s is %s", n.Name, n.Status))
		case d == nil || !d.Detected:
			why = append(why, fmt.Sprintf("node %s: no dtle driver detected", n.Name))
		default:
			why = append(why, fmt.Sprintf("node %s: %s", n.Name, d.HealthDescription))
		}
	}
	switch {
	case len(why) == 0:
		why = []string{"no Nomad client node has registered"}
	case len(why) > maxUnhealthyReasons:
		why = append(why[:maxUnhealthyReasons], fmt.Sprintf("%d more", len(why)-maxUnhealthyReasons))
	}
	c.Response().Header().Set("Retry-After", retryAfterSeconds)
	return nil, unavailable(fmt.Errorf("%w (%s); the plugin may still be starting: retry in a few seconds (GET /v2/nodes lists the nodes)",
		ErrNoHealthyDriver, strings.Join(why, "; ")))
}
