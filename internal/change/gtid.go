package change

import (
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	gomysql "github.com/go-mysql-org/go-mysql/mysql"
)

// Flavors of GTID.
const (
	FlavorMySQL   = "mysql"
	FlavorMariaDB = "mariadb"
)

// GTIDSet is a set of executed transactions: MySQL's uuid:interval sets or
// MariaDB's domain-server-seq positions.
type GTIDSet interface {
	// Contains reports whether the single GTID gtid is in the set.
	Contains(gtid string) (bool, error)
	// ContainsSet reports whether every GTID of other is in the set; other
	// must be of the same flavor.
	ContainsSet(other GTIDSet) bool
	// Add records gtid as executed.
	Add(gtid string) error
	// String is the canonical text form, which ParseGTIDSet reads back.
	String() string
	// Clone returns an independent copy.
	Clone() GTIDSet
}

// ParseGTIDSet reads a GTID set of the flavor; "" is the empty set.
func ParseGTIDSet(flavor, s string) (GTIDSet, error) {
	switch flavor {
	case FlavorMariaDB:
		return parseMariaDB(s)
	case FlavorMySQL:
		set, err := gomysql.ParseMysqlGTIDSet(strings.TrimSpace(s))
		if err != nil {
			return nil, fmt.Errorf("parse mysql gtid set %q: %w", s, err)
		}
		return &mysqlSet{set: set.(*gomysql.MysqlGTIDSet)}, nil
	default:
		return nil, fmt.Errorf("parse gtid set: unknown flavor %q", flavor)
	}
}

type mysqlSet struct{ set *gomysql.MysqlGTIDSet }

func (m *mysqlSet) Contains(gtid string) (bool, error) {
	one, err := gomysql.ParseMysqlGTIDSet(gtid)
	if err != nil {
		return false, fmt.Errorf("parse gtid %q: %w", gtid, err)
	}
	return m.set.Contain(one), nil
}

func (m *mysqlSet) ContainsSet(other GTIDSet) bool {
	o, ok := other.(*mysqlSet)
	return ok && m.set.Contain(o.set)
}

func (m *mysqlSet) Add(gtid string) error {
	if err := m.set.Update(gtid); err != nil {
		return fmt.Errorf("add gtid %q: %w", gtid, err)
	}
	return nil
}

func (m *mysqlSet) String() string { return m.set.String() }
func (m *mysqlSet) Clone() GTIDSet { return &mysqlSet{set: m.set.Clone().(*gomysql.MysqlGTIDSet)} }

// mariaSet is a MariaDB GTID position: per replication domain, the last
// executed server_id and sequence number. A GTID is contained when its
// sequence number is at or below its domain's.
type mariaSet map[uint32]mariaGTID

type mariaGTID struct {
	Domain, Server uint32
	Seq            uint64
}

