package api

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"golang.org/x/crypto/bcrypt"

	"github.com/dtle-io/dtle/internal/secret"
)

// The names dtle 4.x gave the first tenant, user and role; the first
// tenant's users see every tenant.
const (
	// PlatformTenant is the operators' tenant. Its users see and manage
	// every tenant (as far as their role lets them), and jobs without a
	// dtle_tenant meta belong to it.
	PlatformTenant = "platform"
	// AdminUser is the user the API creates on first start, in PlatformTenant.
	AdminUser = "admin"
	// AdminRole exists in every tenant: every action, on every user of the
	// tenant. It cannot be changed or deleted.
	AdminRole = "admin"
)

// Limits of names and passwords. Tenants name a Nomad Variable path
// (letters, digits, - and _ only, 128 characters in all).
const (
	maxNameLen     = 64
	minPasswordLen = 8
	// maxPasswordLen is bcrypt's limit.
	maxPasswordLen = 72
)

// validTenant checks a tenant name.
func validTenant(name string) error {
	return checkName(name, "letters, digits, - and _", func(r rune) bool { return r == '-' || r == '_' })
}

// validUserName checks a user or role name: a ':' would make "tenant:user"
// (a role's operation_users) ambiguous.
func validUserName(name string) error {
	return checkName(name, "letters, digits, -, _, . and @", func(r rune) bool { return strings.ContainsRune("-_.@", r) })
}

func checkName(name, allowed string, extra func(rune) bool) error {
	if name == "" {
		return errors.New("required")
	}
	if len(name) > maxNameLen {
		return fmt.Errorf("at most %d characters", maxNameLen)
	}
	for _, r := range name {
		if r > unicode.MaxASCII || (!unicode.IsLetter(r) && !unicode.IsDigit(r) && !extra(r)) {
			return fmt.Errorf("only %s", allowed)
		}
	}
	return nil
}

// CheckUserPassword says whether a password is good enough for a user (the
// rule dtle 4.x had): 8 to 72 bytes, with at least three of lower-case
// letters, upper-case letters, digits and other characters. The error never
// holds the password.
func CheckUserPassword(pw string) error {
	if len(pw) < minPasswordLen || len(pw) > maxPasswordLen {
		return fmt.Errorf("a password needs %d to %d bytes", minPasswordLen, maxPasswordLen)
	}
	var lower, upper, digit, other int
	for _, r := range pw {
		switch {
		case unicode.IsLower(r):
			lower = 1
		case unicode.IsUpper(r):
			upper = 1
		case unicode.IsDigit(r):
			digit = 1
		default:
			other = 1
		}
	}
	if lower+upper+digit+other < 3 {
		return errors.New("a password needs three of: lower-case letters, upper-case letters, digits, other characters")
	}
	return nil
}

// hashPassword is the bcrypt hash that is stored for a password.
func hashPassword(pw string) (string, error) {
	h, err := bcrypt.GenerateFromPassword([]byte(pw), bcrypt.DefaultCost)
	if err != nil {
		return "", fmt.Errorf("hash password: %w", err)
	}
	return string(h), nil
}

// dummyHash is compared against when the user does not exist, so a login
// takes as long whether or not it does.
var dummyHash, _ = bcrypt.GenerateFromPassword([]byte("dtle: no such user"), bcrypt.DefaultCost)

// passwordMatches compares a password with a stored hash ("" for a user
// that does not exist) in the time bcrypt takes either way.
func passwordMatches(hash, pw string) bool {
	if hash == "" {
		_ = bcrypt.CompareHashAndPassword(dummyHash, []byte(pw))
		return false
	}
	return bcrypt.CompareHashAndPassword([]byte(hash), []byte(pw)) == nil
}

// userPassword is the password a request gives: with the node's RSA key, a
// value that decrypts with it (base64 of PKCS#1 v1.5, as dtle 4.x's
// scripts send passwords) is its plaintext; anything else is the password
// as typed.
func (s *Server) userPassword(given string) string {
	if s.cfg.RSAKey == nil {
		return given
	}
	if pw, err := secret.Decrypt(s.cfg.RSAKey, given); err == nil {
		return pw
	}
	return given
}

// randomPassword is a fresh password that passes CheckUserPassword.
func randomPassword() (string, error) {
	for {
		b := make([]byte, 18)
		if _, err := rand.Read(b); err != nil {
			return "", fmt.Errorf("random password: %w", err)
		}
		pw := base64.RawURLEncoding.EncodeToString(b)
		if CheckUserPassword(pw) == nil && strings.ContainsAny(pw, "0123456789") {
			return pw, nil
		}
	}
}

// pwVersion tells one password of a user from the next (a digest of its
// salted hash), so a token issued before the password changed, or before
// the user was deleted and made again, no longer counts.
func pwVersion(hash string) string {
	return digestPrefix(hash)
}
