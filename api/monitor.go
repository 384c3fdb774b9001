package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"
	"github.com/labstack/echo/v4"
)

// attrAPIAddr is the node attribute where a node's plugin advertises its
// API (the driver's fingerprint sets it).
const attrAPIAddr = "driver.dtle.api_addr"

// headerForwarded marks a monitor request one node passed to another, so
// it is never passed on again.
const headerForwarded = "X-Dtle-Forwarded"

// headerServerID carries the id of the API server that answers a forwarded
// request: a server that gets its own id back forwarded to itself.
const headerServerID = "X-Dtle-Api-Server"

// monitorTask godoc
//
//	@Summary		Live figures of a task
//	@Description	Reads the figures of a running task from the plugin that runs it, on whichever node: binlog coordinates, rows and transactions read and applied, full-copy progress and ETA, delay, backlog, throughput (rows and transactions a second, and 3.x's num transactions in time seconds), NATS and buffer counters, stage. When the API of the task's node cannot be reached from this node (a loopback api_addr in a cluster), the 502 names the node and the option to set there: api_advertise.
//	@Tags			monitor
//	@Produce		json
//	@Param			allocation_id		query		string	false	"allocation id, a UUID (GET /v2/job/{type}/detail lists them); required unless job_id is given"
//	@Param			job_id				query		string	false	"instead of allocation_id: the job whose running task to show"
//	@Param			task_name			query		string	true	"src or dest"
//	@Param			nomad_http_address	query		string	false	"ignored; kept for compatibility"
//	@Success		200					{object}	MonitorResponse
//	@Failure		400					{object}	ErrorResponse	"invalid_request: a bad or missing parameter, or a malformed body; the message names it"
//	@Failure		401					{object}	ErrorResponse	"unauthorized: the node has an api_token and the request does not carry it"
//	@Failure		403					{object}	ErrorResponse	"forbidden: Nomad refused this node's access (set NOMAD_TOKEN for the agent's plugin)"
//	@Failure		404					{object}	ErrorResponse	"not_found: no such allocation or job, or the task is not running"
//	@Failure		500					{object}	ErrorResponse	"internal: see the plugin log"
//	@Failure		502					{object}	ErrorResponse	"unavailable (the API of the task's node failed or is not reachable: set api_advertise on that node) or nomad_unavailable"
//	@Security		ApiToken
//	@Router			/v2/monitor/task [get]
func (s *Server) monitorTask(c echo.Context) error {
	allocID, task := c.QueryParam("allocation_id"), c.QueryParam("task_name")
	forwarded := c.Request().Header.Get(headerForwarded) != ""
	if forwarded {
		c.Response().Header().Set(headerServerID, s.id)
	}
	if task == "" {
		return badRequest("task_name: required")
	}
	if allocID == "" && c.QueryParam("job_id") != "" {
		id, err := s.runningAlloc(c, c.QueryParam("job_id"), task)
		if err != nil {
			return err
		}
		allocID = id
	}
	if allocID == "" {
		return badRequest("allocation_id (or job_id): required")
	}
	if err := checkID("allocation_id", "allocation", allocID); err != nil {
		return err
	}
	if err := s.checkAllocTenant(c, allocID); err != nil {
		return err
	}
	if st, ok := s.localFigures(allocID, task); ok {
		return c.JSON(http.StatusOK, MonitorResponse{TasksStatus: st, Message: MessageOK})
	}
	if forwarded {
		return notFound("task %q of allocation %s is not running on this node", task, allocID)
	}
	ctx, cancel := context.WithTimeout(c.Request().Context(), nomadTimeout)
	defer cancel()
	st, err := s.remoteFigures(ctx, allocID, task, forwardAuthorization(c))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, MonitorResponse{TasksStatus: st, Message: MessageOK})
}

// figures are the live figures of a running task: from this plugin when it
// runs the task, else from the API of the task's node, asked with auth
// (forwardAuthorization).
func (s *Server) figures(ctx context.Context, allocID, task, auth string) (*TaskMonitor, error) {
	if st, ok := s.localFigures(allocID, task); ok {
		return st, nil
	}
	return s.remoteFigures(ctx, allocID, task, auth)
}

// localFigures are the figures of a task this plugin runs.
func (s *Server) localFigures(allocID, task string) (*TaskMonitor, bool) {
	if s.cfg.Local == nil {
		return nil, false
	}
	st, ok := s.cfg.Local.TaskMonitor(allocID, task)
	if !ok {
		return nil, false
	}
	return st.withLegacyFields(), true
}

