package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// A sealed password is how the API keeps a MySQL password in a Nomad job
// when the nodes have no RSA key: AES-256-GCM under a key derived from the
// cluster's secret (a Nomad Variable only the plugins read), bound to the
// place it was given for. `nomad job inspect` shows the sealed form only,
// and a sealed password copied into another job, or pointed at another
// server or user, does not open.

// sealedPrefix starts every sealed password; the version is part of it.
const sealedPrefix = "dtle-sealed-v1:"

// ErrSealed: a sealed password did not open. One error for every cause, and
// it never includes the value.
var ErrSealed = errors.New("mysql_password_sealed: the sealed password does not open with this cluster's secret " +
	"for this job, server and user (it was sealed for another; give the password again)")

// Binding is where a sealed password may be used: the job and task it was
// given to, and the server and user it is for.
type Binding struct {
	Namespace, Job, Task string
	Host                 string
	Port                 int
	User                 string
}

// aad is the additional data a sealed password is bound to. Every part is
// length-prefixed, so no two bindings give the same bytes.
func (b Binding) aad() []byte {
	var out []byte
	for _, s := range []string{b.Namespace, b.Job, b.Task, strings.ToLower(b.Host), strconv.Itoa(b.Port), b.User} {
		out = strconv.AppendInt(out, int64(len(s)), 10)
		out = append(out, ':')
		out = append(out, s...)
	}
	return out
}

// passwordAEAD is the cipher of sealed passwords for a cluster's secret.
func passwordAEAD(clusterSecret []byte) (cipher.AEAD, error) {
	if len(clusterSecret) < 32 {
		return nil, errors.New("sealed password: the cluster's secret is shorter than 32 bytes")
	}
	key, err := hkdf.Key(sha256.New, clusterSecret, nil, "dtle mysql password v1", 32)
	if err != nil {
		return nil, fmt.Errorf("sealed password: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("sealed password: %w", err)
	}
	return cipher.NewGCM(block)
}

// Seal seals a password for one binding.
func Seal(clusterSecret []byte, b Binding, plain string) (string, error) {
	aead, err := passwordAEAD(clusterSecret)
	if err != nil {
		return "", err
	}
	nonce := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plain)+aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("sealed password: %w", err)
	}
	return sealedPrefix + base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, []byte(plain), b.aad())), nil
}

// Open returns the password sealed for b. Every failure is ErrSealed.
func Open(clusterSecret []byte, b Binding, sealed string) (string, error) {
	aead, err := passwordAEAD(clusterSecret)
	if err != nil {
		return "", err
	}
	body, ok := strings.CutPrefix(sealed, sealedPrefix)
	if !ok {
		return "", ErrSealed
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(raw) < aead.NonceSize()+aead.Overhead() {
		return "", ErrSealed
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], b.aad())
	if err != nil {
		return "", ErrSealed
	}
	return string(plain), nil
}
