package extractor

import "testing"

// TestJSONTextUndoesHTMLEscaping: go-mysql renders MySQL's binary JSON with
// the keys in stored order and numbers as stored, but its encoder escapes
// <, > and & (and U+2028, U+2029) in strings, which MySQL's text form
// (SELECT of a JSON column, what Debezium's JsonBinary renders) writes as
// they are. Other escapes are MySQL's own and stay.
func TestJSONTextUndoesHTMLEscaping(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"html escapes in a value", `{"a":"\u003cb\u003e \u0026"}`, `{"a":"<b> &"}`},
		{"in a key", `{"\u003c":1}`, `{"<":1}`},
		{"line and paragraph separators", `["\u2028\u2029"]`, "[\"\u2028\u2029\"]"},
		{"an escaped backslash before u003c is text", `["\\u003c"]`, `["\\u003c"]`},
		{"an escaped quote does not end the string", `["\"\u003c"]`, `["\"<"]`},
		{"other escapes stay", `["\n\t\u0001\"\\"]`, `["\n\t\u0001\"\\"]`},
		{"numbers and order as given", `{"b":1.0,"aa":10.50}`, `{"b":1.0,"aa":10.50}`},
		{"nothing to do", `{"k":[1,2.5,"s",null,true]}`, `{"k":[1,2.5,"s",null,true]}`},
	}
	for _, c := range cases {
		if got := string(jsonText([]byte(c.in))); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
}
