package devagent

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/internal/sandbox"
)

// DevNatsToken authenticates the dev agent's NATS clients.
const DevNatsToken = "dtle-dev-nats-token"

// Role is what an agent runs.
type Role int

// Roles of an agent.
const (
	// Dev is `nomad agent -dev`: server and client in one process.
	Dev Role = iota
	// Server is a cluster's server only; it runs no tasks and no plugin.
	Server
	// Client is a client joining Options.Servers, with the plugin.
	Client
)

// Options shape one agent.
type Options struct {
	// Role defaults to Dev.
	Role Role
	// Servers are the RPC addresses a Client joins.
	Servers []string
	// Dir holds the agent's data, TMPDIR, config and log.
	Dir string
	// NomadBin and PluginDir default to Binaries().
	NomadBin, PluginDir string
	// PluginConfig holds extra lines for the plugin "dtle" config block.
	PluginConfig map[string]string
	// NodeName defaults to "dtle-dev".
	NodeName string
	// APIAddr, when set, is where the plugin serves the dtle HTTP API; the
	// agent is ready only once GET /v2/health answers there.
	APIAddr string
	// API serves the HTTP API on a free loopback port when APIAddr is empty.
	API bool
	// NatsAddr is where the plugin's embedded NATS server binds (host:port);
	// a free loopback port by default.
	NatsAddr string
	// NoWait makes Start and Restart return as soon as the agent's process
	// runs, without waiting for a leader, the node, the driver's health or
	// the API: the caller polls, as a user who just started it would.
	NoWait bool
	// TLS, when set, makes the agent serve Nomad's HTTP API (HTTPS only,
	// client certificates required) and RPC over TLS with these files,
	// and gives them to the plugin: to reach Nomad (nomad_ca_cert,
	// nomad_client_*), for NATS (nats_tls_*) and for the dtle API
	// (api_tls_*, which then serves HTTPS only). Every agent of a cluster
	// needs files of the same CA. Without it everything is plain, on
	// loopback.
	TLS *TLSFiles
	// APIToken, when set, is the plugin's api_token.
	APIToken string
	// NatsToken is the plugin's nats_token; DevNatsToken when empty.
	NatsToken string
}

// Agent is one running Nomad agent.
type Agent struct {
	Addr     string // http://127.0.0.1:port, https:// with Options.TLS
	RPCAddr  string // 127.0.0.1:port
	APIURL   string // http://APIAddr (https:// with Options.TLS), or "" without the API
	NatsAddr string
	Name     string
	Role     Role
	Dir      string
	LogPath  string
	NomadBin string
	// TLS, APIToken and NatsToken are the agent's Options.TLS, its API
	// token and its NATS token.
	TLS       *TLSFiles
	APIToken  string
	NatsToken string

	cfgPath    string
	proc       *sandbox.Child
	api        *nomad.Client
	logFile    *os.File
	tmpDir     string
	pluginDir  string
	noWait     bool
	httpClient *http.Client
}

