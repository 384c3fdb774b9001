package change

import "testing"

func TestGTIDSets(t *testing.T) {
	cases := []struct {
		name     string
		flavor   string
		set      string
		gtid     string
		contains bool
		after    string // the set after Add(gtid)
	}{
		{"mariadb seq inside", FlavorMariaDB, "0-1-10", "0-1-5", true, "0-1-10"},
		{"mariadb seq after", FlavorMariaDB, "0-1-10", "0-1-11", false, "0-1-11"},
		{"mariadb other server same domain counts by seq", FlavorMariaDB, "0-1-10", "0-2-7", true, "0-1-10"},
		{"mariadb new domain", FlavorMariaDB, "0-1-10", "1-1-1", false, "0-1-10,1-1-1"},
		{"mariadb empty", FlavorMariaDB, "", "0-1-1", false, "0-1-1"},
		{"mysql inside interval", FlavorMySQL, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", "3e11fa47-71ca-11e1-9e33-c80aa9429562:3", true,
			"3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5"},
		{"mysql extends interval", FlavorMySQL, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", "3e11fa47-71ca-11e1-9e33-c80aa9429562:6", false,
			"3e11fa47-71ca-11e1-9e33-c80aa9429562:1-6"},
		{"mysql empty", FlavorMySQL, "", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1", false, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := ParseGTIDSet(tc.flavor, tc.set)
			if err != nil {
				t.Fatal(err)
			}
			before := s.Clone()
			got, err := s.Contains(tc.gtid)
			if err != nil || got != tc.contains {
				t.Fatalf("Contains(%s) = %v, %v", tc.gtid, got, err)
			}
			if err := s.Add(tc.gtid); err != nil {
				t.Fatal(err)
			}
			if s.String() != tc.after {
				t.Fatalf("after Add: %q, want %q", s.String(), tc.after)
			}
			if before.String() != mustParse(t, tc.flavor, tc.set).String() {
				t.Fatal("Clone shares state with the original")
			}
		})
	}
}

func mustParse(t *testing.T, flavor, s string) GTIDSet {
	t.Helper()
	set, err := ParseGTIDSet(flavor, s)
	if err != nil {
		t.Fatal(err)
	}
	return set
}

func FuzzParseMariaDBGTIDSet(f *testing.F) {
	for _, s := range []string{"0-1-10", "0-1-10,1-2-3", "", "x", "1-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := ParseGTIDSet(FlavorMariaDB, s)
		if err != nil {
			return
		}
		again, err := ParseGTIDSet(FlavorMariaDB, set.String())
		if err != nil || again.String() != set.String() {
			t.Fatalf("round trip %q -> %q -> %v %v", s, set.String(), again, err)
		}
		if n, err := Behind(set, again); err != nil || n != 0 {
			t.Fatalf("Behind(%q, itself) = %d, %v", s, n, err)
		}
		if n, err := Behind(mustParse(t, FlavorMariaDB, ""), set); err != nil || n < 0 {
			t.Fatalf("Behind(empty, %q) = %d, %v", s, n, err)
		}
	})
}

func FuzzParseMySQLGTIDSet(f *testing.F) {
	for _, s := range []string{"3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", "", "x:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		set, err := ParseGTIDSet(FlavorMySQL, s)
		if err != nil {
			return
		}
		again, err := ParseGTIDSet(FlavorMySQL, set.String())
		if err != nil || again.String() != set.String() {
			t.Fatalf("round trip %q -> %q -> %v %v", s, set.String(), again, err)
		}
		if n, err := Behind(set, again); err != nil || n != 0 {
			t.Fatalf("Behind(%q, itself) = %d, %v", s, n, err)
		}
		if n, err := Behind(mustParse(t, FlavorMySQL, ""), set); err != nil || n < 0 {
			t.Fatalf("Behind(empty, %q) = %d, %v", s, n, err)
		}
	})
}

func TestBefore(t *testing.T) {
	for _, f := range []struct{ flavor, a, b string }{
		{FlavorMariaDB, "0-1-5", "0-1-9,1-1-1"},
		{FlavorMySQL, "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5", "3e11fa47-71ca-11e1-9e33-c80aa9429562:1-9"},
	} {
		a, b := mustParse(t, f.flavor, f.a), mustParse(t, f.flavor, f.b)
		if !Before(a, b) || Before(b, a) || Before(a, a) {
			t.Errorf("%s: Before(%s, %s) wrong", f.flavor, f.a, f.b)
		}
	}
}

