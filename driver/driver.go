package driver

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/nomad/drivers/shared/eventer"
	"github.com/hashicorp/nomad/plugins/base"
	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/drivers/fsisolation"
	"github.com/hashicorp/nomad/plugins/shared/hclspec"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/filter"
	"github.com/dtle-io/dtle/internal/pipeline"
	"github.com/dtle-io/dtle/internal/secret"
	"github.com/dtle-io/dtle/internal/transport"
)

// PluginName is the driver's name in job files (driver = "dtle") and in the
// agent's plugin block.
const PluginName = "dtle"

const (
	fingerprintPeriod = 30 * time.Second
	fingerprintRetry  = 2 * time.Second
	taskHandleVersion = 1
)

var pluginInfo = &base.PluginInfoResponse{
	Type:              base.PluginTypeDriver,
	PluginApiVersions: []string{drivers.ApiVersion010},
	PluginVersion:     Version,
	Name:              PluginName,
}

var capabilities = &drivers.Capabilities{
	SendSignals:  false,
	Exec:         false,
	FSIsolation:  fsisolation.None,
	MountConfigs: drivers.MountConfigSupportNone,
}

// Driver is the dtle task driver. Its tasks run as goroutines of the plugin
// process under one root context, cancelled when Nomad shuts the plugin down.
type Driver struct {
	eventer *eventer.Eventer
	tasks   *taskStore
	logger  hclog.Logger
	nats    *natsServer
	// direct lets the src and dest tasks of a job that both run on this
	// node skip NATS (transport.Direct).
	direct *transport.Direct

	ctx    context.Context //nolint:containedctx // the root context, owned by the driver
	cancel context.CancelFunc

	mu        sync.RWMutex
	config    *Config
	rsaKey    *rsa.PrivateKey
	natsStop  context.CancelFunc
	natsState string // bind, token and TLS files the running NATS server uses
	// natsClientTLS secures this node's NATS clients; nil without nats_tls_*.
	natsClientTLS *tls.Config
	// secret is the cluster's secret that seals every job's stream.
	secret   clusterSecret
	apiStop  context.CancelFunc
	apiState string
}

// New returns the driver; Nomad configures it with SetConfig.
func New(logger hclog.Logger) *Driver {
	ignoreBrokenPipes()
	ctx, cancel := context.WithCancel(context.Background())
	logger = logger.Named(PluginName)
	return &Driver{
		eventer: eventer.NewEventer(ctx, logger),
		tasks:   newTaskStore(),
		logger:  logger,
		nats:    newNatsServer(logger.Named("nats")),
		direct:  transport.NewDirect(),
		ctx:     ctx,
		cancel:  cancel,
	}
}

// PluginInfo describes the plugin to Nomad.
func (d *Driver) PluginInfo() (*base.PluginInfoResponse, error) { return pluginInfo, nil }

// ConfigSchema is the node configuration's spec.
func (d *Driver) ConfigSchema() (*hclspec.Spec, error) { return configSpec, nil }

// SetConfig validates and applies the node configuration.
func (d *Driver) SetConfig(cfg *base.Config) error {
	var c Config
	if len(cfg.PluginConfig) != 0 {
		if err := base.MsgPackDecode(cfg.PluginConfig, &c); err != nil {
			return fmt.Errorf("decode dtle plugin config: %w", err)
		}
	}
	applyNodeDefaults(&c)
	key, err := c.validate()
	if err != nil {
		return fmt.Errorf("dtle plugin config: %w", err)
	}
	if err := d.SetLogLevel(c.LogLevel); err != nil {
		return err
	}

	d.mu.Lock()
	defer d.mu.Unlock()
	serverTLS, clientTLS, err := c.natsTLS()
	if err != nil {
		return fmt.Errorf("dtle plugin config: %w", err)
	}
	d.config, d.rsaKey, d.natsClientTLS = &c, key, clientTLS
	state := strings.Join([]string{c.NatsBind, c.NatsToken, c.NatsTLSCert, c.NatsTLSKey, c.NatsTLSCA}, "\x00")
	if state != d.natsState {
		if d.natsStop != nil {
			d.natsStop()
		}
		ctx, stop := context.WithCancel(d.ctx)
		d.natsStop, d.natsState = stop, state
		go d.nats.run(ctx, c.NatsBind, c.NatsToken, serverTLS)
	}
	d.startAPI(&c)
	if c.NatsToken == "" {
		d.logger.Warn("nats_token is empty: any client that reaches nats_bind can read and write job streams")
	}
	return nil
}

