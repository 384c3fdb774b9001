package api

import (
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"
)

// listNodes godoc
//
//	@Summary		List nodes
//	@Description	The Nomad client nodes that can run dtle tasks, with their status.
//	@Tags			node
//	@Produce		json
//	@Success		200	{object}	NodeListResponse
//	@Failure		502	{object}	ErrorResponse
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
