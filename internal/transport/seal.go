package transport

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
)

// ErrNotSealed: a message or reply did not open with the job's key. It came
// from someone who does not hold the key (a client that only reached the
// NATS server), or the two tasks' nodes do not share the cluster key.
var ErrNotSealed = errors.New("transport: not sealed with the job's key (a client outside the job, or nodes that do not share the cluster key)")

// Every message and reply of a job is sealed (AES-256-GCM) with a key only
// its two tasks hold: a client that reaches the NATS server reads nothing
// of the job and can neither change what the destination applies, answer
// the source in its place, nor replay a reply. What it seals is bound to
// where it belongs (the additional data): the subject, and for replies the
// session, the message's number and the part.

// JobKey derives a job's key from the cluster's secret and the job's key
// (see pipeline.Key): each job has its own, and no job's key tells another's.
func JobKey(clusterSecret []byte, job string) []byte {
	m := hmac.New(sha256.New, clusterSecret)
	m.Write([]byte("dtle job key\x00" + job))
	return m.Sum(nil)
}

// Sealer seals and opens a job's messages. A nil Sealer passes data as it
// is: for jobs run inside one process, whose stream never leaves it.
type Sealer struct {
	aead cipher.AEAD
	id   [sha256.Size]byte // keyID of the key: the same key, the same id
}

// NewSealer returns the sealer of a job's 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != 32 {
		return nil, fmt.Errorf("transport: a job key has 32 bytes, not %d", len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("transport: %w", err)
	}
	return &Sealer{aead: aead, id: keyID(key)}, nil
}

// seal returns a random nonce followed by plain, encrypted and
// authenticated together with ad.
func (s *Sealer) seal(ad string, plain []byte) []byte {
	if s == nil {
		return plain
	}
	out := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		panic(fmt.Sprintf("transport: no randomness for a nonce: %v", err)) // crypto/rand does not fail on supported systems
	}
	return s.aead.Seal(out, out, plain, []byte(ad))
}

// open returns what seal sealed with ad, or ErrNotSealed.
func (s *Sealer) open(ad string, data []byte) ([]byte, error) {
	if s == nil {
		return data, nil
	}
	n := s.aead.NonceSize()
	if len(data) < n+s.aead.Overhead() {
		return nil, ErrNotSealed
	}
	plain, err := s.aead.Open(nil, data[:n], data[n:], []byte(ad))
	if err != nil {
		return nil, ErrNotSealed
	}
	return plain, nil
}

// sealOverhead is what sealing adds to a message: the nonce and the tag.
const sealOverhead = 12 + 16

// replyAD binds a reply to the request it answers: nonce is fresh for each
// request (a hello's challenge, a data request's own reply inbox), so a
// reply recorded once never answers another request.
func replyAD(subject, nonce string, part int) string {
	return fmt.Sprintf("reply\x00%s\x00%s\x00%d", subject, nonce, part)
}
