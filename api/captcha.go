package api

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/dchest/captcha"
	"github.com/labstack/echo/v4"
)

// A captcha is six digits drawn as an image (or spoken, captcha_type
// audio) by github.com/dchest/captcha. Its id carries the answer and its
// expiry sealed (AES-256-GCM) with a key derived from the cluster's secret:
// any API node of the cluster can check an answer, no node stores
// captchas, and the id tells a client nothing. Each node takes an id once
// (it remembers the ids it checked until they expire), so solving one
// captcha gives at most one login attempt per node.
const (
	captchaDigits = captcha.DefaultLen
	captchaTTL    = 5 * time.Minute
	captchaKey    = "dtle captcha v1"
	// maxCaptchaIDLen bounds the ids decoded; real ones are 58 characters.
	maxCaptchaIDLen = 128
	// maxUsedCaptchas bounds the ids a node remembers.
	maxUsedCaptchas = 100000
)

// Captcha types of /v2/login/captcha.
const (
	CaptchaDefault = "default"
	CaptchaAudio   = "audio"
)

// errCaptcha is the reply to a wrong, expired, used or made-up captcha.
var errCaptcha = errors.New("captcha: wrong or expired; get a new one from /v2/login/captcha")

// captchaIDs remembers the captcha ids this node has checked, until they
// expire.
type captchaIDs struct {
	mu   sync.Mutex
	used map[string]time.Time
}

// take records id as used; false when it was already, or when the node
// holds too many to remember another.
func (u *captchaIDs) take(id string, expires time.Time) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	now := time.Now()
	if u.used == nil {
		u.used = map[string]time.Time{}
	}
	if _, ok := u.used[id]; ok {
		return false
	}
	if len(u.used) >= maxUsedCaptchas {
		for k, exp := range u.used {
			if now.After(exp) {
				delete(u.used, k)
			}
		}
		if len(u.used) >= maxUsedCaptchas {
			return false
		}
	}
	u.used[id] = expires
	return true
}

func (s *Server) captchaAEAD(ctx context.Context) (cipher.AEAD, error) {
	key, err := s.keys.key(ctx, captchaKey)
	if err != nil {
		return nil, err
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("captcha cipher: %w", err)
	}
	return cipher.NewGCM(block)
}

// sealCaptcha makes the id of a captcha whose answer is digits (0-9 each).
func sealCaptcha(aead cipher.AEAD, digits []byte, expires time.Time) (string, error) {
	plain := binary.BigEndian.AppendUint64(nil, uint64(expires.Unix()))
	for _, d := range digits {
		plain = append(plain, '0'+d)
	}
	nonce := make([]byte, aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("captcha nonce: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(aead.Seal(nonce, nonce, plain, []byte(captchaKey))), nil
}

// openCaptcha returns the answer and expiry an id carries.
func openCaptcha(aead cipher.AEAD, id string) (string, time.Time, error) {
	if len(id) > maxCaptchaIDLen {
		return "", time.Time{}, errCaptcha
	}
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil || len(raw) < aead.NonceSize() {
		return "", time.Time{}, errCaptcha
	}
	plain, err := aead.Open(nil, raw[:aead.NonceSize()], raw[aead.NonceSize():], []byte(captchaKey))
	if err != nil || len(plain) != 8+captchaDigits {
		return "", time.Time{}, errCaptcha
	}
	return string(plain[8:]), time.Unix(int64(binary.BigEndian.Uint64(plain[:8])), 0), nil
}

// checkCaptcha takes a captcha id and answer: the id must open with this
// cluster's key, be unexpired and not used before on this node, and the
// answer must match. Every failure is the same 400.
func (s *Server) checkCaptcha(ctx context.Context, id, answer string) error {
	aead, err := s.captchaAEAD(ctx)
	if err != nil {
		return err
	}
	want, expires, err := openCaptcha(aead, id)
	if err != nil || time.Now().After(expires) || !s.captchas.take(id, expires) {
		return badRequest("%w", errCaptcha)
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(answer)) != 1 {
		return badRequest("%w", errCaptcha)
	}
	return nil
}

// captchaV2 godoc
//
//	@Summary		Get a captcha
//	@Description	A new captcha for POST /v2/login: six digits as a PNG image (captcha_type default) or a WAV recording (audio), as a data: URL, and its id. The id holds the answer sealed with the cluster's key: any API node of the cluster checks it, once, within 5 minutes. Needs no login.
//	@Id				CaptchaV2
//	@Tags			user
//	@Accept			x-www-form-urlencoded
//	@Produce		json
//	@Param			captcha_type	formData	string	true	"captcha type"	Enums(default, audio)
//	@Success		200				{object}	CaptchaRespV2
//	@Failure		400				{object}	ErrorResponse	"invalid_request: a bad captcha_type or a malformed body"
//	@Failure		503				{object}	ErrorResponse	"unavailable: the API runs without the cluster's secret, or cannot read it from Nomad now"
//	@Router			/v2/login/captcha [post]
func (s *Server) captchaV2(c echo.Context) error {
	p, err := params(c)
	if err != nil {
		return err
	}
	kind := p["captcha_type"]
	switch kind {
	case "", CaptchaDefault, CaptchaAudio:
	default:
		return badRequest("captcha_type: %q is not default or audio", kind)
	}
	aead, err := s.captchaAEAD(c.Request().Context())
	if err != nil {
		return err
	}
	digits := captcha.RandomDigits(captchaDigits)
	id, err := sealCaptcha(aead, digits, time.Now().Add(captchaTTL))
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	scheme := "data:image/png;base64,"
	if kind == CaptchaAudio {
		scheme = "data:audio/wav;base64,"
		_, err = captcha.NewAudio(id, digits, "en").WriteTo(&buf)
	} else {
		_, err = captcha.NewImage(id, digits, captcha.StdWidth, captcha.StdHeight).WriteTo(&buf)
	}
	if err != nil {
		return fmt.Errorf("captcha: %w", err)
	}
	return c.JSON(http.StatusOK, CaptchaRespV2{ID: id, DataScheme: scheme + base64.StdEncoding.EncodeToString(buf.Bytes()), Message: MessageOK})
}
