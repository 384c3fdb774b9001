// Package secret encrypts and decrypts MySQL passwords with the node's RSA
// key: base64 of RSA PKCS#1 v1.5, the form is_mysql_password_encrypted
// passwords take in API requests and job files.
package secret

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// ErrNoKey: an encrypted password arrived but the node has no
// rsa_private_key_path.
var ErrNoKey = errors.New("is_mysql_password_encrypted is true but this node has no rsa_private_key_path configured")

// ErrBadCiphertext: the value does not decrypt with the node's key. Every
// failure (not base64, the wrong length for the key, bad padding) is this
// one error with this one text, and the error never includes the value: a
// caller learns nothing about why, so replies are no padding oracle.
var ErrBadCiphertext = errors.New("encrypted mysql_password: does not decrypt with this node's key " +
	"(it must be base64 of RSA PKCS#1 v1.5 ciphertext made with the node's public key)")

// Decrypt returns the plaintext of an encrypted password.
//
// The padding is checked in constant time: rsa.DecryptPKCS1v15 runs the
// same constant-time decryption and padding scan as
// rsa.DecryptPKCS1v15SessionKey and only branches on the final validity
// bit. The checks before it (base64, length) depend only on the caller's
// own input, which the caller already knows.
func Decrypt(key *rsa.PrivateKey, encoded string) (string, error) {
	if key == nil {
		return "", ErrNoKey
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil || len(raw) != key.Size() {
		return "", ErrBadCiphertext
	}
	plain, err := rsa.DecryptPKCS1v15(nil, key, raw) //nolint:staticcheck // PKCS#1 v1.5 is the contract's format
	if err != nil {
		return "", ErrBadCiphertext
	}
	return string(plain), nil
}

// Encrypt encrypts a password with the public half of key.
func Encrypt(key *rsa.PublicKey, plain string) (string, error) {
	if key == nil {
		return "", ErrNoKey
	}
	raw, err := rsa.EncryptPKCS1v15(rand.Reader, key, []byte(plain)) //nolint:staticcheck // PKCS#1 v1.5 is the contract's format
	if err != nil {
		return "", fmt.Errorf("encrypt mysql_password: %w", err)
	}
	return base64.StdEncoding.EncodeToString(raw), nil
}
