package mysqlconn

import (
	"errors"
	"strings"
	"testing"

	"github.com/dtle-io/dtle/internal/config"
)

func TestParseVersion(t *testing.T) {
	cases := []struct {
		name      string
		in        string
		flavor    Flavor
		mj, mn, p int
		supported bool
	}{
		{"mysql 8", "8.0.36", FlavorMySQL, 8, 0, 36, true},
		{"mysql 5.7 with suffix", "5.7.44-log", FlavorMySQL, 5, 7, 44, true},
		{"mysql 5.6 is too old", "5.6.51", FlavorMySQL, 5, 6, 51, false},
		{"debian mariadb", "10.11.6-MariaDB-0+deb12u1-log", FlavorMariaDB, 10, 11, 6, true},
		{"mariadb behind the 5.5.5 prefix", "5.5.5-10.6.16-MariaDB", FlavorMariaDB, 10, 6, 16, true},
		{"mariadb 11", "11.4.2-MariaDB", FlavorMariaDB, 11, 4, 2, true},
		{"mysql 8.4 two parts", "8.4", FlavorMySQL, 8, 4, 0, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseVersion(tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if s.Flavor != tc.flavor || s.Major != tc.mj || s.Minor != tc.mn || s.Patch != tc.p {
				t.Fatalf("got %+v", s)
			}
			if (s.Supported() == nil) != tc.supported {
				t.Fatalf("supported = %v, want %v", s.Supported(), tc.supported)
			}
		})
	}
	for _, bad := range []string{"", "eight", "8", "x.y"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("ParseVersion(%q): want error", bad)
		}
	}
}

func FuzzParseVersion(f *testing.F) {
	for _, s := range []string{"8.0.36", "10.11.6-MariaDB-log", "5.5.5-10.6.1-MariaDB", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := ParseVersion(s)
		if err == nil && v.Version != s {
			t.Fatalf("version text lost: %q -> %q", s, v.Version)
		}
	})
}

func TestRedact(t *testing.T) {
	c := &config.MySQLConnection{Password: "s3cret"}
	cause := errors.New("dial: user:s3cret@tcp(h:1) refused")
	err := Redact(cause, c)
	if strings.Contains(err.Error(), "s3cret") {
		t.Fatalf("password left in %q", err)
	}
	if !errors.Is(err, cause) {
		t.Fatal("cause lost")
	}
	if Redact(nil, c) != nil {
		t.Fatal("nil error became non-nil")
	}
	if DSN(&config.MySQLConnection{Host: "h", Port: 1, User: "u", Password: "s3cret"}) == "" {
		t.Fatal("empty DSN")
	}
}