func parseMariaGTID(s string) (mariaGTID, error) {
	parts := strings.Split(strings.TrimSpace(s), "-")
	if len(parts) != 3 {
		return mariaGTID{}, fmt.Errorf("parse mariadb gtid %q: want domain-server-seq", s)
	}
	d, err1 := strconv.ParseUint(parts[0], 10, 32)
	srv, err2 := strconv.ParseUint(parts[1], 10, 32)
	seq, err3 := strconv.ParseUint(parts[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil {
		return mariaGTID{}, fmt.Errorf("parse mariadb gtid %q: not numbers", s)
	}
	return mariaGTID{Domain: uint32(d), Server: uint32(srv), Seq: seq}, nil
}

func parseMariaDB(s string) (mariaSet, error) {
	set := mariaSet{}
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		g, err := parseMariaGTID(part)
		if err != nil {
			return nil, err
		}
		if old, ok := set[g.Domain]; ok && old.Seq >= g.Seq {
			continue
		}
		set[g.Domain] = g
	}
	return set, nil
}

func (m mariaSet) Contains(gtid string) (bool, error) {
	g, err := parseMariaGTID(gtid)
	if err != nil {
		return false, err
	}
	cur, ok := m[g.Domain]
	return ok && g.Seq <= cur.Seq, nil
}

func (m mariaSet) ContainsSet(other GTIDSet) bool {
	o, ok := other.(mariaSet)
	if !ok {
		return false
	}
	for d, g := range o {
		if cur, ok := m[d]; !ok || g.Seq > cur.Seq {
			return false
		}
	}
	return true
}

func (m mariaSet) Add(gtid string) error {
	g, err := parseMariaGTID(gtid)
	if err != nil {
		return err
	}
	if cur, ok := m[g.Domain]; !ok || g.Seq > cur.Seq {
		m[g.Domain] = g
	}
	return nil
}

func (m mariaSet) String() string {
	domains := make([]uint32, 0, len(m))
	for d := range m {
		domains = append(domains, d)
	}
	sort.Slice(domains, func(i, j int) bool { return domains[i] < domains[j] })
	parts := make([]string, len(domains))
	for i, d := range domains {
		g := m[d]
		parts[i] = fmt.Sprintf("%d-%d-%d", g.Domain, g.Server, g.Seq)
	}
	return strings.Join(parts, ",")
}

func (m mariaSet) Clone() GTIDSet {
	out := make(mariaSet, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// Before reports whether a is a strictly earlier position than b.
func Before(a, b GTIDSet) bool { return b.ContainsSet(a) && !a.ContainsSet(b) }

// Behind counts the transactions of source that applied lacks: how many
// transactions a replica at applied has still to apply to reach source.
// MySQL: per server UUID (and tag), the GTIDs of source's intervals that no
// interval of applied covers. MariaDB: per replication domain, source's
// sequence number minus applied's when it is ahead (a domain applied lacks
// counts whole), as sequence numbers within a domain count its
// transactions. The sets must be of one flavor.
func Behind(applied, source GTIDSet) (int64, error) {
	switch s := source.(type) {
	case *mysqlSet:
		a, ok := applied.(*mysqlSet)
		if !ok {
			return 0, fmt.Errorf("gtid sets of different flavors: %T and %T", applied, source)
		}
		var n int64
		for sid, tags := range *s.set {
			for tag, ivs := range tags {
				n = addCapped(n, uncovered(ivs, (*a.set)[sid][tag]))
			}
		}
		return n, nil
	case mariaSet:
		a, ok := applied.(mariaSet)
		if !ok {
			return 0, fmt.Errorf("gtid sets of different flavors: %T and %T", applied, source)
		}
		var n int64
		for d, g := range s {
			if have := a[d].Seq; g.Seq > have {
				n = addCapped(n, int64(min(g.Seq-have, math.MaxInt64)))
			}
		}
		return n, nil
	}
	return 0, fmt.Errorf("gtid set of unknown flavor: %T", source)
}

// uncovered counts the GTIDs of intervals src that no interval of cover
// holds (intervals stop before Stop).
func uncovered(src, cover gomysql.IntervalSlice) int64 {
	src, cover = slices.Clone(src).Normalize(), slices.Clone(cover).Normalize()
	var n int64
	j := 0
	for _, iv := range src {
		for j < len(cover) && cover[j].Stop <= iv.Start {
			j++ // ends before this interval, and so before every later one
		}
		at := iv.Start
		for k := j; at < iv.Stop && k < len(cover) && cover[k].Start < iv.Stop; k++ {
			if cover[k].Start > at {
				n = addCapped(n, cover[k].Start-at)
			}
			at = max(at, cover[k].Stop)
		}
		if at < iv.Stop {
			n = addCapped(n, iv.Stop-at)
		}
	}
	return n
}

// addCapped is a+b, at most math.MaxInt64 (both are not negative).
func addCapped(a, b int64) int64 {
	if b > math.MaxInt64-a {
		return math.MaxInt64
	}
	return a + b
}
