package change

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/klauspost/compress/s2"
	"github.com/klauspost/compress/zstd"
)

// sysbenchChunk is a chunk shaped like sysbench's sbtest rows: id, k, and
// two strings of digit groups.
func sysbenchChunk(n int) *Message {
	r := rand.New(rand.NewPCG(1, 2))
	digits := func(groups, size int) string {
		b := make([]byte, 0, groups*(size+1))
		for g := range groups {
			if g > 0 {
				b = append(b, '-')
			}
			for range size {
				b = append(b, byte('0'+r.IntN(10)))
			}
		}
		return string(b)
	}
	var rows []Row
	for i := range n {
		rows = append(rows, Row{fmt.Sprint(i + 1), fmt.Sprint(r.IntN(1000000)), digits(10, 11), digits(5, 11)})
	}
	return &Message{Kind: KindChunk, Table: &Table{Schema: "sbtest", Name: "sbtest1"}, Rows: mustPack(rows)}
}

// BenchmarkCompression measures the choice of s2 for the wire: bytes per
// row and the cost of compressing a 2000-row chunk, against no compression
// and zstd.
func BenchmarkCompression(b *testing.B) {
	m := sysbenchChunk(2000)
	data, err := Encode(m)
	if err != nil {
		b.Fatal(err)
	}
	raw := data[1:] // the sample does not shrink: sent as it is
	if data[0] == frameS2 {
		if raw, err = s2.Decode(nil, raw); err != nil {
			b.Fatal(err)
		}
	}
	enc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	defer func() { _ = enc.Close() }()
	for _, c := range []struct {
		name string
		fn   func([]byte) []byte
	}{
		{"none", func(p []byte) []byte { return p }},
		{"s2", func(p []byte) []byte { return s2.Encode(nil, p) }},
		{"zstd-fastest", func(p []byte) []byte { return enc.EncodeAll(p, nil) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(raw)))
			var out []byte
			for b.Loop() {
				out = c.fn(raw)
			}
			b.ReportMetric(float64(len(out))/2000, "wire-bytes/row")
		})
	}
}
