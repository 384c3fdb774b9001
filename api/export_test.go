package api

import (
	"context"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Hooks for the tests of package api_test. They need the cluster's secret,
// which only the plugins (and the tests, through Nomad) can read.

// CaptchaAnswerForTest is the answer a captcha id carries.
func CaptchaAnswerForTest(clusterSecret []byte, id string) (string, error) {
	s := &Server{}
	s.keys.secret = func(context.Context) ([]byte, error) { return clusterSecret, nil }
	aead, err := s.captchaAEAD(context.Background())
	if err != nil {
		return "", err
	}
	answer, _, err := openCaptcha(aead, id)
	return answer, err
}

// SessionForTest signs a login token for tenant:user with the cluster's
// key, issued at issued and expiring at expires, as the API would but for
// the times.
func SessionForTest(clusterSecret []byte, tenant, user string, issued, expires time.Time) (string, error) {
	k := keyring{secret: func(context.Context) ([]byte, error) { return clusterSecret, nil }}
	key, err := k.key(context.Background(), jwtKeyInfo)
	if err != nil {
		return "", err
	}
	claims := sessionClaims{Tenant: tenant, Username: user, RegisteredClaims: jwt.RegisteredClaims{Issuer: sessionIssuer,
		IssuedAt: jwt.NewNumericDate(issued), ExpiresAt: jwt.NewNumericDate(expires)}}
	return jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString(key)
}
