package sandbox

import (
	"context"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"

	"github.com/dtle-io/dtle/internal/config"
)

// Environment variables that point the tests at servers of your own (MySQL 8,
// say) instead of throwaway MariaDB ones. Format: user:password@host:port.
const (
	EnvSource = "DTLE_TEST_SOURCE"
	EnvDest   = "DTLE_TEST_DEST"
)

// Pair is a source and a destination server.
type Pair struct {
	Source, Dest *config.MySQLConnection
	// Dir is a scratch directory that lives as long as the pair.
	Dir     string
	servers []*Server
	ownDir  bool
}

// StartPair returns the servers named by EnvSource and EnvDest, or starts two
// throwaway MariaDB servers: a source with the binlog in ROW format, FULL
// images and GTID strict mode, and a destination, each with its server_id.
func StartPair(ctx context.Context, dir string) (*Pair, error) {
	p := &Pair{Dir: dir}
	if dir == "" {
		d, err := os.MkdirTemp("", "dtle-sandbox-")
		if err != nil {
			return nil, fmt.Errorf("sandbox: %w", err)
		}
		p.Dir, p.ownDir = d, true
	}
	src, dst := os.Getenv(EnvSource), os.Getenv(EnvDest)
	if src != "" || dst != "" {
		var err error
		if p.Source, err = ParseAddr(src); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvSource, err)
		}
		if p.Dest, err = ParseAddr(dst); err != nil {
			return nil, fmt.Errorf("%s: %w", EnvDest, err)
		}
		return p, nil
	}
	for _, opt := range []Options{{Name: "source"}, {Name: "dest"}} {
		s, err := Start(ctx, p.Dir, opt)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.servers = append(p.servers, s)
	}
	p.Source, p.Dest = p.servers[0].Connection(), p.servers[1].Connection()
	return p, nil
}

// Close stops the servers the pair started and removes its scratch directory.
func (p *Pair) Close() {
	for _, s := range p.servers {
		s.Stop()
	}
	if p.ownDir {
		_ = os.RemoveAll(p.Dir)
	}
}

// ParseAddr reads user:password@host:port (the password may be empty).
func ParseAddr(s string) (*config.MySQLConnection, error) {
	at := strings.LastIndex(s, "@")
	if at < 0 {
		return nil, fmt.Errorf("want user:password@host:port")
	}
	user, pass, _ := strings.Cut(s[:at], ":")
	host, port, err := net.SplitHostPort(s[at+1:])
	if err != nil {
		return nil, fmt.Errorf("want user:password@host:port: %w", err)
	}
	p, err := strconv.Atoi(port)
	if err != nil {
		return nil, fmt.Errorf("port %q: %w", port, err)
	}
	return &config.MySQLConnection{Host: host, Port: p, User: user, Password: pass,
		CharacterSet: config.DefaultCharacterSet}, nil
}
