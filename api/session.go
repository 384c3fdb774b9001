package api

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// A login gives a session: a JWT signed HS256 with a key derived from the
// cluster's secret (a Nomad Variable only the plugins read), so every API
// node of the cluster accepts it and nobody else can make one. It names
// the user and tenant, and a digest of the user's password hash: a new
// password, or deleting the user, ends the sessions issued before.
const (
	sessionTTL    = 12 * time.Hour
	sessionIssuer = "dtle"
	// sessionLeeway tolerates clocks of API nodes that differ a little.
	sessionLeeway = 30 * time.Second
	jwtKeyInfo    = "dtle jwt v1"
)

// sessionClaims are a session's claims. "group" and "name" are the names
// dtle 4.x gave the tenant and the user.
type sessionClaims struct {
	Tenant    string `json:"group"`
	Username  string `json:"name"`
	PwVersion string `json:"pv"`
	jwt.RegisteredClaims
}

// errNoLogins: the server was built without the cluster's secret (an API
// embedded without the plugin), so it can neither issue nor check a login.
var errNoLogins = errors.New("logins are not available on this API: it runs without the plugin's cluster secret; use the api_token")

// errSessionInvalid is the reply to a login token that does not count. It
// says the same whatever was wrong with it.
var errSessionInvalid = errors.New("the login is not valid (expired, ended by a password change, or not issued by this cluster); log in again")

// keyring derives and caches the keys made from the cluster's secret.
type keyring struct {
	secret func(context.Context) ([]byte, error)
	mu     sync.Mutex
	keys   map[string][]byte
}

// key is the 32-byte key for info, derived (HKDF-SHA256) from the
// cluster's secret.
func (k *keyring) key(ctx context.Context, info string) ([]byte, error) {
	if k.secret == nil {
		return nil, unavailable(errNoLogins)
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if b, ok := k.keys[info]; ok {
		return b, nil
	}
	sec, err := k.secret(ctx)
	if err != nil {
		return nil, unavailable(fmt.Errorf("the cluster's secret, which signs logins, cannot be read from Nomad now; retry: %w", err))
	}
	b, err := hkdf.Key(sha256.New, sec, nil, info, 32)
	if err != nil {
		return nil, fmt.Errorf("derive %s key: %w", info, err)
	}
	if k.keys == nil {
		k.keys = map[string][]byte{}
	}
	k.keys[info] = b
	return b, nil
}

// issueSession signs a session for a user whose stored hash is hash.
func (s *Server) issueSession(ctx context.Context, tenant, user, hash string) (string, error) {
	key, err := s.keys.key(ctx, jwtKeyInfo)
	if err != nil {
		return "", err
	}
	now := time.Now()
	claims := sessionClaims{Tenant: tenant, Username: user, PwVersion: pwVersion(hash), RegisteredClaims: jwt.RegisteredClaims{
		Issuer: sessionIssuer, Subject: tenant + ":" + user, IssuedAt: jwt.NewNumericDate(now),
		NotBefore: jwt.NewNumericDate(now.Add(-sessionLeeway)), ExpiresAt: jwt.NewNumericDate(now.Add(sessionTTL)),
	}}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
	if err != nil {
		return "", fmt.Errorf("sign session: %w", err)
	}
	return tok, nil
}

// parseSession checks a session's signature, algorithm, issuer and time,
// and returns its claims; the caller still checks the user and PwVersion.
func (s *Server) parseSession(ctx context.Context, raw string) (*sessionClaims, error) {
	key, err := s.keys.key(ctx, jwtKeyInfo)
	if err != nil {
		return nil, err
	}
	var claims sessionClaims
	_, err = jwt.ParseWithClaims(raw, &claims, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{jwt.SigningMethodHS256.Alg()}), jwt.WithIssuer(sessionIssuer),
		jwt.WithExpirationRequired(), jwt.WithIssuedAt(), jwt.WithLeeway(sessionLeeway))
	if err != nil {
		return nil, &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Err: errSessionInvalid}
	}
	return &claims, nil
}

// looksLikeJWT tells a login token (three base64url parts) from an
// api_token, which the API never takes for one.
func looksLikeJWT(v string) bool {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return false
	}
	for _, p := range parts {
		if p == "" || strings.Trim(p, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" {
			return false
		}
	}
	return true
}

// digestPrefix is a short digest of v, for telling values apart.
func digestPrefix(v string) string {
	sum := sha256.Sum256([]byte(v))
	return base64.RawURLEncoding.EncodeToString(sum[:12])
}
