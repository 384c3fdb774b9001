package secret

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"math/big"
	"strings"
	"sync"
	"testing"
)

// twoKeys returns this node's key and another node's, made once for the
// package's tests (2048-bit keys are slow to make).
func twoKeys(t *testing.T) (key, other *rsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		for i := range keys {
			if keys[i], errKeys = rsa.GenerateKey(rand.Reader, 2048); errKeys != nil {
				return
			}
		}
	})
	if errKeys != nil {
		t.Fatal(errKeys)
	}
	return keys[0], keys[1]
}

var (
	keysOnce sync.Once
	keys     [2]*rsa.PrivateKey
	errKeys  error
)

func TestRoundTrip(t *testing.T) {
	key, other := twoKeys(t)
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

// TestDecryptFailuresLookAlike: every kind of bad ciphertext fails with the
// same error and the same text, so a caller cannot tell the kinds apart (a
// padding oracle needs to).
func TestDecryptFailuresLookAlike(t *testing.T) {
	key, other := twoKeys(t)
	fromOther, err := Encrypt(&other.PublicKey, "pw")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, value string
	}{
		{"not base64", "%%%"},
		{"base64 of the wrong length", base64.StdEncoding.EncodeToString([]byte("sixteen bytes..."))},
		{"empty", ""},
		{"bad padding: block type 1 instead of 2", rawEncrypt(t, &key.PublicKey, 0x01)},
		{"bad padding: no zero after the padding", rawEncrypt(t, &key.PublicKey, 0x02)},
		{"made with another key", fromOther},
	}
	var first string
	for _, c := range cases {
		_, err := Decrypt(key, c.value)
		if !errors.Is(err, ErrBadCiphertext) {
			t.Fatalf("%s: err = %v, want ErrBadCiphertext", c.name, err)
		}
		if first == "" {
			first = err.Error()
		}
		if err.Error() != first {
			t.Errorf("%s: error text %q differs from %q", c.name, err, first)
		}
	}
}

// rawEncrypt is textbook RSA of a block 0x00, blockType, then nonzero
// bytes to the end: a ciphertext of the right length whose padding is
// wrong (block type 1, or no zero byte before a message).
func rawEncrypt(t *testing.T, pub *rsa.PublicKey, blockType byte) string {
	t.Helper()
	em := make([]byte, pub.Size())
	em[1] = blockType
	for i := 2; i < len(em); i++ {
		em[i] = 0x5a
	}
	if blockType == 0x01 {
		em[len(em)-4] = 0 // a well-placed separator: only the type is wrong
	}
	c := new(big.Int).Exp(new(big.Int).SetBytes(em), big.NewInt(int64(pub.E)), pub.N)
	return base64.StdEncoding.EncodeToString(c.FillBytes(make([]byte, pub.Size())))
}