// Start writes the agent's config, starts the agent and waits until it is
// ready (see Options.NoWait): a server with a leader, a client (or dev
// agent) with its node ready and the dtle driver healthy.
func Start(ctx context.Context, opt Options) (*Agent, error) {
	nomadBin, pluginDir, err := Binaries()
	if err != nil {
		return nil, err
	}
	if opt.NomadBin != "" {
		nomadBin = opt.NomadBin
	}
	if opt.PluginDir != "" {
		pluginDir = opt.PluginDir
	}
	if opt.Role == Client && len(opt.Servers) == 0 {
		return nil, errors.New("devagent: a client needs the servers to join")
	}
	var ports agentPorts
	for _, p := range []*int{&ports.HTTP, &ports.RPC, &ports.Serf} {
		if *p, err = sandbox.FreePort(); err != nil {
			return nil, err
		}
	}
	name := opt.NodeName
	if name == "" {
		name = "dtle-dev"
	}
	scheme := "http://"
	if opt.TLS != nil {
		scheme = "https://"
	}
	natsToken := opt.NatsToken
	if natsToken == "" {
		natsToken = DevNatsToken
	}
	a := &Agent{
		Addr:      fmt.Sprintf("%s127.0.0.1:%d", scheme, ports.HTTP),
		RPCAddr:   fmt.Sprintf("127.0.0.1:%d", ports.RPC),
		NatsAddr:  opt.NatsAddr,
		Name:      name,
		Role:      opt.Role,
		Dir:       opt.Dir,
		LogPath:   filepath.Join(opt.Dir, "agent.log"),
		NomadBin:  nomadBin,
		cfgPath:   filepath.Join(opt.Dir, "agent.hcl"),
		tmpDir:    filepath.Join(opt.Dir, "tmp"),
		pluginDir: pluginDir,
		noWait:    opt.NoWait,
		TLS:       opt.TLS,
		APIToken:  opt.APIToken,
		NatsToken: natsToken,
	}
	switch {
	case opt.Role == Server:
		a.NatsAddr = ""
	case a.NatsAddr == "":
		if a.NatsAddr, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	if opt.APIAddr == "" && opt.API {
		if opt.APIAddr, err = freeAddr(); err != nil {
			return nil, err
		}
	}
	if opt.APIAddr != "" {
		a.APIURL = scheme + opt.APIAddr
	}
	if err := a.writeConfig(opt, ports, a.pluginConfig(opt, opt.APIAddr)); err != nil {
		return nil, err
	}
	if a.api, err = nomad.NewClient(&nomad.Config{Address: a.Addr, TLSConfig: opt.TLS.nomadTLS()}); err != nil {
		return nil, fmt.Errorf("devagent: nomad client: %w", err)
	}
	if a.httpClient, err = newHTTPClient(opt.TLS, opt.APIToken); err != nil {
		return nil, err
	}
	if err := a.Restart(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// freeAddr is a free loopback host:port.
func freeAddr() (string, error) {
	port, err := sandbox.FreePort()
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("127.0.0.1:%d", port), nil
}

// Restart starts the agent again with its config and data (after Kill, say)
// and waits until it is ready.
func (a *Agent) Restart(ctx context.Context) error {
	if a.proc != nil {
		select {
		case <-a.proc.Exited():
		default:
			return errors.New("devagent: restart of an agent that is still running")
		}
		_ = a.logFile.Close()
	}
	logFile, err := os.OpenFile(a.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("devagent: %w", err)
	}
	args := []string{"agent", "-config=" + a.cfgPath}
	if a.Role == Dev {
		args = []string{"agent", "-dev", "-config=" + a.cfgPath}
	}
	//nolint:noctx // the agent outlives the call that starts it; Stop ends it
	cmd := exec.Command(a.NomadBin, args...)
	cmd.Env = append(os.Environ(), "TMPDIR="+a.tmpDir)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	proc, err := sandbox.StartChild(cmd)
	if err != nil {
		_ = logFile.Close()
		return fmt.Errorf("devagent: start %s: %w", a.NomadBin, err)
	}
	a.proc, a.logFile = proc, logFile
	if err := a.waitReady(ctx); err != nil {
		a.Stop()
		return err
	}
	return nil
}

// Exited closes when the agent's process has exited.
func (a *Agent) Exited() <-chan struct{} { return a.proc.Exited() }

// Client is the Nomad API client for the agent.
func (a *Agent) Client() *nomad.Client { return a.api }

// Nomad runs the nomad CLI against the agent and returns its combined output.
func (a *Agent) Nomad(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, a.NomadBin, args...)
	cmd.Env = append(os.Environ(), "NOMAD_ADDR="+a.Addr, "TMPDIR="+a.tmpDir)
	cmd.Env = append(cmd.Env, a.TLS.nomadEnv()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("nomad %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// LogTail returns the last n lines of the agent's log.
func (a *Agent) LogTail(n int) string {
	b, _ := os.ReadFile(a.LogPath)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Stop interrupts the agent, waits for it to exit (killing it after a
// grace period) and kills the plugin processes it started.
func (a *Agent) Stop() {
	if a.proc == nil {
		return
	}
	// The plugins live in the agent's process group and go with it.
	a.proc.Stop(os.Interrupt, 30*time.Second)
	_ = a.logFile.Close()
}

// Kill is a crash of the machine as far as Nomad can tell: SIGKILL to the
// agent and every plugin process it started. Restart brings it back.
func (a *Agent) Kill() {
	a.KillPlugins()
	a.proc.Stop(syscall.SIGKILL, 0)
}

// Signal sends sig to the agent alone (not its plugins) and waits for it
// to exit: SIGKILL is a crash of the agent, SIGINT a clean stop.
func (a *Agent) Signal(sig syscall.Signal) {
	_ = syscall.Kill(a.proc.Pid(), sig)
	<-a.proc.Exited()
}

// Remove unmounts what the agent left mounted under its directory (task
// secrets and private dirs are tmpfs mounts) and deletes the directory.
// Call it after Stop.
func (a *Agent) Remove() error {
	b, err := os.ReadFile("/proc/self/mounts")
	if err == nil {
		var targets []string
		for _, line := range strings.Split(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) > 1 && strings.HasPrefix(f[1], a.Dir+"/") {
				targets = append(targets, f[1])
			}
		}
		// Deepest first.
		for i := len(targets) - 1; i >= 0; i-- {
			_ = syscall.Unmount(targets[i], syscall.MNT_DETACH)
		}
	}
	return os.RemoveAll(a.Dir)
}
