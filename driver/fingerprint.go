package driver

import (
	"context"
	"time"

	"github.com/hashicorp/nomad/plugins/drivers"
	"github.com/hashicorp/nomad/plugins/shared/structs"
)

// Node attributes the scheduler and the API read.
const (
	attrVersion       = "driver.dtle.version"
	attrNatsAdvertise = "driver.dtle.nats_advertise"
	attrAPIAddr       = "driver.dtle.api_addr"
	// attrHealthy makes the driver's health part of the node's computed
	// class: when the driver turns healthy the class changes, and Nomad
	// unblocks the evaluations that found the old class ineligible.
	attrHealthy = "driver.dtle.healthy"
)

// Fingerprint reports the driver's health and node attributes now and every
// fingerprintPeriod until ctx ends. Each turn to healthy also has Nomad
// evaluate again the dtle jobs it blocked meanwhile (see healthWatch).
func (d *Driver) Fingerprint(ctx context.Context) (<-chan *drivers.Fingerprint, error) {
	ch := make(chan *drivers.Fingerprint)
	go func() {
		defer close(ch)
		t := time.NewTimer(0)
		defer t.Stop()
		var watch healthWatch
		defer watch.stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-d.ctx.Done():
				return
			case <-t.C:
			}
			fp := d.fingerprint()
			watch.observe(ctx, d, fp)
			// Look again soon while unhealthy, so recovery shows quickly.
			if fp.Health == drivers.HealthStateHealthy {
				t.Reset(fingerprintPeriod)
			} else {
				t.Reset(fingerprintRetry)
			}
			select {
			case ch <- fp:
			case <-ctx.Done():
				return
			case <-d.ctx.Done():
				return
			}
		}
	}()
	return ch, nil
}

func (d *Driver) fingerprint() *drivers.Fingerprint {
	cfg := d.nodeConfig()
	if cfg == nil {
		return &drivers.Fingerprint{
			Health:            drivers.HealthStateUndetected,
			HealthDescription: "waiting for the plugin configuration",
		}
	}
	fp := &drivers.Fingerprint{
		Attributes: map[string]*structs.Attribute{
			attrVersion:       structs.NewStringAttribute(Version),
			attrNatsAdvertise: structs.NewStringAttribute(cfg.natsAdvertise()),
			attrAPIAddr:       structs.NewStringAttribute(cfg.apiAdvertise()),
		},
		Health:            drivers.HealthStateHealthy,
		HealthDescription: drivers.DriverHealthy,
	}
	if err := d.nats.health(); err != nil {
		fp.Health = drivers.HealthStateUnhealthy
		fp.HealthDescription = "embedded NATS server on " + cfg.NatsBind + ": " + err.Error()
	}
	fp.Attributes[attrHealthy] = structs.NewBoolAttribute(fp.Health == drivers.HealthStateHealthy)
	return fp
}