// applyNodeDefaults fills defaults for callers that bypass the spec (tests,
// an empty plugin block).
func applyNodeDefaults(c *Config) {
	for _, f := range []struct {
		v   *string
		def string
	}{
		{&c.NomadAddr, defaultNomadAddr},
		{&c.NatsBind, defaultNatsBind},
		{&c.DataDir, defaultDataDir},
		{&c.LogLevel, defaultLogLevel},
	} {
		if *f.v == "" {
			*f.v = f.def
		}
	}
}

// SetLogLevel changes the plugin's log level at run time.
func (d *Driver) SetLogLevel(level string) error {
	l := hclog.LevelFromString(level)
	if l == hclog.NoLevel {
		return fmt.Errorf("log level %q is not one of TRACE, DEBUG, INFO, WARN, ERROR", level)
	}
	d.logger.SetLevel(l)
	return nil
}

func (d *Driver) nodeConfig() *Config {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.config
}

// TaskConfigSchema is the spec of a task's config block.
func (d *Driver) TaskConfigSchema() (*hclspec.Spec, error) { return taskConfigSpec, nil }

// Capabilities tells Nomad what the driver supports.
func (d *Driver) Capabilities() (*drivers.Capabilities, error) { return capabilities, nil }

// TaskEvents streams the events tasks emit (stage changes, progress).
func (d *Driver) TaskEvents(ctx context.Context) (<-chan *drivers.TaskEvent, error) {
	return d.eventer.TaskEvents(ctx)
}

// StartTask checks the task's server and starts its work. A check that only
// a person can fix fails the task at once with its reason; an unreachable
// server is a recoverable error, left to the job's restart policy.
func (d *Driver) StartTask(cfg *drivers.TaskConfig) (*drivers.TaskHandle, *drivers.DriverNetwork, error) {
	if _, ok := d.tasks.Get(cfg.ID); ok {
		return nil, nil, fmt.Errorf("task with ID %q already started", cfg.ID)
	}
	if d.nodeConfig() == nil {
		return nil, nil, retryablef("start task: %w", ErrNotConfigured)
	}
	task, err := d.decodeTask(cfg)
	if err != nil {
		return nil, nil, fatalf("%w", err)
	}
	h := newTaskHandle(cfg, task, d.taskLogger(cfg), time.Now().Round(0))
	if err := knownFatal(h); err != nil {
		return nil, nil, err
	}
	sctx, cancel := context.WithTimeout(d.ctx, 10*time.Second)
	err = d.openPassword(sctx, h, func(ctx context.Context, _ *taskHandle) ([]byte, error) {
		return d.secret.get(ctx, d.nodeConfig().nomadConn())
	})
	cancel()
	if err != nil {
		return nil, nil, err
	}
	if err := d.preflight(d.ctx, h); err != nil {
		return nil, nil, err
	}

	handle := drivers.NewTaskHandle(taskHandleVersion)
	handle.Config = cfg
	if err := handle.SetDriverState(&taskState{StartedAt: h.startedAt}); err != nil {
		return nil, nil, fmt.Errorf("save task state: %w", err)
	}
	d.launch(h, true)
	return handle, nil, nil
}

// RecoverTask re-creates a task after the Nomad client or the plugin
// restarted. The work restarts from its checkpoint; a task is never left
// unrecoverable.
func (d *Driver) RecoverTask(handle *drivers.TaskHandle) error {
	if handle == nil {
		return fmt.Errorf("recover task: nil handle")
	}
	if _, ok := d.tasks.Get(handle.Config.ID); ok {
		return nil
	}
	var st taskState
	if err := handle.GetDriverState(&st); err != nil {
		return fmt.Errorf("recover task %s: decode state: %w", handle.Config.ID, err)
	}
	// handle.Config carries the raw task config; the saved state cannot
	// (Nomad keeps it unexported).
	cfg := handle.Config
	task, err := d.decodeTask(cfg)
	if err != nil {
		return fmt.Errorf("recover task %s: %w", cfg.ID, err)
	}
	h := newTaskHandle(cfg, task, d.taskLogger(cfg), st.StartedAt)
	h.logger.Info("recovering task")
	d.launch(h, false)
	return nil
}

func (d *Driver) launch(h *taskHandle, checked bool) {
	ctx, cancel := context.WithCancel(d.ctx)
	h.cancel = cancel
	d.tasks.Set(h.cfg.ID, h)
	go h.run(ctx, func(ctx context.Context) error {
		err := d.work(ctx, h, checked)
		if pipeline.Fatal(err) && ctx.Err() == nil {
			rememberFatal(h, err)
		}
		return err
	})
}

func (d *Driver) taskLogger(cfg *drivers.TaskConfig) hclog.Logger {
	return d.logger.With(logJob, cfg.JobID, logTask, cfg.Name, logAllocID, cfg.AllocID)
}

