package driver

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
	nomad "github.com/hashicorp/nomad/api"
	"github.com/hashicorp/nomad/plugins/drivers"

	"github.com/dtle-io/dtle/api"
	"github.com/dtle-io/dtle/internal/retry"
)

// Nomad blocks the evaluation of a job it cannot place, noting the node
// classes it found ineligible, and unblocks it only when a node of a class
// it has not ruled out becomes ready. Nomad leaves driver health out of a
// node's class, so a dtle job registered while the driver was unhealthy (the
// first seconds after the agent starts, say) would stay blocked once the
// driver turned healthy. Two things prevent that, either one enough: the
// attrHealthy attribute (fingerprint.go) puts the health in the class, and
// on each turn to healthy the driver asks Nomad, through the local agent's
// HTTP API, to evaluate again every dtle job with a blocked evaluation; the
// latter does not depend on how Nomad computes classes.

const (
	// unblockTimeout bounds one round of re-evaluating blocked jobs,
	// waiting for the servers to see the node healthy included.
	unblockTimeout = 2 * time.Minute
	// unblockPoll is how often the round looks at the node meanwhile.
	unblockPoll = time.Second
)

// healthWatch follows the health of one fingerprint stream and starts a
// round of unblocking on each turn to healthy. The stream starts as not
// healthy, so the first healthy fingerprint of a (re)started plugin starts
// a round too. It is used by the stream's goroutine only.
type healthWatch struct {
	healthy bool
	cancel  context.CancelFunc
}

// observe notes fp's health; on a turn to healthy it cancels any earlier
// round and starts a new one in the background, ended with ctx (the
// fingerprint stream's).
func (w *healthWatch) observe(ctx context.Context, d *Driver, fp *drivers.Fingerprint) {
	healthy := fp.Health == drivers.HealthStateHealthy
	if healthy == w.healthy {
		return
	}
	w.healthy = healthy
	w.stop()
	cfg := d.nodeConfig()
	if !healthy || cfg == nil {
		return
	}
	round, cancel := context.WithTimeout(ctx, unblockTimeout)
	w.cancel = cancel
	go func() {
		defer cancel()
		d.unblockJobs(round, cfg.nomadConn())
	}()
}

// stop cancels the running round, if any.
func (w *healthWatch) stop() {
	if w.cancel != nil {
		w.cancel()
		w.cancel = nil
	}
}

// unblockJobs waits until the Nomad servers see this node's dtle driver
// healthy, then has Nomad evaluate again each dtle job whose evaluation is
// blocked. It logs what it does and never fails the driver.
func (d *Driver) unblockJobs(ctx context.Context, conn api.NomadConn) {
	log := d.logger.Named("unblock")
	client, err := conn.Client("")
	if err != nil {
		log.Warn("cannot re-evaluate blocked jobs", "error", err)
		return
	}
	if err := waitNodeHealthy(ctx, client); err != nil {
		log.Warn("cannot re-evaluate blocked jobs: the servers did not see this node's dtle driver healthy", "error", err)
		return
	}
	n, err := evaluateBlocked(ctx, client, log)
	if err != nil {
		log.Warn("re-evaluating blocked jobs failed", "evaluated", n, "error", err)
		return
	}
	log.Debug("blocked dtle jobs re-evaluated", "evaluated", n)
}

// waitNodeHealthy polls until the servers list the local agent's node as
// ready with a healthy dtle driver. The agent's HTTP API may not listen yet
// when its plugins first fingerprint, so failures are retried until ctx ends.
func waitNodeHealthy(ctx context.Context, client *nomad.Client) error {
	var nodeID string
	var last error
	for {
		if nodeID == "" {
			nodeID, last = localNodeID(ctx, client)
		}
		if nodeID != "" {
			if last = nodeHealthy(ctx, client, nodeID); last == nil {
				return nil
			}
		}
		if err := retry.Sleep(ctx, unblockPoll); err != nil {
			return fmt.Errorf("%w: %w", err, last)
		}
	}
}

// localNodeID is the node id of the Nomad client at the other end of client.
func localNodeID(ctx context.Context, client *nomad.Client) (string, error) {
	var self nomad.AgentSelf
	if _, err := client.Raw().Query("/v1/agent/self", &self, (&nomad.QueryOptions{}).WithContext(ctx)); err != nil {
		return "", fmt.Errorf("agent self: %w", err)
	}
	id := self.Stats["client"]["node_id"]
	if id == "" {
		return "", errors.New("the agent at nomad_addr runs no Nomad client")
	}
	return id, nil
}

// nodeHealthy is nil when the servers list the node as ready with a
// healthy dtle driver.
func nodeHealthy(ctx context.Context, client *nomad.Client, nodeID string) error {
	node, _, err := client.Nodes().Info(nodeID, (&nomad.QueryOptions{}).WithContext(ctx))
	switch {
	case err != nil:
		return fmt.Errorf("node %s: %w", nodeID, err)
	case node.Status != nomad.NodeStatusReady:
		return fmt.Errorf("node %s is %s", nodeID, node.Status)
	case node.Drivers[PluginName] == nil || !node.Drivers[PluginName].Healthy:
		return fmt.Errorf("node %s: dtle driver not healthy on the servers yet", nodeID)
	}
	return nil
}

// evaluateBlocked asks Nomad to evaluate again each job, in any namespace,
// that runs a dtle task and has a blocked evaluation. It returns how many
// jobs it evaluated; a job it cannot read or evaluate is logged and skipped.
func evaluateBlocked(ctx context.Context, client *nomad.Client, log hclog.Logger) (int, error) {
	q := &nomad.QueryOptions{Namespace: "*", Params: map[string]string{"status": nomad.EvalStatusBlocked}}
	evals, _, err := client.Evaluations().List(q.WithContext(ctx))
	if err != nil {
		return 0, fmt.Errorf("list blocked evaluations: %w", err)
	}
	done := map[string]bool{}
	n := 0
	for _, ev := range evals {
		key := ev.Namespace + "\x00" + ev.JobID
		if ev.Status != nomad.EvalStatusBlocked || done[key] {
			continue
		}
		done[key] = true
		job, _, err := client.Jobs().Info(ev.JobID, (&nomad.QueryOptions{Namespace: ev.Namespace}).WithContext(ctx))
		if err != nil {
			log.Warn("blocked job: cannot read it", "job", ev.JobID, "namespace", ev.Namespace, "error", err)
			continue
		}
		if !runsDtle(job) {
			continue
		}
		w := (&nomad.WriteOptions{Namespace: ev.Namespace}).WithContext(ctx)
		id, _, err := client.Jobs().EvaluateWithOpts(ev.JobID, nomad.EvalOptions{}, w)
		if err != nil {
			log.Warn("blocked job: cannot evaluate it again", "job", ev.JobID, "namespace", ev.Namespace, "error", err)
			continue
		}
		log.Debug("blocked job evaluated again", "job", ev.JobID, "namespace", ev.Namespace, "blocked_eval", ev.ID, "eval", id)
		n++
	}
	return n, nil
}

// runsDtle reports whether a job that is not stopped has a dtle task.
func runsDtle(job *nomad.Job) bool {
	if job.Stop != nil && *job.Stop {
		return false
	}
	for _, tg := range job.TaskGroups {
		for _, t := range tg.Tasks {
			if t.Driver == PluginName {
				return true
			}
		}
	}
	return false
}
