package api

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"
)

// bearerScheme is the one Authorization scheme the API takes, matched
// without regard to case and followed by exactly one space.
const bearerScheme = "bearer "

// errNeedToken is the reply to a request without the right token; it says
// the same whatever was wrong with what was sent.
var errNeedToken = errors.New(`this node requires its api_token: send "Authorization: Bearer <api_token>"`)

// authenticate requires the token on every route but health and swagger.
func (s *Server) authenticate(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if s.cfg.Token == "" {
			return next(c)
		}
		p := c.Request().URL.Path
		if p == "/v2/health" || strings.HasPrefix(p, "/swagger/") {
			return next(c)
		}
		got, ok := bearerToken(c.Request().Header.Get(echo.HeaderAuthorization))
		sum := sha256.Sum256([]byte(got))
		if subtle.ConstantTimeCompare(sum[:], s.tokenHash[:]) != 1 || !ok {
			return &Error{Status: http.StatusUnauthorized, Code: CodeUnauthorized, Err: errNeedToken}
		}
		return next(c)
	}
}

// bearerToken is the token of an "Authorization: Bearer <token>" header
// value; ok is false for any other form (a bare token, another scheme, no
// token, more than one space).
func bearerToken(header string) (token string, ok bool) {
	if len(header) <= len(bearerScheme) || !strings.EqualFold(header[:len(bearerScheme)], bearerScheme) {
		return "", false
	}
	token = header[len(bearerScheme):]
	if strings.TrimLeft(token, " \t") != token {
		return "", false
	}
	return token, true
}
