// Package cluster runs a Nomad cluster on one machine, for tests: one
// server agent and client agents with their own data dirs, ports and node
// names, each client running the dtle plugin with its own embedded NATS.
// Other nodes reach a client's NATS only through its Link, which a test can
// cut. Nodes can be killed (agent and plugin, as a crashed machine),
// restarted on their data, or have their agent alone restarted.
package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dtle-io/dtle/internal/devagent"
)

// Cluster is one Nomad server and its client nodes.
type Cluster struct {
	Dir    string
	Server *devagent.Agent
	Nodes  []*Node
}

// Node is a client agent with the plugin.
type Node struct {
	*devagent.Agent
	// ID is the Nomad node id; it survives restarts.
	ID string
	// Link is the way other nodes reach this node's NATS.
	Link *Link
}

// Start starts a server and n client nodes named dtle-node-1..n under dir;
// the first node also serves the dtle HTTP API (its APIURL).
func Start(ctx context.Context, dir string, n int) (c *Cluster, err error) {
	c = &Cluster{Dir: dir}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	c.Server, err = devagent.Start(ctx, devagent.Options{Role: devagent.Server, NodeName: "dtle-server",
		Dir: filepath.Join(dir, "server")})
	if err != nil {
		return c, fmt.Errorf("cluster: server: %w", err)
	}
	for i := 1; i <= n; i++ {
		node, err := c.startNode(ctx, i)
		if err != nil {
			return c, err
		}
		c.Nodes = append(c.Nodes, node)
	}
	return c, nil
}

func (c *Cluster) startNode(ctx context.Context, i int) (*Node, error) {
	name := fmt.Sprintf("dtle-node-%d", i)
	link, err := NewLink()
	if err != nil {
		return nil, fmt.Errorf("cluster: %s: %w", name, err)
	}
	node := &Node{Link: link}
	node.Agent, err = devagent.Start(ctx, devagent.Options{Role: devagent.Client, NodeName: name,
		Servers: []string{c.Server.RPCAddr}, Dir: filepath.Join(c.Dir, name), API: i == 1,
		PluginConfig: map[string]string{"nats_advertise": fmt.Sprintf("%q", link.Addr())}})
	if err != nil {
		link.Close()
		return nil, fmt.Errorf("cluster: %s: %w", name, err)
	}
	link.SetTarget(node.NatsAddr)
	if node.ID, err = node.NodeID(ctx); err != nil {
		node.Stop()
		link.Close()
		return nil, fmt.Errorf("cluster: %s: %w", name, err)
	}
	return node, nil
}

// Stop stops every agent and removes the cluster's directory.
func (c *Cluster) Stop() {
	for _, n := range c.Nodes {
		n.Stop()
		n.Link.Close()
		_ = n.Remove()
	}
	if c.Server != nil {
		c.Server.Stop()
		_ = c.Server.Remove()
	}
	_ = os.RemoveAll(c.Dir)
}

// NodeByID returns the node with the Nomad node id, or nil.
func (c *Cluster) NodeByID(id string) *Node {
	for _, n := range c.Nodes {
		if n.ID == id {
			return n
		}
	}
	return nil
}
