package api

import (
	"errors"
	"net/http"

	"crypto/rsa"
	"github.com/labstack/echo/v4"
	"strings"

	nomad "github.com/hashicorp/nomad/api"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/secret"
)

// masked is a copy of the job config for replies: passwords show as "*".
func (j *JobConfig) masked() *JobConfig {
	cp := *j
	if j.SrcTask != nil {
		s := *j.SrcTask
		s.MysqlConnectionConfig = maskConn(s.MysqlConnectionConfig)
		cp.SrcTask = &s
	}
	if j.DestTask != nil {
		d := *j.DestTask
		d.MysqlConnectionConfig = maskConn(d.MysqlConnectionConfig)
		cp.DestTask = &d
	}
	return &cp
}

// maskedPassword is how replies show a password, and how an update asks to
// keep the stored one.
const maskedPassword = "*"

// maskConn is a copy of c with the password shown as "*".
func maskConn(c *MysqlConnectionConfig) *MysqlConnectionConfig {
	if c == nil {
		return nil
	}
	m := *c
	m.MysqlPassword = maskedPassword
	return &m
}

// sealFunc seals a task's password for the Nomad job, bound to the job,
// task, server and user (secret.Seal).
type sealFunc func(b secret.Binding, plain string) (string, error)

// sealer is the sealFunc of a job the API registers (in Nomad's default
// namespace), or nil when the server has no cluster secret to seal with.
func (s *Server) sealer(c echo.Context, jobID string) (sealFunc, error) {
	if s.cfg.ClusterSecret == nil {
		return nil, nil
	}
	key, err := s.cfg.ClusterSecret(c.Request().Context())
	if err != nil {
		s.log.Warn("cannot seal the job's passwords", "error", err)
		return nil, &Error{Status: http.StatusServiceUnavailable, Code: CodeUnavailable,
			Err: errors.New("the cluster's secret, which seals the job's passwords, cannot be read from Nomad now; see the plugin log, and retry")}
	}
	return func(b secret.Binding, plain string) (string, error) {
		b.Namespace, b.Job = nomad.DefaultNamespace, jobID
		return secret.Seal(key, b, plain)
	}, nil
}

// sealPasswords readies the tasks' passwords (src, then dest) for the Nomad
// job: with a node key they are stored encrypted (and checked to decrypt),
// without one sealed with the cluster's secret (seal); only a server built
// without either (an embedded API) stores them as given. An encrypted
// password (PasswordEncrypted) needs the key; a sealed one (kept from the
// stored job) stays as it is.
func sealPasswords(key *rsa.PrivateKey, seal sealFunc, tasks ...*config.Task) error {
	for i, t := range tasks {
		c := t.ConnectionConfig
		if c == nil {
			t.PasswordEncrypted, t.PasswordSealed = false, false
			continue
		}
		switch {
		case t.PasswordSealed:
		case t.PasswordEncrypted:
			if _, err := secret.Decrypt(key, c.Password); err != nil {
				return badRequest("%s.mysql_connection_config.mysql_password: %w", taskField(i), err)
			}
		case key != nil:
			enc, err := secret.Encrypt(&key.PublicKey, c.Password)
			if err != nil {
				return err
			}
			c.Password, t.PasswordEncrypted = enc, true
		case seal != nil:
			port := c.Port
			if port == 0 {
				port = config.DefaultMySQLPort
			}
			sealed, err := seal(secret.Binding{Task: taskRole(i), Host: c.Host, Port: port, User: c.User}, c.Password)
			if err != nil {
				return err
			}
			c.Password, t.PasswordSealed = sealed, true
		}
	}
	return nil
}

// openPasswords decrypts the tasks' passwords for the server checks.
func openPasswords(key *rsa.PrivateKey, tasks ...*config.Task) error {
	for i, t := range tasks {
		if c := t.ConnectionConfig; c != nil && t.PasswordEncrypted {
			pw, err := secret.Decrypt(key, c.Password)
			if err != nil {
				return badRequest("%s.mysql_connection_config.mysql_password: %w", taskField(i), err)
			}
			c.Password, t.PasswordEncrypted = pw, false
		}
	}
	return nil
}

// keepPasswords carries the stored passwords of an updated job (old; nil
// for a new job) over where the request says "*" (as the detail route shows
// them), but only to the same server as the same user: a "*" for another
// host, port or user, or with no stored password, is a 400 that asks for
// the password, as the stored one must never reach a server it was not
// given for.
func keepPasswords(old *nomad.Job, tasks map[string]*config.Task) error {
	stored := map[string]*config.Task{}
	if old != nil {
		for _, tg := range old.TaskGroups {
			for _, t := range tg.Tasks {
				if t.Driver != driverName {
					continue
				}
				if ot, err := taskFromNomad(t.Config); err == nil && ot.ConnectionConfig != nil {
					stored[t.Name] = ot
				}
			}
		}
	}
	for i, role := range []string{config.RoleSource, config.RoleDest} {
		nt := tasks[role]
		if nt == nil || nt.ConnectionConfig == nil || nt.ConnectionConfig.Password != maskedPassword {
			continue
		}
		field := taskField(i) + ".mysql_connection_config.mysql_password"
		ot := stored[role]
		if ot == nil {
			return badRequest("%s: %q stands for the stored password, and this job has none: give the password", field, maskedPassword)
		}
		oc, nc := ot.ConnectionConfig, nt.ConnectionConfig
		if !strings.EqualFold(oc.Host, nc.Host) || oc.Port != nc.Port || oc.User != nc.User {
			return badRequest("%s: %q keeps the stored password only while mysql_host, mysql_port and mysql_user stay the same; "+
				"they changed, so give the password", field, maskedPassword)
		}
		nc.Password, nt.PasswordEncrypted, nt.PasswordSealed = oc.Password, ot.PasswordEncrypted, ot.PasswordSealed
	}
	return nil
}

// taskField names the i-th of (src, dest) tasks as the job config does.
func taskField(i int) string {
	if i == 0 {
		return "src_task"
	}
	return "dest_task"
}

// taskRole is the Nomad task name of the i-th of (src, dest) tasks.
func taskRole(i int) string {
	if i == 0 {
		return config.RoleSource
	}
	return config.RoleDest
}
