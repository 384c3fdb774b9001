// Package cluster runs a Nomad cluster on one machine, for tests: one
// server agent and client agents with their own data dirs, ports and node
// names, each client running the dtle plugin with its own embedded NATS.
// Other nodes reach a client's NATS only through its Link, which a test can
// cut. Nodes can be killed (agent and plugin, as a crashed machine),
// restarted on their data, or have their agent alone restarted.
//
// A secure cluster runs as a multi-machine deployment should: Nomad's HTTP
// API and RPC over TLS with client certificates, NATS over TLS with client
// certificates and a token, and the dtle API over HTTPS with a token.
package cluster

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"

	"github.com/dtle-io/dtle/internal/devagent"
)

// Options shape a cluster.
type Options struct {
	// Secure turns TLS and authentication on everywhere (see the package
	// doc): Start makes a throwaway CA, a certificate every agent uses,
	// an API token and a NATS token.
	Secure bool
	// Direct lets nodes reach each other's NATS at its own address, with no
	// Link between (Node.Link is nil): for measuring, since a Link relays
	// every byte through this process.
	Direct bool
}

// Cluster is one Nomad server and its client nodes.
type Cluster struct {
	Dir    string
	direct bool
	Server *devagent.Agent
	Nodes  []*Node
	// TLS, APIToken and NatsToken are what a secure cluster's agents and
	// plugins use; nil and empty otherwise (the plugins' NATS token is then
	// devagent.DevNatsToken).
	TLS       *devagent.TLSFiles
	APIToken  string
	NatsToken string
}

// Node is a client agent with the plugin.
type Node struct {
	*devagent.Agent
	// ID is the Nomad node id; it survives restarts.
	ID string
	// Link is the way other nodes reach this node's NATS (nil with
	// Options.Direct).
	Link *Link
}

// Start starts a server and n client nodes named dtle-node-1..n under dir;
// the first node also serves the dtle HTTP API (its APIURL; its
// HTTPClient trusts the cluster's CA and sends the API token).
func Start(ctx context.Context, dir string, n int, opt Options) (c *Cluster, err error) {
	c = &Cluster{Dir: dir, direct: opt.Direct}
	defer func() {
		if err != nil {
			c.Stop()
		}
	}()
	if opt.Secure {
		files, err := devagent.NewTLSFiles(filepath.Join(dir, "pki"))
		if err != nil {
			return c, fmt.Errorf("cluster: %w", err)
		}
		c.TLS, c.APIToken, c.NatsToken = &files, rand.Text(), rand.Text()
	}
	c.Server, err = devagent.Start(ctx, c.agentOptions(devagent.Options{Role: devagent.Server, NodeName: "dtle-server",
		Dir: filepath.Join(dir, "server")}))
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
	node := &Node{}
	plugin := map[string]string{}
	if !c.direct {
		link, err := NewLink()
		if err != nil {
			return nil, fmt.Errorf("cluster: %s: %w", name, err)
		}
		node.Link = link
		plugin["nats_advertise"] = fmt.Sprintf("%q", link.Addr())
	}
	var err error
	node.Agent, err = devagent.Start(ctx, c.agentOptions(devagent.Options{Role: devagent.Client, NodeName: name,
		Servers: []string{c.Server.RPCAddr}, Dir: filepath.Join(c.Dir, name), API: i == 1, PluginConfig: plugin}))
	if err != nil {
		node.closeLink()
		return nil, fmt.Errorf("cluster: %s: %w", name, err)
	}
	if node.Link != nil {
		node.Link.SetTarget(node.NatsAddr)
	}
	if node.ID, err = node.NodeID(ctx); err != nil {
		node.Stop()
		node.closeLink()
		return nil, fmt.Errorf("cluster: %s: %w", name, err)
	}
	return node, nil
}

// closeLink closes the node's Link, if it has one.
func (n *Node) closeLink() {
	if n.Link != nil {
		n.Link.Close()
	}
}

// agentOptions adds the cluster's TLS files and tokens to an agent's options.
func (c *Cluster) agentOptions(opt devagent.Options) devagent.Options {
	opt.TLS, opt.APIToken, opt.NatsToken = c.TLS, c.APIToken, c.NatsToken
	return opt
}

// Stop stops every agent and removes the cluster's directory.
func (c *Cluster) Stop() {
	for _, n := range c.Nodes {
		n.Stop()
		n.closeLink()
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
