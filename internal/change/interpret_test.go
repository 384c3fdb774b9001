package change

import (
	"testing"
)

func TestInterpret(t *testing.T) {
	cases := []struct {
		name string
		col  Column
		in   any
		want any
	}{
		{"unsigned tinyint", Column{DataType: "tinyint", Unsigned: true}, int64(-1), uint64(255)},
		{"unsigned mediumint", Column{DataType: "mediumint", Unsigned: true}, int64(-1), uint64(16777215)},
		{"unsigned bigint", Column{DataType: "bigint", Unsigned: true}, int64(-1), uint64(18446744073709551615)},
		{"signed stays", Column{DataType: "int"}, int64(-5), int64(-5)},
		{"unsigned positive stays", Column{DataType: "int", Unsigned: true}, int64(5), int64(5)},
		{"latin1 text", Column{DataType: "varchar", Charset: "latin1"}, []byte{'c', 'a', 'f', 0xe9}, "café"},
		{"utf8 text", Column{DataType: "varchar", Charset: "utf8mb4"}, []byte("😀"), "😀"},
		{"bytes stay bytes", Column{DataType: "blob", Binary: true}, []byte{0xff}, []byte{0xff}},
		// The bytes below are what the server stores for each text in the
		// column's set (SELECT HEX(CONVERT('...' USING cs))).
		{"gbk text", Column{DataType: "varchar", Charset: "gbk"}, []byte{0xcc, 0xed, 0xbc, 0xd3}, "添加"},
		{"big5 text is left to the server", Column{DataType: "varchar", Charset: "big5"}, []byte{0xa4, 0xa4, 0xa4, 0xe5}, []byte{0xa4, 0xa4, 0xa4, 0xe5}},
		{"sjis text", Column{DataType: "varchar", Charset: "sjis"}, []byte{0x82, 0xa0}, "あ"},
		{"ucs2 ASCII is two bytes a character", Column{DataType: "varchar", Charset: "ucs2"}, []byte{0, 'A', 0, 'b'}, "Ab"},
		{"utf32 text", Column{DataType: "varchar", Charset: "utf32"}, []byte{0, 0, 0x6d, 0xfb}, "添"},
		{"koi8r text", Column{DataType: "varchar", Charset: "koi8r"}, []byte{0xf0, 0xd2}, "Пр"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Interpret(&tc.col, tc.in)
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
