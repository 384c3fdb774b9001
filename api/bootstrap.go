package api

import (
	"context"
	"errors"
	"time"
)

// The first start of the API on a cluster (no users in Nomad) creates the
// first user: AdminUser of PlatformTenant, with the admin role. Its password
// is Config.AdminPassword (the node option api_admin_password) or, without
// one, a random one that the node that created the user prints once to its
// log. Nodes that start together agree through check-and-set: one creates
// the user, the others find it. There is no default password.

// startBootstrap creates the first user in the background when no user
// exists yet, retrying while Nomad cannot be reached, until ctx ends. An
// API without the cluster's secret has no logins and creates nobody.
func (s *Server) startBootstrap(ctx context.Context) {
	if s.keys.secret == nil {
		return
	}
	go func() {
		wait := time.Second
		for attempt := 1; ; attempt++ {
			err := s.bootstrap(ctx)
			if err == nil || ctx.Err() != nil {
				return
			}
			// The agent's HTTP API may come up after the plugin's.
			logf := s.log.Debug
			if attempt > 3 {
				logf = s.log.Warn
			}
			logf("API: cannot check for the first user in Nomad; retrying", "error", err, "retry_in", wait.String())
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			wait = min(2*wait, 30*time.Second)
		}
	}()
}

// bootstrap creates the first user if there are no tenants at all.
func (s *Server) bootstrap(ctx context.Context) error {
	tenants, err := s.store.tenants(ctx)
	if err != nil || len(tenants) > 0 {
		return err
	}
	password, generated := s.cfg.AdminPassword, false
	if password == "" {
		if password, err = randomPassword(); err != nil {
			return err
		}
		generated = true
	}
	hash, err := hashPassword(password)
	if err != nil {
		return err
	}
	t := newTenantState(PlatformTenant)
	t.users[AdminUser] = &userRecord{Hash: hash, Role: AdminRole, Remark: "the first admin", CreateTime: time.Now().UTC().Format(time.RFC3339)}
	switch err := s.store.save(ctx, t); {
	case errors.Is(err, errCASConflict):
		return nil // another node made it first
	case err != nil:
		return err
	}
	s.users.forget()
	if generated {
		s.log.Warn("API: created the first user; log in with this password and change it (POST /v2/user/reset_password): it is shown only this once",
			"tenant", PlatformTenant, "username", AdminUser, "password", password)
	} else {
		s.log.Info("API: created the first user with the password of api_admin_password", "tenant", PlatformTenant, "username", AdminUser)
	}
	return nil
}
