package applier

import (
	"testing"

	"github.com/dtle-io/dtle/internal/change"
)

func TestInterpret(t *testing.T) {
	cases := []struct {
		name string
		col  change.Column
		in   any
		want any
	}{
		{"unsigned tinyint", change.Column{DataType: "tinyint", Unsigned: true}, int64(-1), uint64(255)},
		{"unsigned mediumint", change.Column{DataType: "mediumint", Unsigned: true}, int64(-1), uint64(16777215)},
		{"unsigned bigint", change.Column{DataType: "bigint", Unsigned: true}, int64(-1), uint64(18446744073709551615)},
		{"signed stays", change.Column{DataType: "int"}, int64(-5), int64(-5)},
		{"unsigned positive stays", change.Column{DataType: "int", Unsigned: true}, int64(5), int64(5)},
		{"latin1 text", change.Column{DataType: "varchar", Charset: "latin1"}, []byte{'c', 'a', 'f', 0xe9}, "café"},
		{"utf8 text", change.Column{DataType: "varchar", Charset: "utf8mb4"}, []byte("😀"), "😀"},
		{"bytes stay bytes", change.Column{DataType: "blob", Binary: true}, []byte{0xff}, []byte{0xff}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := interpret(&tc.col, tc.in)
			if b, ok := tc.want.([]byte); ok {
				if g, ok := got.([]byte); !ok || string(g) != string(b) {
					t.Fatalf("got %#v", got)
				}
				return
			}
			if got != tc.want {
				t.Fatalf("got %#v (%T), want %#v", got, got, tc.want)
			}
		})
	}
}
