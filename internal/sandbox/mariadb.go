package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/dtle-io/dtle/internal/config"
	"github.com/dtle-io/dtle/internal/mysqlconn"
)

// Options shape one server.
type Options struct {
	// Name labels the server in its directory and errors ("source", "dest").
	Name string
	// ServerID is the server_id; 0 picks one from the port.
	ServerID int
	// NoBinlog starts the server with the binlog off (for negative tests).
	NoBinlog bool
	// User and Password: an account with every privilege, reachable over TCP.
	// Root on 127.0.0.1 without a password always exists too.
	User, Password string
	// Args are extra mariadbd options, such as "--binlog-format=STATEMENT".
	Args []string
}

// Server is one running MariaDB.
type Server struct {
	Name string
	Host string
	Port int
	Dir  string

	user, password string
	opt            Options
	proc           *Child
}

// Pid is the server's process id; 0 when it is not running.
func (s *Server) Pid() int {
	if s.proc == nil {
		return 0
	}
	return s.proc.Pid()
}

// StartTimeout bounds how long a server may take to accept connections.
const StartTimeout = 60 * time.Second

// Start initializes a data directory under parent and starts mariadbd on it.
func Start(ctx context.Context, parent string, opt Options) (*Server, error) {
	if err := EnsureInstalled(ctx); err != nil {
		return nil, err
	}
	port, err := FreePort()
	if err != nil {
		return nil, err
	}
	name := opt.Name
	if name == "" {
		name = "mariadb"
	}
	dir := filepath.Join(parent, fmt.Sprintf("%s-%d", name, port))
	s := &Server{Name: name, Host: "127.0.0.1", Port: port, Dir: dir, user: "root", opt: opt}
	if opt.User != "" {
		s.user, s.password = opt.User, opt.Password
	}
	if err := s.initDataDir(ctx, opt); err != nil {
		return nil, err
	}
	if err := s.start(opt); err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *Server) initDataDir(ctx context.Context, opt Options) error {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return fmt.Errorf("sandbox %s: %w", s.Name, err)
	}
	install, err := findBinary("mariadb-install-db", "mysql_install_db")
	if err != nil {
		return err
	}
	// The bootstrap server can fail for a passing reason while many servers
	// start at once (the test packages run in parallel): try it again on a
	// clean directory before giving up.
	data := filepath.Join(s.Dir, "data")
	for attempt := 1; ; attempt++ {
		out, err := exec.CommandContext(ctx, install, "--no-defaults", "--user=root",
			"--datadir="+data, "--auth-root-authentication-method=normal",
			"--skip-test-db").CombinedOutput()
		if err == nil {
			break
		}
		if attempt == installAttempts || ctx.Err() != nil {
			return fmt.Errorf("sandbox %s: %s: %w: %s", s.Name, install, err, errorLines(string(out)))
		}
		_ = os.RemoveAll(data)
		time.Sleep(time.Duration(attempt) * time.Second)
	}
	init := []string{
		"CREATE USER IF NOT EXISTS 'root'@'127.0.0.1';",
		"GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;",
	}
	if opt.User != "" {
		init = append(init,
			fmt.Sprintf("CREATE USER IF NOT EXISTS '%s'@'%%' IDENTIFIED BY '%s';", opt.User, opt.Password),
			fmt.Sprintf("GRANT ALL PRIVILEGES ON *.* TO '%s'@'%%' WITH GRANT OPTION;", opt.User))
	}
	return os.WriteFile(filepath.Join(s.Dir, "init.sql"), []byte(strings.Join(init, "\n")+"\n"), 0o600)
}

func (s *Server) start(opt Options) error {
	bin, err := findBinary("mariadbd", "mysqld")
	if err != nil {
		return err
	}
	serverID := opt.ServerID
	if serverID == 0 {
		serverID = s.Port
	}
	args := []string{
		"--no-defaults", "--user=root",
		"--datadir=" + filepath.Join(s.Dir, "data"),
		"--port=" + strconv.Itoa(s.Port), "--bind-address=127.0.0.1",
		"--socket=" + filepath.Join(s.Dir, "mysqld.sock"),
		"--pid-file=" + filepath.Join(s.Dir, "mysqld.pid"),
		"--log-error=" + filepath.Join(s.Dir, "error.log"),
		"--tmpdir=" + s.Dir,
		"--init-file=" + filepath.Join(s.Dir, "init.sql"),
		"--server-id=" + strconv.Itoa(serverID),
		"--skip-name-resolve", "--performance-schema=OFF",
		"--innodb-buffer-pool-size=64M", "--innodb-log-file-size=48M",
		"--innodb-flush-log-at-trx-commit=2", "--sync-binlog=0",
		"--character-set-server=utf8mb4", "--collation-server=utf8mb4_general_ci",
		"--max-connections=500", "--max-allowed-packet=64M",
	}
	if !opt.NoBinlog {
		args = append(args, "--log-bin=mysql-bin", "--binlog-format=ROW", "--binlog-row-image=FULL",
			"--gtid-strict-mode=ON", "--log-slave-updates=ON")
	}
	args = append(args, opt.Args...)
	//nolint:noctx // the server outlives the call that starts it; Stop ends it
	proc, err := StartChild(exec.Command(bin, args...))
	if err != nil {
		return fmt.Errorf("sandbox %s: start %s: %w", s.Name, bin, err)
	}
	s.proc = proc
	return nil
}

