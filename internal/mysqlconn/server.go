package mysqlconn

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
)

// Flavor is the kind of server.
type Flavor string

// Flavors dtle speaks.
const (
	FlavorMySQL   Flavor = "mysql"
	FlavorMariaDB Flavor = "mariadb"
)

// Server describes a connected server.
type Server struct {
	Flavor  Flavor
	Version string // as reported by VERSION()
	Major   int
	Minor   int
	Patch   int
}

func (s Server) String() string {
	name := "MySQL"
	if s.Flavor == FlavorMariaDB {
		name = "MariaDB"
	}
	return fmt.Sprintf("%s %d.%d.%d", name, s.Major, s.Minor, s.Patch)
}

// AtLeast reports whether the server version is major.minor or newer.
func (s Server) AtLeast(major, minor int) bool {
	return s.Major > major || (s.Major == major && s.Minor >= minor)
}

// Detect asks the server for its flavor and version.
func Detect(ctx context.Context, db *sql.DB) (Server, error) {
	var version string
	if err := db.QueryRowContext(ctx, "SELECT VERSION()").Scan(&version); err != nil {
		return Server{}, fmt.Errorf("detect version: %w", err)
	}
	return ParseVersion(version)
}

// ParseVersion reads a VERSION() string such as "8.0.36",
// "10.11.6-MariaDB-0+deb12u1-log" or "5.5.5-10.11.6-MariaDB".
func ParseVersion(version string) (Server, error) {
	s := Server{Version: version, Flavor: FlavorMySQL}
	v := version
	if strings.Contains(strings.ToLower(v), "mariadb") {
		s.Flavor = FlavorMariaDB
		// Old clients see a "5.5.5-" prefix in front of the real version.
		v = strings.TrimPrefix(v, "5.5.5-")
	}
	if i := strings.IndexAny(v, "-+ "); i >= 0 {
		v = v[:i]
	}
	parts := strings.Split(v, ".")
	if len(parts) < 2 {
		return s, fmt.Errorf("parse server version %q: want major.minor[.patch]", version)
	}
	nums := make([]int, 3)
	for i := 0; i < len(parts) && i < 3; i++ {
		n, err := strconv.Atoi(parts[i])
		if err != nil {
			return s, fmt.Errorf("parse server version %q: %w", version, err)
		}
		nums[i] = n
	}
	s.Major, s.Minor, s.Patch = nums[0], nums[1], nums[2]
	return s, nil
}

// Supported returns an error saying what to change when dtle cannot work with
// this server version.
func (s Server) Supported() error {
	switch s.Flavor {
	case FlavorMariaDB:
		if !s.AtLeast(10, 0) {
			return fmt.Errorf("%s is not supported: use MariaDB 10.0 or newer", s)
		}
	default:
		if !s.AtLeast(5, 7) {
			return fmt.Errorf("%s is not supported: use MySQL 5.7 or newer", s)
		}
	}
	return nil
}

// Variables reads global variables by name; a missing variable is absent
// from the map.
func Variables(ctx context.Context, db *sql.DB, names ...string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	for _, n := range names {
		var name, value string
		err := db.QueryRowContext(ctx, "SHOW GLOBAL VARIABLES LIKE ?", n).Scan(&name, &value)
		if err == sql.ErrNoRows {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read variable %s: %w", n, err)
		}
		out[strings.ToLower(name)] = value
	}
	return out, nil
}
