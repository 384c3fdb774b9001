package secret

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const pw = "s3cret-ä-pw"
	enc, err := Encrypt(&key.PublicKey, pw)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Decrypt(key, enc)
	if err != nil || got != pw {
		t.Fatalf("Decrypt = %q, %v; want %q", got, err, pw)
	}
	cases := []struct {
		name, value string
		key         *rsa.PrivateKey
		want        error
	}{
		{"no key", enc, nil, ErrNoKey},
		{"not base64", "%%%", key, ErrBadCiphertext},
		{"plain password given as encrypted", pw, key, ErrBadCiphertext},
		{"another node's key", enc, other, ErrBadCiphertext},
	}
	for _, c := range cases {
		_, err := Decrypt(c.key, c.value)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: err = %v, want %v", c.name, err, c.want)
		}
		if err != nil && strings.Contains(err.Error(), c.value) && c.value != "%%%" {
			t.Errorf("%s: error text holds the value", c.name)
		}
	}
}
