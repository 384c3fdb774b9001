package cluster

import (
	"context"
	"fmt"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dtle-io/dtle/internal/devagent"
)

// A job with src pinned on node 1 and dest on node 2 replicates across the
// nodes: the src reaches the dest's NATS through node 2's link.
func TestPinnedTasksReplicateAcrossNodes(t *testing.T) {
	const schema = "cl_pinned"
	startJob(t, "pinned", schema, false, 5000)
	w := startWriter(schema, 5000)
	time.Sleep(2 * time.Second)
	settle(t, w, schema, "replicated")
}

// failover=true: node 2 dies (agent and plugin killed, as a crashed
// machine); Nomad declares it down and places the dest on node 1, which
// resumes from the destination's checkpoint.
func TestFailoverMovesTheDestToTheOtherNode(t *testing.T) {
	const schema = "cl_failover"
	n1, n2 := cl.Nodes[0], cl.Nodes[1]
	job := startJob(t, "failover", schema, true, 20000)
	_, before := waitReplicating(t, job)
	w := startWriter(schema, 20000)
	time.Sleep(time.Second)
	n2.Kill()
	t.Cleanup(func() { restart(t, n2) })
	after := waitTask(t, job, "dest", 2*time.Minute, inStage(n1, "job_stage_incr"))
	if after.alloc.ID == before.alloc.ID {
		t.Fatal("the dest on node 1 is the allocation that ran on node 2")
	}
	if devagent.HasEvent(after.state, "job_stage_full") {
		t.Errorf("the moved dest copied again instead of resuming from the checkpoint: %s", describe(after))
	}
	time.Sleep(2 * time.Second)
	settle(t, w, schema, "after the failover")
}

// failover=false with node_id: when node 2 dies the dest waits for it
// instead of moving; when node 2 returns, the dest runs there again and
// resumes.
func TestPinnedTaskWaitsForItsNode(t *testing.T) {
	const schema = "cl_nofailover"
	n2 := cl.Nodes[1]
	job := startJob(t, "nofailover", schema, false, 5000)
	w := startWriter(schema, 5000)
	n2.Kill()
	waitNodeStatus(t, n2, "down")
	time.Sleep(3 * time.Second)
	allocs, _, err := cl.Server.Client().Jobs().Allocations(job, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range allocs {
		if st, ok := a.TaskStates["dest"]; ok && a.NodeID != n2.ID && st.State != "dead" {
			t.Fatalf("the pinned dest was placed on another node: %s", describe(placed{alloc: a, state: st, node: cl.NodeByID(a.NodeID)}))
		}
	}
	restart(t, n2)
	waitTask(t, job, "dest", 2*time.Minute, inStage(n2, "job_stage_incr"))
	time.Sleep(2 * time.Second)
	settle(t, w, schema, "after node 2 returned")
}

// A restart of a Nomad client, crashed (SIGKILL) or clean (SIGINT), leaves
// the tasks' allocations in place: the driver recovers its tasks
// (RecoverTask) and they go on from where they were, not from zero.
func TestClientRestartRecoversTasks(t *testing.T) {
	const schema = "cl_recover"
	n1, n2 := cl.Nodes[0], cl.Nodes[1]
	job := startJob(t, "recover", schema, true, 5000)
	src, dst := waitReplicating(t, job)
	w := startWriter(schema, 5000)
	for _, c := range []struct {
		node *Node
		sig  syscall.Signal
	}{{n2, syscall.SIGKILL}, {n1, syscall.SIGINT}} {
		plugins, recovered := fmt.Sprint(c.node.PluginPIDs()), logCount(c.node, "recovering task")
		c.node.Signal(c.sig)
		time.Sleep(time.Second)
		restart(t, c.node)
		// A crashed agent leaves its plugin running, and the restarted one
		// reattaches to it; a clean stop takes the plugin down, and the
		// new plugin recovers the tasks (RecoverTask).
		after := fmt.Sprint(c.node.PluginPIDs())
		if survived := after == plugins; survived != (c.sig == syscall.SIGKILL) {
			t.Errorf("%s after %s: plugin processes before %s, after %s", c.node.Name, c.sig, plugins, after)
		}
		if c.sig == syscall.SIGINT {
			waitLogCount(t, c.node, "recovering task", recovered+1) // node 1 runs the src
		}
	}
	time.Sleep(3 * time.Second)
	settle(t, w, schema, "after the restarts")
	for _, was := range []placed{src, dst} {
		task := "src"
		if was.alloc.ID == dst.alloc.ID {
			task = "dest"
		}
		now := waitTask(t, job, task, time.Minute, runningOn(was.node))
		if now.alloc.ID != was.alloc.ID || now.state.Restarts != 0 {
			t.Errorf("%s was replaced or restarted instead of recovered: before %s\nnow %s", task, describe(was), describe(now))
		}
		if k := devagent.CountEvents(now.state, "job_stage_full"); k > 1 {
			t.Errorf("%s went through the full copy %d times: %s", task, k, describe(now))
		}
	}
}

// logCount counts the lines of a node's log (agent and plugin) with substr.
func logCount(n *Node, substr string) int {
	b, _ := os.ReadFile(n.LogPath)
	return strings.Count(string(b), substr)
}

func waitLogCount(t *testing.T, n *Node, substr string, want int) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for logCount(n, substr) < want {
		if time.Now().After(deadline) {
			t.Fatalf("%s: %d log lines with %q, want %d", n.Name, logCount(n, substr), substr, want)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func restart(t *testing.T, n *Node) {
	t.Helper()
	select {
	case <-n.Exited():
	default:
		return // running
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := n.Restart(ctx); err != nil {
		t.Fatalf("restart %s: %v", n.Name, err)
	}
}

func waitNodeStatus(t *testing.T, n *Node, status string) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		node, _, err := cl.Server.Client().Nodes().Info(n.ID, nil)
		if err == nil && node.Status == status {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("node %s not %s after a minute (%v)", n.Name, status, err)
		}
		time.Sleep(250 * time.Millisecond)
	}
}