func TestBehind(t *testing.T) {
	const a, b = "3e11fa47-71ca-11e1-9e33-c80aa9429562", "b1c2d3e4-0000-11e1-9e33-c80aa9429562"
	cases := []struct {
		name            string
		flavor          string
		applied, source string
		want            int64
	}{
		{"mysql caught up", FlavorMySQL, a + ":1-100", a + ":1-100", 0},
		{"mysql ahead of the source counts nothing", FlavorMySQL, a + ":1-120", a + ":1-100", 0},
		{"mysql tail missing", FlavorMySQL, a + ":1-90", a + ":1-100", 10},
		{"mysql nothing applied", FlavorMySQL, "", a + ":1-100", 100},
		{"mysql a gap in the applied set counts", FlavorMySQL, a + ":1-10:21-100", a + ":1-100", 10},
		{"mysql gaps on both sides", FlavorMySQL, a + ":1-5:8-9:15", a + ":1-10:12-20", 3 + 8},
		{"mysql one applied interval spans several source ones", FlavorMySQL, a + ":1-50", a + ":1-10:20-30:40-60", 10},
		{"mysql per server uuid", FlavorMySQL, a + ":1-100," + b + ":1-3", a + ":1-100," + b + ":1-10", 7},
		{"mysql a server the replica never saw", FlavorMySQL, a + ":1-100", a + ":1-100," + b + ":5-9", 5},
		{"mysql tagged gtids count apart", FlavorMySQL, a + ":1-5:t1:1-2", a + ":1-5:t1:1-4", 2},
		{"mariadb caught up", FlavorMariaDB, "0-1-100", "0-1-100", 0},
		{"mariadb behind in a domain", FlavorMariaDB, "0-1-90", "0-1-100", 10},
		{"mariadb ahead counts nothing", FlavorMariaDB, "0-1-110", "0-1-100", 0},
		{"mariadb another server of the domain counts by seq", FlavorMariaDB, "0-1-90", "0-2-95", 5},
		{"mariadb per domain", FlavorMariaDB, "0-1-100,1-1-5", "0-1-103,1-1-9", 7},
		{"mariadb a domain the replica lacks counts whole", FlavorMariaDB, "0-1-100", "0-1-100,2-1-4", 4},
		{"mariadb nothing applied", FlavorMariaDB, "", "0-1-42", 42},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Behind(mustParse(t, tc.flavor, tc.applied), mustParse(t, tc.flavor, tc.source))
			if err != nil || got != tc.want {
				t.Fatalf("Behind(%s, %s) = %d, %v; want %d", tc.applied, tc.source, got, err, tc.want)
			}
		})
	}
	if _, err := Behind(mustParse(t, FlavorMariaDB, "0-1-1"), mustParse(t, FlavorMySQL, a+":1")); err == nil {
		t.Error("sets of two flavors: no error")
	}
}

// Behind agrees with Add: each GTID added to the applied set lowers it by
// one, down to 0 once the applied set holds the source's.
func TestBehindCountsDownAsGTIDsApply(t *testing.T) {
	const a = "3e11fa47-71ca-11e1-9e33-c80aa9429562"
	for _, tc := range []struct {
		flavor, source string
		gtids          []string
	}{
		{FlavorMySQL, a + ":1-6", []string{a + ":1", a + ":4", a + ":2", a + ":6", a + ":5", a + ":3"}},
		{FlavorMariaDB, "0-1-3,1-2-2", []string{"0-1-1", "1-2-1", "0-1-2", "1-2-2", "0-1-3"}},
	} {
		applied, source := mustParse(t, tc.flavor, ""), mustParse(t, tc.flavor, tc.source)
		want := int64(len(tc.gtids))
		for _, g := range tc.gtids {
			if n, err := Behind(applied, source); err != nil || n != want {
				t.Fatalf("%s: before %s: Behind = %d, %v; want %d", tc.flavor, g, n, err, want)
			}
			if err := applied.Add(g); err != nil {
				t.Fatal(err)
			}
			want--
		}
		if n, _ := Behind(applied, source); n != 0 {
			t.Fatalf("%s: all applied, Behind = %d", tc.flavor, n)
		}
	}
}
