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

// ErrBadCiphertext: the value is not base64 of a PKCS#1 v1.5 block made with
// the node's public key. The error never includes the value.
var ErrBadCiphertext = errors.New("encrypted mysql_password: not base64 of RSA PKCS#1 v1.5 ciphertext for this node's key")

// Decrypt returns the plaintext of an encrypted password.
func Decrypt(key *rsa.PrivateKey, encoded string) (string, error) {
	if key == nil {
		return "", ErrNoKey
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(encoded))
	if err != nil {
		return "", fmt.Errorf("%w (base64 does not decode)", ErrBadCiphertext)
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
