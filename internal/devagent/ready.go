package devagent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// ReadyTimeout bounds how long the agent may take to report its node ready.
const ReadyTimeout = 2 * time.Minute

// waitReady waits until the agent is ready: a server with a leader, a
// client (or dev agent) with its node ready, the dtle driver healthy and,
// with the API, GET /v2/health answering. With Options.NoWait it returns
// at once.
func (a *Agent) waitReady(ctx context.Context) error {
	if a.noWait {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, ReadyTimeout)
	defer cancel()
	client := a.Client()
	var last error
	for {
		if a.Role == Server {
			last = leader(client)
		} else if _, last = a.node(ctx, client); last == nil && a.APIURL != "" {
			last = healthy(ctx, a.httpClient, a.APIURL)
		}
		if last == nil {
			return nil
		}
		select {
		case <-a.proc.Exited():
			return fmt.Errorf("devagent: nomad exited: %s", a.LogTail(20))
		case <-ctx.Done():
			return fmt.Errorf("devagent: not ready after %s: %w\n%s", ReadyTimeout, last, a.LogTail(20))
		case <-time.After(250 * time.Millisecond):
		}
	}
}

// healthy checks that the dtle API at apiURL answers GET /v2/health.
func healthy(ctx context.Context, client *http.Client, apiURL string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, apiURL+"/v2/health", nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("dtle API: %w", err)
	}
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("dtle API: GET /v2/health: %s", resp.Status)
	}
	return nil
}

// leader checks that the cluster has elected a leader.
func leader(client *nomad.Client) error {
	l, err := client.Status().Leader()
	if err == nil && l == "" {
		err = errors.New("no leader yet")
	}
	return err
}

// node returns the agent's node once it is ready with the dtle driver healthy.
func (a *Agent) node(ctx context.Context, client *nomad.Client) (*nomad.NodeListStub, error) {
	q := (&nomad.QueryOptions{}).WithContext(ctx)
	nodes, _, err := client.Nodes().List(q)
	if err != nil {
		return nil, err
	}
	var n *nomad.NodeListStub
	for _, x := range nodes {
		// A restarted agent keeps its node id; the newest registration wins.
		if x.Name == a.Name && (n == nil || x.ModifyIndex > n.ModifyIndex) {
			n = x
		}
	}
	if n == nil {
		return nil, fmt.Errorf("node %s not registered yet", a.Name)
	}
	if n.Status != "ready" {
		return nil, fmt.Errorf("node %s status %s", a.Name, n.Status)
	}
	d, ok := n.Drivers["dtle"]
	if !ok {
		return nil, errors.New("dtle driver not fingerprinted yet")
	}
	if !d.Healthy {
		return nil, fmt.Errorf("dtle driver unhealthy: %s", d.HealthDescription)
	}
	return n, nil
}

// NodeID is the Nomad node id of a client or dev agent.
func (a *Agent) NodeID(ctx context.Context) (string, error) {
	n, err := a.node(ctx, a.Client())
	if err != nil {
		return "", err
	}
	return n.ID, nil
}
