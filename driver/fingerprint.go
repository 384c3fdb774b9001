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
)

// Fingerprint reports the driver's health and node attributes now and every
// fingerprintPeriod until ctx ends.
func (d *Driver) Fingerprint(ctx context.Context) (<-chan *drivers.Fingerprint, error) {
	ch := make(chan *drivers.Fingerprint)
	go func() {
		defer close(ch)
		t := time.NewTimer(0)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-d.ctx.Done():
				return
			case <-t.C:
			}
			fp := d.fingerprint()
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
	return fp
}
