package api

import (
	"fmt"
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
//	@Description	The Nomad client nodes that can run dtle tasks, with their status.
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
	out := NodeListResponse{Nodes: []NodeListItem{}, Message: MessageOK}
	for _, n := range nodes {
		out.Nodes = append(out.Nodes, NodeListItem{NodeAddress: n.Address, NodeName: n.Name, NodeID: n.ID,
			NodeStatus: n.Status, NodeStatusDescription: n.StatusDescription, Datacenter: n.Datacenter})
	}
	sort.Slice(out.Nodes, func(a, b int) bool { return out.Nodes[a].NodeName < out.Nodes[b].NodeName })
	return c.JSON(http.StatusOK, out)
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
