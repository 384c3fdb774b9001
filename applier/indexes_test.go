package applier

import (
	"reflect"
	"strings"
	"testing"
)

func TestDeferIndexes(t *testing.T) {
	create := "CREATE TABLE `t` (\n" +
		"  `id` int(11) NOT NULL,\n" +
		"  `k` int(11) NOT NULL,\n" +
		"  `c` varchar(20) DEFAULT NULL,\n" +
		"  PRIMARY KEY (`id`),\n" +
		"  UNIQUE KEY `u` (`c`),\n" +
		"  KEY `k_1` (`k`),\n" +
		"  KEY `a``b` (`c`(5),`k`) COMMENT 'x'\n" +
		") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
	got, deferred := deferIndexes(create)
	want := "CREATE TABLE `t` (\n" +
		"  `id` int(11) NOT NULL,\n" +
		"  `k` int(11) NOT NULL,\n" +
		"  `c` varchar(20) DEFAULT NULL,\n" +
		"  PRIMARY KEY (`id`),\n" +
		"  UNIQUE KEY `u` (`c`)\n" +
		") ENGINE=InnoDB DEFAULT CHARSET=utf8mb4"
	if got != want || !reflect.DeepEqual(deferred, []string{"KEY `k_1` (`k`)", "KEY `a``b` (`c`(5),`k`) COMMENT 'x'"}) {
		t.Fatalf("got\n%s\n%q", got, deferred)
	}
	for _, c := range []string{
		"CREATE TABLE `c` (\n  `p` int,\n  KEY `p` (`p`),\n  CONSTRAINT `f` FOREIGN KEY (`p`) REFERENCES `t` (`id`)\n) ENGINE=InnoDB",
		"CREATE TABLE `one_line` (`id` int, KEY `i` (`id`))",
	} {
		if got, deferred := deferIndexes(c); got != c || deferred != nil {
			t.Fatalf("%s: deferred %q", c, deferred)
		}
	}
	auto := "CREATE TABLE `a` (\n" +
		"  `p` int(11) NOT NULL,\n" +
		"  `id` int(11) NOT NULL AUTO_INCREMENT,\n" +
		"  PRIMARY KEY (`p`,`id`),\n" +
		"  KEY `by_id` (`id`),\n" +
		"  KEY `by_p` (`p`)\n" +
		") ENGINE=InnoDB AUTO_INCREMENT=7"
	got, deferred = deferIndexes(auto)
	if !strings.Contains(got, "KEY `by_id` (`id`)\n") || !reflect.DeepEqual(deferred, []string{"KEY `by_p` (`p`)"}) {
		t.Fatalf("the AUTO_INCREMENT column's index was deferred:\n%s\n%q", got, deferred)
	}
	for def, want := range map[string]string{"KEY `k_1` (`k`)": "k_1", "KEY `a``b` (`c`)": "a`b"} {
		if got, ok := indexName(def); !ok || got != want {
			t.Fatalf("indexName(%s) = %q %v", def, got, ok)
		}
	}
	if _, ok := indexName("UNIQUE KEY `u` (`c`)"); ok {
		t.Fatal("a unique key read as a plain one")
	}
}