// remoteFigures asks the API of the node that runs a task for its figures,
// with auth (forwardMonitor).
func (s *Server) remoteFigures(ctx context.Context, allocID, task, auth string) (*TaskMonitor, error) {
	q := (&nomad.QueryOptions{}).WithContext(ctx)
	alloc, _, err := s.nomad.Allocations().Info(allocID, q)
	if err != nil {
		if e := nomadError("allocation "+allocID, err); e.Status != http.StatusNotFound {
			return nil, e
		}
		return nil, notFound("allocation_id %q: no such allocation", allocID)
	}
	st, ok := alloc.TaskStates[task]
	if !ok {
		return nil, notFound("allocation %s has no task %q", allocID, task)
	}
	if st.State != "running" {
		return nil, notFound("task %q of allocation %s is %s, not running", task, allocID, st.State)
	}
	node, _, err := s.nomad.Nodes().Info(alloc.NodeID, q)
	if err != nil {
		return nil, nomadError("node "+alloc.NodeID, err)
	}
	addr := node.Attributes[attrAPIAddr]
	if addr == "" {
		return nil, &Error{Status: http.StatusBadGateway, Code: CodeUnavailable,
			Err: errorf("node %s runs the task but serves no API (its api_addr is empty)", node.Name)}
	}
	out, err := s.forwardMonitor(ctx, node.Name, addr, allocID, task, auth)
	if err != nil {
		return nil, err
	}
	return out.TasksStatus.withLegacyFields(), nil
}

// forwardMonitor asks the API of the node that runs the task, which
// advertises it at addr. It sends this node's api_token, or else auth, the
// caller's own Authorization (forwardAuthorization; "" sends none), each
// over TLS or to this machine only.
func (s *Server) forwardMonitor(ctx context.Context, nodeName, addr, allocID, task, auth string) (*MonitorResponse, error) {
	base := peerURL(addr)
	u := fmt.Sprintf("%s/v2/monitor/task?%s", base, url.Values{"allocation_id": {allocID}, "task_name": {task}}.Encode())
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set(headerForwarded, "1")
	if s.cfg.Token != "" {
		// The token goes over TLS or to this machine only: in the clear
		// on the network anyone on the way could take it.
		if !tokenSafe(base) {
			return nil, &Error{Status: http.StatusBadGateway, Code: CodeUnavailable,
				Err: errorf("the API of node %s (%s) is served without TLS, and this node sends its api_token to other machines only over TLS: "+
					"set api_tls_cert and api_tls_key on node %s (and api_tls_ca on this one when its CA is private)", nodeName, addr, nodeName)}
		}
		req.Header.Set("Authorization", "Bearer "+s.cfg.Token)
	} else if auth != "" {
		if !tokenSafe(base) {
			return nil, &Error{Status: http.StatusBadGateway, Code: CodeUnavailable,
				Err: errorf("the API of node %s (%s) is served without TLS, and this node sends a login's token to other machines only over TLS: "+
					"set api_tls_cert and api_tls_key on node %s (and api_tls_ca on this one when its CA is private)", nodeName, addr, nodeName)}
		}
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.http.Do(req)
	if err != nil {
		if isLoopback(strings.TrimPrefix(strings.TrimPrefix(base, "http://"), "https://")) {
			return nil, unreachableAPI(nodeName, addr, err)
		}
		return nil, &Error{Status: http.StatusBadGateway, Code: CodeUnavailable, Err: errorf("ask the API of the task's node at %s: %w", addr, err)}
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.Header.Get(headerServerID) == s.id {
		return nil, unreachableAPI(nodeName, addr, errorf("%s is this node's own API", addr))
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxReply))
	if err != nil {
		return nil, &Error{Status: http.StatusBadGateway, Code: CodeUnavailable, Err: errorf("read from %s: %w", addr, err)}
	}
	if resp.StatusCode != http.StatusOK {
		var e ErrorResponse
		if json.Unmarshal(body, &e) != nil || e.Message == "" {
			e.Message = fmt.Sprintf("HTTP %d", resp.StatusCode)
		}
		if resp.StatusCode == http.StatusNotFound {
			return nil, notFound("node API %s: %s", addr, e.Message)
		}
		return nil, &Error{Status: http.StatusBadGateway, Code: CodeUnavailable,
			Err: errorf("the API of the task's node (%s) answered %d: %s (nodes must share api_token)", addr, resp.StatusCode, e.Message)}
	}
	var out MonitorResponse
	if err := json.Unmarshal(body, &out); err != nil {
		return nil, &Error{Status: http.StatusBadGateway, Code: CodeUnavailable, Err: errorf("node API %s: %w", addr, err)}
	}
	return &out, nil
}

// unreachableAPI is the reply when the API a node advertises cannot be
// reached from this one, typically the default loopback api_addr.
func unreachableAPI(nodeName, addr string, err error) *Error {
	return &Error{Status: http.StatusBadGateway, Code: CodeUnavailable,
		Err: errorf("the API of node %s, which runs the task, is not reachable from this node at %s: set api_advertise "+
			"(or an api_addr other nodes reach, not a loopback address) in the dtle plugin config of node %s: %w", nodeName, addr, nodeName, err)}
}

// isLoopback reports whether the host of addr (host:port) is a loopback
// address or localhost.
func isLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// runningAlloc is the allocation running a job's task now.
func (s *Server) runningAlloc(c echo.Context, jobID, task string) (string, error) {
	if _, err := s.lookupJob(c, jobID); err != nil {
		return "", err
	}
	q, cancel := s.query(c)
	defer cancel()
	allocs, _, err := s.nomad.Jobs().Allocations(jobID, false, q)
	if err != nil {
		return "", nomadError("allocations of "+jobID, err)
	}
	for _, a := range allocs {
		if st, ok := a.TaskStates[task]; ok && st.State == "running" {
			return a.ID, nil
		}
	}
	return "", notFound("job %s has no running %q task (paused or not started?)", jobID, task)
}