func (d *Driver) decodeTask(cfg *drivers.TaskConfig) (*config.Task, error) {
	var task config.Task
	if err := cfg.DecodeDriverConfig(&task); err != nil {
		return nil, fmt.Errorf("decode task config: %w", err)
	}
	if c := task.ConnectionConfig; task.PasswordEncrypted && c != nil {
		d.mu.RLock()
		key := d.rsaKey
		d.mu.RUnlock()
		pw, err := secret.Decrypt(key, c.Password)
		if err != nil {
			return nil, fmt.Errorf("task config: %w", err)
		}
		c.Password, task.PasswordEncrypted = pw, false
	}
	task.Defaults()
	if err := task.Validate(cfg.Name); err != nil {
		return nil, fmt.Errorf("task config: %w", err)
	}
	if cfg.Name == config.RoleSource {
		if _, err := filter.New(&task); err != nil {
			return nil, fmt.Errorf("task config: %w", err)
		}
	}
	return &task, nil
}

// WaitTask returns a channel that yields the task's exit result.
func (d *Driver) WaitTask(ctx context.Context, taskID string) (<-chan *drivers.ExitResult, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, fmt.Errorf("wait task %s: %w", taskID, ErrTaskNotFound)
	}
	ch := make(chan *drivers.ExitResult, 1)
	go func() {
		defer close(ch)
		select {
		case <-h.done:
			ch <- h.exitResult()
		case <-ctx.Done():
		case <-d.ctx.Done():
		}
	}()
	return ch, nil
}

// StopTask cancels the task's work and waits up to timeout for it to end.
func (d *Driver) StopTask(taskID string, timeout time.Duration, _ string) error {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return fmt.Errorf("stop task %s: %w", taskID, ErrTaskNotFound)
	}
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	if !h.stop(timeout) {
		return fmt.Errorf("stop task %s: still running after %s", taskID, timeout)
	}
	return nil
}

// DestroyTask forgets a stopped task; force stops it first.
func (d *Driver) DestroyTask(taskID string, force bool) error {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil
	}
	if h.isRunning() {
		if !force {
			return fmt.Errorf("destroy task %s: still running; stop it first or force", taskID)
		}
		h.stop(30 * time.Second)
	}
	d.tasks.Delete(taskID)
	return nil
}

// InspectTask reports a task's state.
func (d *Driver) InspectTask(taskID string) (*drivers.TaskStatus, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, fmt.Errorf("inspect task %s: %w", taskID, ErrTaskNotFound)
	}
	return h.status(), nil
}

// TaskStats streams resource usage. A dtle task is goroutines inside the
// plugin, so there is no per-task process to measure: the figures are the
// timestamps Nomad needs; the monitor API carries the real ones.
func (d *Driver) TaskStats(ctx context.Context, taskID string, interval time.Duration) (<-chan *drivers.TaskResourceUsage, error) {
	h, ok := d.tasks.Get(taskID)
	if !ok {
		return nil, fmt.Errorf("task stats %s: %w", taskID, ErrTaskNotFound)
	}
	if interval <= 0 {
		interval = time.Second
	}
	ch := make(chan *drivers.TaskResourceUsage)
	go func() {
		defer close(ch)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			usage := &drivers.TaskResourceUsage{
				ResourceUsage: &drivers.ResourceUsage{MemoryStats: &drivers.MemoryStats{}, CpuStats: &drivers.CpuStats{}},
				Timestamp:     time.Now().UnixNano(),
			}
			select {
			case ch <- usage:
			case <-ctx.Done():
				return
			case <-h.done:
				return
			}
			select {
			case <-t.C:
			case <-ctx.Done():
				return
			case <-h.done:
				return
			}
		}
	}()
	return ch, nil
}

// SignalTask is refused: a dtle task has no process to signal.
func (d *Driver) SignalTask(taskID, signal string) error {
	return fmt.Errorf("signal %s to task %s: dtle tasks take no signals; use the API to pause or resume a job", signal, taskID)
}

// ExecTask is refused: a dtle task has no process to exec into.
func (d *Driver) ExecTask(taskID string, cmd []string, _ time.Duration) (*drivers.ExecTaskResult, error) {
	return nil, fmt.Errorf("exec %q in task %s: dtle tasks do not support exec", strings.Join(cmd, " "), taskID)
}

// Shutdown stops every task and the NATS server; Nomad calls it through the
// plugin's base when it stops the plugin.
func (d *Driver) Shutdown() {
	d.cancel()
	for _, h := range d.tasks.All() {
		<-h.done
	}
}
