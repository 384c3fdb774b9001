package api_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/dtle-io/dtle/api"
	"github.com/dtle-io/dtle/internal/secret"
)

// serveInProcess runs an API server for cfg in the test, on a free port,
// until the test ends; it returns the address.
func serveInProcess(t *testing.T, cfg api.Config) string {
	t.Helper()
	srv, err := api.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.ServeListener(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("serve: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("the server did not stop")
		}
	})
	return ln.Addr().String()
}

// trickle writes one byte a second to conn until it fails or stop closes.
func trickle(conn net.Conn, stop <-chan struct{}) {
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
			if _, err := conn.Write([]byte("x")); err != nil {
				return
			}
		}
	}
}

// TestServerTimeouts: the server cuts off a client that sends its headers
// or its body too slowly (1 byte a second) within the read timeouts, and
// closes a keep-alive connection left idle within the idle timeout.
func TestServerTimeouts(t *testing.T) {
	cfg := api.Config{Addr: "127.0.0.1:0", Nomad: api.NomadConn{Addr: "127.0.0.1:1"}, ReadHeaderTimeout: time.Second,
		ReadTimeout: 2 * time.Second, WriteTimeout: 5 * time.Second, IdleTimeout: 2 * time.Second}
	addr := serveInProcess(t, cfg)
	// slack is how late after its timeout the server may close: scheduling
	// on a busy machine.
	const slack = 2 * time.Second
	cases := []struct {
		name    string
		timeout time.Duration
		// start does what the client does; the clock runs from its return.
		start func(t *testing.T, conn net.Conn, stop <-chan struct{})
		// status is the reply expected before the close; 0 for none.
		status int
	}{
		{"headers sent 1 byte a second", cfg.ReadHeaderTimeout, func(t *testing.T, conn net.Conn, stop <-chan struct{}) {
			write(t, conn, "GET /v2/health HTTP/1.1\r\nHost: x\r\n")
			go trickle(conn, stop)
		}, 0},
		{"body sent 1 byte a second", cfg.ReadTimeout, func(t *testing.T, conn net.Conn, stop <-chan struct{}) {
			write(t, conn, "POST /v2/log/level HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{")
			go trickle(conn, stop)
		}, http.StatusRequestTimeout},
		{"idle keep-alive connection", cfg.IdleTimeout, func(t *testing.T, conn net.Conn, stop <-chan struct{}) {
			write(t, conn, "GET /v2/nope HTTP/1.1\r\nHost: x\r\n\r\n")
			_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(conn)
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("first request: %v", err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound || resp.Close {
				t.Fatalf("first request: %d, close %v; want a kept-alive 404", resp.StatusCode, resp.Close)
			}
		}, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conn, err := (&net.Dialer{}).DialContext(context.Background(), "tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer func() { _ = conn.Close() }()
			stop := make(chan struct{})
			defer close(stop)
			c.start(t, conn, stop)
			began := time.Now()
			_ = conn.SetReadDeadline(began.Add(c.timeout + slack + 3*time.Second))
			got, err := io.ReadAll(conn) // until the server closes
			elapsed := time.Since(began)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("the server kept the connection open %s (timeout %s)", elapsed.Round(time.Millisecond), c.timeout)
			}
			if elapsed > c.timeout+slack {
				t.Errorf("closed after %s, want within %s of the %s timeout", elapsed.Round(time.Millisecond), slack, c.timeout)
			}
			if c.status != 0 {
				resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(got))), nil)
				if err != nil {
					t.Fatalf("reply before the close: %q: %v", got, err)
				}
				_ = resp.Body.Close()
				if resp.StatusCode != c.status {
					t.Errorf("reply before the close: %q, want status %d", got, c.status)
				}
			}
		})
	}
}

func write(t *testing.T, conn net.Conn, s string) {
	t.Helper()
	if _, err := conn.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
}

// TestEncryptedPasswordErrorsLookAlike: whatever is wrong with an
// encrypted password, the reply is the same 400 with the same text.
func TestEncryptedPasswordErrorsLookAlike(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	fromOther, err := secret.Encrypt(&other.PublicKey, "pw")
	if err != nil {
		t.Fatal(err)
	}
	noise := make([]byte, key.Size())
	if _, err := rand.Read(noise); err != nil {
		t.Fatal(err)
	}
	noise[0] = 0 // below the modulus: decrypts, to a bad padding
	srv, err := api.New(api.Config{Addr: "127.0.0.1:0", Nomad: api.NomadConn{Addr: "127.0.0.1:1"}, RSAKey: key})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	cases := []struct{ name, value string }{
		{"not base64", "not base64!"},
		{"wrong length", base64.StdEncoding.EncodeToString([]byte("short"))},
		{"bad padding", base64.StdEncoding.EncodeToString(noise)},
		{"another node's key", fromOther},
	}
	get := func(value string) (int, string) {
		q := url.Values{"mysql_host": {"127.0.0.1"}, "mysql_port": {"1"}, "mysql_user": {"u"},
			"mysql_password": {value}, "is_mysql_password_encrypted": {"true"}}
		req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, ts.URL+"/v2/mysql/schemas?"+q.Encode(), nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, string(body)
	}
	// The control: a password sealed with the node's key decrypts, and the
	// route goes on to the server (which is not there): not the 400 below.
	good, err := secret.Encrypt(&key.PublicKey, "pw")
	if err != nil {
		t.Fatal(err)
	}
	var first string
	if status, body := get(good); status == http.StatusBadRequest && strings.Contains(body, "mysql_password") {
		t.Fatalf("a well-sealed password: %d %s", status, body)
	}
	for _, c := range cases {
		status, body := get(c.value)
		if status != http.StatusBadRequest || !strings.Contains(body, "mysql_password") {
			t.Fatalf("%s: %d %s, want a 400 about mysql_password", c.name, status, body)
		}
		if first == "" {
			first = body
		}
		if body != first {
			t.Errorf("%s: reply %s differs from %s", c.name, body, first)
		}
	}
}