func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, StartTimeout)
	defer cancel()
	for {
		db, err := mysqlconn.Open(ctx, s.Connection())
		if err == nil {
			_ = db.Close()
			return nil
		}
		select {
		case <-s.proc.Exited():
			return fmt.Errorf("sandbox %s: mariadbd exited: %s", s.Name, tail(s.ErrorLog()))
		case <-ctx.Done():
			return fmt.Errorf("sandbox %s: not ready after %s: %w: %s", s.Name, StartTimeout, err, tail(s.ErrorLog()))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Connection is how a dtle task reaches the server.
func (s *Server) Connection() *config.MySQLConnection {
	return &config.MySQLConnection{Host: s.Host, Port: s.Port, User: s.user, Password: s.password,
		CharacterSet: config.DefaultCharacterSet}
}

// RootConnection reaches the server as root without a password.
func (s *Server) RootConnection() *config.MySQLConnection {
	return &config.MySQLConnection{Host: s.Host, Port: s.Port, User: "root", CharacterSet: config.DefaultCharacterSet}
}

// ErrorLog returns the server's error log.
func (s *Server) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "error.log"))
	return string(b)
}

// Stop kills the server and waits for it to exit. Its data stays in Dir.
func (s *Server) Stop() {
	if s.proc != nil {
		s.proc.Stop(syscall.SIGTERM, 20*time.Second)
	}
}

// Restart stops the server (SIGTERM: a clean shutdown) and starts it again
// on the same port and data, waiting until it accepts connections.
func (s *Server) Restart(ctx context.Context) error {
	s.Stop()
	if err := s.start(s.opt); err != nil {
		return err
	}
	return s.waitReady(ctx)
}

// FreePort asks the kernel for a free loopback TCP port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0") //nolint:noctx // bind and close at once: nothing to cancel
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer func() { _ = l.Close() }()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// installAttempts is how many times a data directory's bootstrap is tried.
const installAttempts = 3

// errorLines is the lines of a bootstrap's output that say what went
// wrong (its last lines are always the same advice), or its tail.
func errorLines(s string) string {
	var errs []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(strings.ToLower(l), "error") {
			errs = append(errs, strings.TrimSpace(l))
		}
	}
	if len(errs) == 0 {
		return tail(s)
	}
	if len(errs) > 8 {
		errs = errs[:8]
	}
	return strings.Join(errs, "\n")
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 8 {
		lines = lines[len(lines)-8:]
	}
	return strings.Join(lines, "\n")
}

// ErrNotInstalled says that no MariaDB server could be found or installed.
var ErrNotInstalled = errors.New("mariadb-server is not installed and could not be installed (apt-get install mariadb-server)")

func findBinary(names ...string) (string, error) {
	for _, n := range names {
		if p, err := exec.LookPath(n); err == nil {
			return p, nil
		}
		for _, d := range []string{"/usr/sbin", "/usr/bin", "/usr/local/bin"} {
			p := filepath.Join(d, n)
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
	}
	return "", fmt.Errorf("%w: none of %v found", ErrNotInstalled, names)
}

// EnsureInstalled installs Debian's mariadb-server when mariadbd is missing.
func EnsureInstalled(ctx context.Context) error {
	if _, err := findBinary("mariadbd", "mysqld"); err == nil {
		return nil
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: run as root or install it first", ErrNotInstalled)
	}
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	for _, args := range [][]string{{"update", "-qq"}, {"install", "-y", "-qq", "mariadb-server", "mariadb-client"}} {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = env
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("%w: apt-get %s: %w: %s", ErrNotInstalled, args[0], err, tail(string(out)))
		}
	}
	_, err := findBinary("mariadbd", "mysqld")
	return err
}
