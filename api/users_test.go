package api_test

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image/png"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dtle-io/dtle/api"
)

// TestUsersRolesAndLogin drives the users, roles, tenants and login routes
// against the plugin's API on a real Nomad agent, and a second API node
// served in the test: the first admin, logins with and without a captcha,
// refused tokens, two tenants that never see each other, roles that limit
// routes, the 3.x routes closing once users exist, and the state in Nomad
// seen alike by every node. No password shows in a reply or a log.
func TestUsersRolesAndLogin(t *testing.T) {
	startAgent(t)
	secret := clusterSecret(t)
	passwords := &[]string{}
	plugin := newUserEnv(t, apiURL, passwords)
	var nodeLogs syncBuffer
	node := newUserEnv(t, serveNode(t, secret, &nodeLogs), passwords)
	run := strings.ToLower(rand.Text()[:6])
	tenantA, tenantB := "ta-"+run, "tb-"+run
	pwAlice, pwBob, pwCarol, pwDave := "Alice-pw-"+run, "Bob-pw-"+run, "Carol-pw-"+run, "Dave-pw-"+run
	t.Cleanup(func() {
		plugin.t = t
		cleanTenants(plugin, tenantA, tenantB)
	})

	adminPw := bootstrapPassword(t)
	*passwords = append(*passwords, adminPw)

	t.Run("3.x routes open before users are configured", func(t *testing.T) {
		plugin.t, node.t = t, t
		eventually(t, 30*time.Second, "GET /v2/jobs open on a node without api_token", func() string {
			if r := node.do(http.MethodGet, "/v2/jobs", nil, ""); r.Status != http.StatusOK {
				return string(r.Body)
			}
			return ""
		})
		node.refused(http.StatusUnauthorized, "needs a login or the api_token", http.MethodGet, "/v2/user/list", nil, "")
		plugin.refused(http.StatusUnauthorized, "Authorization: Bearer <api_token>", http.MethodGet, "/v2/jobs", nil, "")
	})

	var admin string
	t.Run("login with a captcha", func(t *testing.T) {
		plugin.t, node.t = t, t
		id, answer := getCaptcha(t, plugin, secret, api.CaptchaDefault)
		body := map[string]string{"tenant": api.PlatformTenant, "username": api.AdminUser, "password": adminPw, "captcha_id": id, "captcha": answer}
		m := plugin.ok(http.MethodPost, "/v2/login", body, "")
		admin, _ = m["data"].(map[string]any)["token"].(string)
		plugin.refused(http.StatusBadRequest, "captcha", http.MethodPost, "/v2/login", body, "") // used
		id, answer = getCaptcha(t, plugin, secret, api.CaptchaAudio)
		body["captcha_id"], body["captcha"] = id, wrongDigits(answer)
		plugin.refused(http.StatusBadRequest, "captcha", http.MethodPost, "/v2/login", body, "")
		// A captcha of one node is good on another.
		id, answer = getCaptcha(t, plugin, secret, api.CaptchaDefault)
		body["captcha_id"], body["captcha"] = id, answer
		node.ok(http.MethodPost, "/v2/login", body, "")
		body["captcha_id"] = "bm90IGEgY2FwdGNoYQ"
		plugin.refused(http.StatusBadRequest, "captcha", http.MethodPost, "/v2/login", body, "")
		delete(body, "captcha")
		plugin.refused(http.StatusBadRequest, "captcha: required", http.MethodPost, "/v2/login", body, "")
	})

	t.Run("login without a captcha, and refused logins", func(t *testing.T) {
		plugin.t, node.t = t, t
		tok := plugin.login(api.PlatformTenant, api.AdminUser, adminPw)
		m := plugin.ok(http.MethodGet, "/v2/user/current_user", nil, tok)
		if cu := m["current_user"].(map[string]any); cu["username"] != api.AdminUser || cu["password"] != "*" || cu["role"] != api.AdminRole {
			t.Errorf("current_user %v", cu)
		}
		wrong := map[string]string{"tenant": api.PlatformTenant, "username": api.AdminUser, "password": adminPw + "x"}
		plugin.refused(http.StatusUnauthorized, "wrong", http.MethodPost, "/v2/loginWithoutVerifyCode", wrong, "")
		wrong["username"] = "nobody-" + run
		plugin.refused(http.StatusUnauthorized, "wrong", http.MethodPost, "/v2/loginWithoutVerifyCode", wrong, "")
		plugin.refused(http.StatusBadRequest, "application/json", http.MethodPost, "/v2/loginWithoutVerifyCode",
			url.Values{"tenant": {api.PlatformTenant}, "username": {api.AdminUser}, "password": {adminPw}}, "")
		plugin.refused(http.StatusBadRequest, "password: required", http.MethodPost, "/v2/loginWithoutVerifyCode",
			map[string]string{"tenant": api.PlatformTenant, "username": api.AdminUser}, "")
		// Five failures of one user lock its logins on the node.
		for range 4 {
			plugin.do(http.MethodPost, "/v2/loginWithoutVerifyCode", wrong, "")
		}
		r := plugin.do(http.MethodPost, "/v2/loginWithoutVerifyCode", wrong, "")
		wantError(t, r, http.StatusTooManyRequests, "too many failed logins")
	})

	t.Run("tokens that do not count", func(t *testing.T) {
		plugin.t, node.t = t, t
		refuse := func(name, tok string) {
			t.Helper()
			if r := plugin.do(http.MethodGet, "/v2/user/current_user", nil, tok); r.Status != http.StatusUnauthorized {
				t.Errorf("a token %s: %d %.200s", name, r.Status, r.Body)
			}
		}
		other := make([]byte, 32)
		_, _ = rand.Read(other)
		forged, _ := api.SessionForTest(other, api.PlatformTenant, api.AdminUser, time.Now(), time.Now().Add(time.Hour))
		refuse("signed with another key", forged)
		expired, _ := api.SessionForTest(secret, api.PlatformTenant, api.AdminUser, time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour))
		refuse("expired", expired)
		noVersion, _ := api.SessionForTest(secret, api.PlatformTenant, api.AdminUser, time.Now(), time.Now().Add(time.Hour))
		refuse("not from a login (no password version)", noVersion)
		refuse("signature changed", admin[:len(admin)-2]+flip(admin[len(admin)-2:]))
		parts := strings.Split(admin, ".")
		refuse("algorithm none", base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"JWT"}`))+"."+parts[1]+".")
		refuse("the api_token is no login token", "x"+apiToken)
		// The token of one node is good on another; the 3.x routes take it.
		node.ok(http.MethodGet, "/v2/user/current_user", nil, admin)
		plugin.ok(http.MethodGet, "/v2/jobs", nil, admin)
	})

	var alice, bob string
	t.Run("two tenants never see each other", func(t *testing.T) {
		plugin.t, node.t = t, t
		plugin.createUser(admin, tenantA, "alice", api.AdminRole, pwAlice)
		plugin.createUser(apiToken, tenantB, "bob", api.AdminRole, pwBob)
		plugin.ok(http.MethodPost, "/v2/role/create", map[string]any{"tenant": tenantB, "name": "rb", "authority": "",
			"operation_object_type": "all", "operation_users": []string{}}, admin)
		alice, bob = plugin.login(tenantA, "alice", pwAlice), plugin.login(tenantB, "bob", pwBob)

		if got := plugin.ok(http.MethodGet, "/v2/tenant/list", nil, alice)["tenant_list"]; !sameJSON(got, []string{tenantA}) {
			t.Errorf("alice's tenants: %v", got)
		}
		all := plugin.ok(http.MethodGet, "/v2/tenant/list", nil, admin)["tenant_list"].([]any)
		if !slices.Contains(all, any(tenantA)) || !slices.Contains(all, any(tenantB)) || !slices.Contains(all, any(api.PlatformTenant)) {
			t.Errorf("the platform admin's tenants: %v", all)
		}
		for tok, want := range map[string][]string{alice: {tenantA + ":alice"}, bob: {tenantB + ":bob"}} {
			if got := qualified(plugin.ok(http.MethodGet, "/v2/user/list", nil, tok), "user_list", "username"); !slices.Equal(got, want) {
				t.Errorf("user list: %v, want %v", got, want)
			}
		}
		if got := qualified(plugin.ok(http.MethodGet, "/v2/user/list?filter_tenant="+tenantB, nil, alice), "user_list", "username"); len(got) != 0 {
			t.Errorf("alice lists tenant B's users: %v", got)
		}
		if got := qualified(plugin.ok(http.MethodGet, "/v2/role/list", nil, alice), "role_list", "name"); !slices.Equal(got, []string{tenantA + ":admin"}) {
			t.Errorf("alice's roles: %v", got)
		}
		if got := qualified(plugin.ok(http.MethodGet, "/v2/role/list?filter_tenant="+tenantB, nil, alice), "role_list", "name"); len(got) != 0 {
			t.Errorf("alice lists tenant B's roles: %v", got)
		}
		users := qualified(plugin.ok(http.MethodGet, "/v2/user/list", nil, admin), "user_list", "username")
		for _, u := range []string{"platform:admin", tenantA + ":alice", tenantB + ":bob"} {
			if !slices.Contains(users, u) {
				t.Errorf("the platform admin's users lack %s: %v", u, users)
			}
		}
		post := func(status int, path string, body any) {
			t.Helper()
			plugin.refused(status, "", http.MethodPost, path, body, alice)
		}
		post(http.StatusForbidden, "/v2/user/create", map[string]string{"tenant": tenantB, "username": "mallory", "role": "admin", "pass_word": "Mallory-pw-1"})
		post(http.StatusNotFound, "/v2/user/update", map[string]string{"tenant": tenantB, "username": "bob", "role": "rb"})
		post(http.StatusNotFound, "/v2/user/delete", url.Values{"tenant": {tenantB}, "username": {"bob"}})
		post(http.StatusNotFound, "/v2/user/reset_password", map[string]string{"tenant": tenantB, "username": "bob",
			"password": "Taken-over-1", "current_user_password": pwAlice})
		post(http.StatusForbidden, "/v2/role/create", map[string]any{"tenant": tenantB, "name": "mine", "authority": ""})
		post(http.StatusNotFound, "/v2/role/update", map[string]any{"tenant": tenantB, "name": "rb", "authority": ""})
		post(http.StatusNotFound, "/v2/role/delete", url.Values{"tenant": {tenantB}, "name": {"rb"}})
		plugin.login(tenantB, "bob", pwBob) // bob's password is unchanged
	})

	t.Run("3.x routes need a login once users are configured", func(t *testing.T) {
		plugin.t, node.t = t, t
		eventually(t, 30*time.Second, "GET /v2/jobs refused without a login", func() string {
			if r := node.do(http.MethodGet, "/v2/jobs", nil, ""); r.Status != http.StatusUnauthorized {
				return string(r.Body)
			}
			return ""
		})
		node.refused(http.StatusUnauthorized, "users are configured", http.MethodGet, "/v2/jobs", nil, "")
		node.ok(http.MethodGet, "/v2/jobs", nil, alice)
	})

	t.Run("roles limit routes", func(t *testing.T) {
		plugin.t, node.t = t, t
		viewer := authority(t, plugin, admin, "user-list")
		plugin.ok(http.MethodPost, "/v2/role/create", map[string]any{"tenant": tenantA, "name": "viewer", "authority": viewer,
			"operation_object_type": "all", "operation_users": []string{}}, alice)
		plugin.ok(http.MethodPost, "/v2/role/create", map[string]any{"tenant": tenantA, "name": "maker",
			"authority": authority(t, plugin, admin, "user-list", "user-create"), "operation_object_type": "all"}, alice)
		plugin.createUser(alice, tenantA, "carol", "viewer", pwCarol)
		plugin.createUser(alice, tenantA, "dave", "maker", pwDave)
		carol, dave := plugin.login(tenantA, "carol", pwCarol), plugin.login(tenantA, "dave", pwDave)

		acts := actionsOf(plugin.ok(http.MethodGet, "/v2/user/list_action", nil, carol))
		if !slices.Equal(acts, []string{"user-list"}) {
			t.Errorf("carol's actions: %v", acts)
		}
		if acts := actionsOf(plugin.ok(http.MethodGet, "/v2/user/list_action", nil, alice)); !slices.Contains(acts, "auth-create") ||
			!slices.Contains(acts, "sync-reverse_start") {
			t.Errorf("the admin role's actions: %v", acts)
		}
		roles := plugin.ok(http.MethodGet, "/v2/role/list", nil, alice)
		if got := qualified(roles, "role_list", "name"); !slices.Equal(got, []string{tenantA + ":admin", tenantA + ":maker", tenantA + ":viewer"}) {
			t.Errorf("roles: %v", got)
		}
		if got := qualified(plugin.ok(http.MethodGet, "/v2/user/list", nil, carol), "user_list", "username"); len(got) != 3 {
			t.Errorf("carol lists %v", got)
		}
		plugin.refused(http.StatusForbidden, "user-create", http.MethodPost, "/v2/user/create",
			map[string]string{"tenant": tenantA, "username": "x", "role": "viewer", "pass_word": "Xx-pw-123"}, carol)
		for _, path := range []string{"/v2/role/list", "/v2/tenant/list", "/v2/jobs", "/v2/job/migration/detail?job_id=x"} {
			plugin.refused(http.StatusForbidden, "your role does not allow", http.MethodGet, path, nil, carol)
		}
		plugin.refused(http.StatusForbidden, "admins of tenant platform", http.MethodPost, "/v2/log/level",
			url.Values{"dtle_log_level": {"INFO"}}, carol)
		plugin.ok(http.MethodGet, "/v2/nodes", nil, carol)

		// Nobody gives more than they have, or touches those who have more.
		plugin.refused(http.StatusForbidden, "allows more than yours", http.MethodPost, "/v2/user/create",
			map[string]string{"tenant": tenantA, "username": "erin", "role": "admin", "pass_word": "Erin-pw-123"}, dave)
		plugin.createUser(dave, tenantA, "erin", "viewer", "Erin-pw-"+run)
		plugin.refused(http.StatusForbidden, "user-update", http.MethodPost, "/v2/user/reset_password",
			map[string]string{"tenant": tenantA, "username": "alice", "password": "Taken-over-1", "current_user_password": pwDave}, dave)
		plugin.refused(http.StatusForbidden, "user-delete", http.MethodPost, "/v2/user/delete", url.Values{"tenant": {tenantA}, "username": {"alice"}}, dave)
		plugin.refused(http.StatusForbidden, "auth-create", http.MethodPost, "/v2/role/create", map[string]any{"tenant": tenantA, "name": "big"}, dave)

		plugin.refused(http.StatusConflict, "carol", http.MethodPost, "/v2/role/delete", url.Values{"tenant": {tenantA}, "name": {"viewer"}}, alice)
		plugin.refused(http.StatusForbidden, "cannot be changed", http.MethodPost, "/v2/role/update", map[string]any{"tenant": tenantA, "name": "admin"}, alice)
		plugin.refused(http.StatusBadRequest, "no action", http.MethodPost, "/v2/role/create", map[string]any{"tenant": tenantA, "name": "odd",
			"authority": `[{"name":"users","operations":[{"action":"user-fly"}]}]`}, alice)
		plugin.refused(http.StatusBadRequest, "no role", http.MethodPost, "/v2/user/update", map[string]string{"tenant": tenantA, "username": "carol", "role": "ghost"}, alice)
		plugin.ok(http.MethodPost, "/v2/user/update", map[string]string{"tenant": tenantA, "username": "carol", "role": "maker", "remark": "promoted"}, alice)
		if acts := actionsOf(plugin.ok(http.MethodGet, "/v2/user/list_action", nil, carol)); !slices.Contains(acts, "user-create") {
			t.Errorf("carol's actions after her new role: %v", acts)
		}
	})

	t.Run("changes on two nodes at once lose nothing", func(t *testing.T) {
		plugin.t, node.t = t, t
		const n = 8
		var wg sync.WaitGroup
		status := make([]int, n)
		for i := range n {
			*passwords = append(*passwords, fmt.Sprintf("Racer-%d-%s", i, run))
		}
		for i := range n {
			env := []*userEnv{plugin, node}[i%2]
			wg.Go(func() {
				pw := fmt.Sprintf("Racer-%d-%s", i, run)
				r, err := env.raw(http.MethodPost, "/v2/user/create", map[string]string{"tenant": tenantA, "username": fmt.Sprintf("racer%d", i),
					"role": "viewer", "pass_word": pw}, alice)
				if err != nil || strings.Contains(string(r.Body), pw) {
					t.Errorf("racer %d: %v %s", i, err, r.Body)
				}
				status[i] = r.Status
			})
		}
		wg.Wait()
		users := qualified(plugin.ok(http.MethodGet, "/v2/user/list", nil, alice), "user_list", "username")
		for i, st := range status {
			switch {
			case st == http.StatusOK && !slices.Contains(users, fmt.Sprintf("%s:racer%d", tenantA, i)):
				t.Errorf("racer %d was created (200) and is lost: %v", i, users)
			case st != http.StatusOK && st != http.StatusConflict:
				t.Errorf("racer %d: status %d", i, st)
			case st == http.StatusConflict:
				t.Logf("racer %d: 409 after the retries (the client is told)", i)
			}
		}
	})

	t.Run("passwords", func(t *testing.T) {
		plugin.t, node.t = t, t
		carol := plugin.login(tenantA, "carol", pwCarol)
		newPw := "Carol-new-" + run
		*passwords = append(*passwords, newPw)
		plugin.refused(http.StatusBadRequest, "password", http.MethodPost, "/v2/user/reset_password",
			map[string]string{"tenant": tenantA, "username": "carol", "password": "weak", "current_user_password": pwCarol}, carol)
		plugin.refused(http.StatusForbidden, "current_user_password", http.MethodPost, "/v2/user/reset_password",
			map[string]string{"tenant": tenantA, "username": "carol", "password": newPw, "current_user_password": pwDave}, carol)
		plugin.ok(http.MethodPost, "/v2/user/reset_password",
			map[string]string{"tenant": tenantA, "username": "carol", "password": newPw, "current_user_password": pwCarol}, carol)
		plugin.refused(http.StatusUnauthorized, "log in again", http.MethodGet, "/v2/user/current_user", nil, carol)
		plugin.refused(http.StatusUnauthorized, "wrong", http.MethodPost, "/v2/loginWithoutVerifyCode",
			map[string]string{"tenant": tenantA, "username": "carol", "password": pwCarol}, "")
		carol = plugin.login(tenantA, "carol", newPw)
		plugin.refused(http.StatusBadRequest, "pass_word", http.MethodPost, "/v2/user/create",
			map[string]string{"tenant": tenantA, "username": "weak", "role": "viewer", "pass_word": "alllowercase"}, alice)
		plugin.refused(http.StatusConflict, "exists", http.MethodPost, "/v2/user/create",
			map[string]string{"tenant": tenantA, "username": "carol", "role": "viewer", "pass_word": "Other-pw-123"}, alice)
		plugin.refused(http.StatusBadRequest, "yourself", http.MethodPost, "/v2/user/delete", url.Values{"tenant": {tenantA}, "username": {"alice"}}, alice)
		plugin.refused(http.StatusBadRequest, "cannot be deleted", http.MethodPost, "/v2/user/delete",
			url.Values{"tenant": {api.PlatformTenant}, "username": {api.AdminUser}}, apiToken)
		plugin.ok(http.MethodPost, "/v2/user/delete", url.Values{"tenant": {tenantA}, "username": {"carol"}}, alice)
		plugin.refused(http.StatusUnauthorized, "log in again", http.MethodGet, "/v2/user/current_user", nil, carol)
	})

	t.Run("state lives in Nomad", func(t *testing.T) {
		plugin.t, node.t = t, t
		// A node started now (another, or this one restarted) reads the same
		// users and takes the same logins.
		var freshLogs syncBuffer
		fresh := newUserEnv(t, serveNode(t, secret, &freshLogs), passwords)
		want := plugin.ok(http.MethodGet, "/v2/user/list", nil, admin)["user_list"]
		if got := fresh.ok(http.MethodGet, "/v2/user/list", nil, admin)["user_list"]; !sameJSON(got, want) {
			t.Errorf("another node lists %v, the plugin %v", got, want)
		}
		fresh.ok(http.MethodGet, "/v2/user/current_user", nil, bob)
		fresh.login(tenantA, "alice", pwAlice)
		checkNoPasswords(t, freshLogs.String(), *passwords)
	})

	t.Run("no password in a log", func(t *testing.T) {
		b, err := os.ReadFile(agent.LogPath)
		if err != nil {
			t.Fatal(err)
		}
		if n := strings.Count(string(b), adminPw); n != 1 {
			t.Errorf("the first admin's password shows %d times in the agent log, want once", n)
		}
		checkNoPasswords(t, string(b), slices.DeleteFunc(slices.Clone(*passwords), func(p string) bool { return p == adminPw }))
		checkNoPasswords(t, nodeLogs.String(), *passwords)
	})
}

// getCaptcha gets a captcha of kind from env and reads its answer through
// the test hook; it checks the image or recording is one.
func getCaptcha(t *testing.T, env *userEnv, secret []byte, kind string) (id, answer string) {
	t.Helper()
	m := env.ok(http.MethodPost, "/v2/login/captcha", url.Values{"captcha_type": {kind}}, "")
	id, _ = m["id"].(string)
	data, _ := m["data_scheme"].(string)
	prefix := map[string]string{api.CaptchaDefault: "data:image/png;base64,", api.CaptchaAudio: "data:audio/wav;base64,"}[kind]
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(data, prefix))
	if !strings.HasPrefix(data, prefix) || err != nil {
		t.Fatalf("captcha %s: data_scheme %.60s: %v", kind, data, err)
	}
	if kind == api.CaptchaDefault {
		if cfg, err := png.DecodeConfig(bytes.NewReader(raw)); err != nil || cfg.Width < 100 {
			t.Fatalf("captcha image: %v %+v", err, cfg)
		}
	} else if !bytes.HasPrefix(raw, []byte("RIFF")) {
		t.Fatalf("captcha audio is no WAV: %.20q", raw)
	}
	answer, err = api.CaptchaAnswerForTest(secret, id)
	if err != nil || len(answer) != 6 {
		t.Fatalf("captcha answer: %q %v", answer, err)
	}
	return id, answer
}

// wrongDigits is another answer than answer.
func wrongDigits(answer string) string {
	b := []byte(answer)
	b[0] = '0' + (b[0]-'0'+1)%10
	return string(b)
}

// flip changes the characters of s (base64url) to others.
func flip(s string) string {
	b := []byte(s)
	for i := range b {
		if b[i] == 'A' {
			b[i] = 'B'
		} else {
			b[i] = 'A'
		}
	}
	return string(b)
}

// authority is the authority granting actions, built from the full list
// of list_action (what the UI does).
func authority(t *testing.T, env *userEnv, token string, actions ...string) string {
	t.Helper()
	menus, _ := env.ok(http.MethodGet, "/v2/user/list_action", nil, token)["authority"].([]any)
	var out []map[string]any
	for _, m := range menus {
		menu := m.(map[string]any)
		var ops []any
		for _, op := range menu["operations"].([]any) {
			if slices.Contains(actions, op.(map[string]any)["action"].(string)) {
				ops = append(ops, op)
			}
		}
		if len(ops) > 0 {
			menu["operations"] = ops
			out = append(out, menu)
		}
	}
	b, err := json.Marshal(out)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// actionsOf lists the actions of a list_action reply.
func actionsOf(m map[string]any) []string {
	var out []string
	menus, _ := m["authority"].([]any)
	for _, menu := range menus {
		for _, op := range menu.(map[string]any)["operations"].([]any) {
			out = append(out, op.(map[string]any)["action"].(string))
		}
	}
	slices.Sort(out)
	return out
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return bytes.Equal(x, y)
}

func checkNoPasswords(t *testing.T, log string, passwords []string) {
	t.Helper()
	for _, pw := range passwords {
		if strings.Contains(log, pw) {
			t.Errorf("a user's password shows in a log")
		}
	}
}

// cleanTenants deletes the users and roles of tenants, with the api_token.
func cleanTenants(env *userEnv, tenants ...string) {
	for _, tenant := range tenants {
		m := mustOK(env.t, env.do(http.MethodGet, "/v2/user/list?filter_tenant="+tenant, nil, apiToken))
		for _, u := range qualified(m, "user_list", "username") {
			_, name, _ := strings.Cut(u, ":")
			env.do(http.MethodPost, "/v2/user/delete", url.Values{"tenant": {tenant}, "username": {name}}, apiToken)
		}
		m = mustOK(env.t, env.do(http.MethodGet, "/v2/role/list?filter_tenant="+tenant, nil, apiToken))
		for _, r := range qualified(m, "role_list", "name") {
			if _, name, _ := strings.Cut(r, ":"); name != api.AdminRole {
				env.do(http.MethodPost, "/v2/role/delete", url.Values{"tenant": {tenant}, "name": {name}}, apiToken)
			}
		}
	}
}
