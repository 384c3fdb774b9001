package api

import (
	"crypto/rsa"

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

// maskConn is a copy of c with the password shown as "*".
func maskConn(c *MysqlConnectionConfig) *MysqlConnectionConfig {
	if c == nil {
		return nil
	}
	m := *c
	m.MysqlPassword = "*"
	return &m
}

// sealPasswords readies the tasks' passwords for the Nomad job: with a node
// key they are stored encrypted (and checked to decrypt), without one in
// plaintext; an encrypted password (PasswordEncrypted) needs the key.
func sealPasswords(key *rsa.PrivateKey, tasks ...*config.Task) error {
	for i, t := range tasks {
		c := t.ConnectionConfig
		if c == nil {
			t.PasswordEncrypted = false
			continue
		}
		switch {
		case t.PasswordEncrypted:
			if _, err := secret.Decrypt(key, c.Password); err != nil {
				return badRequest("%s.mysql_connection_config.mysql_password: %w", taskField(i), err)
			}
			t.PasswordEncrypted = true
		case key != nil:
			enc, err := secret.Encrypt(&key.PublicKey, c.Password)
			if err != nil {
				return err
			}
			c.Password, t.PasswordEncrypted = enc, true
		default:
			t.PasswordEncrypted = false
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

// keepPasswords carries the stored passwords of an updated job over where
// the request says "*" (as the detail route shows them).
func keepPasswords(old *nomad.Job, tasks map[string]*config.Task) {
	for _, tg := range old.TaskGroups {
		for _, t := range tg.Tasks {
			nt, ok := tasks[t.Name]
			if !ok || t.Driver != driverName || nt.ConnectionConfig == nil || nt.ConnectionConfig.Password != "*" {
				continue
			}
			if ot, err := taskFromNomad(t.Config); err == nil && ot.ConnectionConfig != nil {
				nt.ConnectionConfig.Password, nt.PasswordEncrypted = ot.ConnectionConfig.Password, ot.PasswordEncrypted
			}
		}
	}
}

// taskField names the i-th of (src, dest) tasks as the job config does.
func taskField(i int) string {
	if i == 0 {
		return "src_task"
	}
	return "dest_task"
}
