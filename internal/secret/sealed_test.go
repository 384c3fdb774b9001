package secret

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// A sealed password opens only with the cluster's secret it was sealed
// with, for the job, task, server and user it was sealed for: copied into
// another job or pointed at another server, it is refused, with one error
// that does not include it.
func TestSealedPasswordIsBoundToItsPlace(t *testing.T) {
	clusterSecret := bytes.Repeat([]byte{7}, 32)
	const pw = "pw-ä'\";\\"
	b := Binding{Namespace: "default", Job: "shop", Task: "src", Host: "db1", Port: 3306, User: "repl"}
	sealed, err := Seal(clusterSecret, b, pw)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(sealed, pw) || !strings.HasPrefix(sealed, sealedPrefix) {
		t.Fatalf("sealed form %q", sealed)
	}
	if again, _ := Seal(clusterSecret, b, pw); again == sealed {
		t.Error("two seals of one password are equal: the nonce is not fresh")
	}
	if got, err := Open(clusterSecret, b, sealed); err != nil || got != pw {
		t.Fatalf("Open = %q, %v", got, err)
	}
	upper := b
	upper.Host = "DB1" // host names are not case sensitive
	if got, err := Open(clusterSecret, upper, sealed); err != nil || got != pw {
		t.Errorf("Open with the host in capitals = %q, %v", got, err)
	}
	other := func(f func(*Binding)) Binding { c := b; f(&c); return c }
	tampered := []byte(sealed)
	tampered[len(tampered)-3] ^= 1
	cases := []struct {
		name    string
		secret  []byte
		binding Binding
		value   string
	}{
		{"another cluster", bytes.Repeat([]byte{8}, 32), b, sealed},
		{"another namespace", clusterSecret, other(func(c *Binding) { c.Namespace = "prod" }), sealed},
		{"another job", clusterSecret, other(func(c *Binding) { c.Job = "evil" }), sealed},
		{"another task", clusterSecret, other(func(c *Binding) { c.Task = "dest" }), sealed},
		{"another host", clusterSecret, other(func(c *Binding) { c.Host = "attacker.example" }), sealed},
		{"another port", clusterSecret, other(func(c *Binding) { c.Port = 3307 }), sealed},
		{"another user", clusterSecret, other(func(c *Binding) { c.User = "root" }), sealed},
		{"parts shifted between fields", clusterSecret, other(func(c *Binding) { c.Job, c.Task = "shops", "rc" }), sealed},
		{"tampered", clusterSecret, b, string(tampered)},
		{"truncated", clusterSecret, b, sealed[:len(sealedPrefix)+10]},
		{"not sealed", clusterSecret, b, pw},
		{"not base64", clusterSecret, b, sealedPrefix + "%%%"},
	}
	for _, c := range cases {
		got, err := Open(c.secret, c.binding, c.value)
		if !errors.Is(err, ErrSealed) || got != "" {
			t.Errorf("%s: Open = %q, %v; want ErrSealed", c.name, got, err)
			continue
		}
		if strings.Contains(err.Error(), pw) || strings.Contains(err.Error(), sealed) {
			t.Errorf("%s: the error shows the value: %v", c.name, err)
		}
	}
	if _, err := Seal([]byte("short"), b, pw); err == nil {
		t.Error("a short cluster secret sealed")
	}
}
