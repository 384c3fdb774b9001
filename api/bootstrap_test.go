package api_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"

	"github.com/dtle-io/dtle/internal/devagent"
)

// TestAdminPasswordOption: on a fresh cluster whose node sets
// api_admin_password (and no api_token), the first admin logs in with that
// password, which no log shows; the 3.x routes stay open while the first
// admin is the only user.
func TestAdminPasswordOption(t *testing.T) {
	const adminPw = "Given-Admin-pw-5150"
	dir, err := os.MkdirTemp("", "dtle-e2e-agent-")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), devagent.ReadyTimeout)
	defer cancel()
	a, err := devagent.Start(ctx, devagent.Options{Dir: dir, API: true, NodeName: "dtle-admin-option",
		PluginConfig: map[string]string{"api_admin_password": fmt.Sprintf("%q", adminPw)}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		a.Stop()
		if os.Getenv("DTLE_KEEP_AGENT") == "" {
			_ = a.Remove()
		}
	})
	env := newUserEnv(t, a.APIURL, &[]string{adminPw})
	var tok string
	eventually(t, devagent.ReadyTimeout, "the first admin's login", func() string {
		r := env.do(http.MethodPost, "/v2/loginWithoutVerifyCode", map[string]string{"tenant": "platform", "username": "admin", "password": adminPw}, "")
		if r.Status != http.StatusOK {
			return string(r.Body)
		}
		tok, _ = r.object(t)["data"].(map[string]any)["token"].(string)
		return ""
	})
	env.ok(http.MethodGet, "/v2/user/current_user", nil, tok)
	env.ok(http.MethodGet, "/v2/jobs", nil, "")
	env.refused(http.StatusUnauthorized, "needs a login", http.MethodGet, "/v2/user/list", nil, "")
	b, err := os.ReadFile(a.LogPath)
	if err != nil {
		t.Fatal(err)
	}
	log := string(b)
	if strings.Contains(log, adminPw) {
		t.Error("api_admin_password shows in the agent log")
	}
	if !strings.Contains(log, "created the first user with the password of api_admin_password") || bootstrapLine.MatchString(log) {
		t.Errorf("the log does not say the first user was made with api_admin_password (and only that):\n%s", a.LogTail(40))
	}
}
