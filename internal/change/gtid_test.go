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
