package api

import (
	"encoding/json"
	"fmt"
	"slices"
	"sort"
)

// The catalogue of actions: what a role may grant, as the dtle 4.x UI
// shows it (menus, each with its operations). An operation's action names
// what a role holds ("migration-pause"); its uri is the 4.x route it opens.
// A role's authority is this catalogue cut down to its actions; the admin
// role holds all of them.

// MenuItem is a menu of the UI with the operations under it.
type MenuItem struct {
	ID         int          `json:"id" example:"2"`
	ParentID   int          `json:"parent_id" example:"1"`
	MenuLevel  int          `json:"menu_level" example:"2"`
	Name       string       `json:"name" example:"migration"`
	MenuURL    string       `json:"menu_url" example:"/migration"`
	TextCn     string       `json:"text_cn" example:"数据迁移"`
	TextEn     string       `json:"text_en" example:"migration"`
	AdminOnly  bool         `json:"admin_only" example:"false"`
	Operations []ButtonItem `json:"operations"`
}

// ButtonItem is one operation of a menu: an action and the route it opens.
type ButtonItem struct {
	Action string `json:"action" example:"migration-pause"`
	URI    string `json:"uri" example:"/v2/job/migration/pause"`
	TextCn string `json:"text_cn" example:"暂停任务"`
	TextEn string `json:"text_en" example:"pause a migration job"`
}

// jobOps are the operations of each job type's menu, with their texts.
var jobOps = []struct{ op, en, cn string }{
	{"list", "list %s jobs", "%s任务列表"},
	{"create", "create a %s job", "创建%s任务"},
	{"pause", "pause a %s job", "暂停%s任务"},
	{"resume", "resume a %s job", "恢复%s任务"},
	{"delete", "delete a %s job", "删除%s任务"},
	{"reverse", "create the reverse of a %s job", "创建%s反向任务"},
	{"reverse_start", "start the reverse of a %s job", "启动%s反向任务"},
	{"update", "update a %s job", "修改%s任务"},
	{"detail", "see a %s job's detail", "查看%s任务详情"},
}

// catalogue is every menu and operation, in the order the UI lists them.
var catalogue = buildCatalogue()

func buildCatalogue() []MenuItem {
	jobMenu := func(id int, typ, url, cn string) MenuItem {
		m := MenuItem{ID: id, ParentID: 1, MenuLevel: 2, Name: typ, MenuURL: url, TextCn: "数据" + cn, TextEn: typ}
		for _, o := range jobOps {
			if typ == JobTypeSubscription && (o.op == "reverse" || o.op == "reverse_start") {
				continue
			}
			uri := "/v2/job/" + typ + "/" + o.op
			if o.op == "list" {
				uri = "/v2/jobs/" + typ
			}
			m.Operations = append(m.Operations, ButtonItem{Action: typ + "-" + o.op, URI: uri,
				TextCn: fmt.Sprintf(o.cn, cn), TextEn: fmt.Sprintf(o.en, typ)})
		}
		return m
	}
	return []MenuItem{
		{ID: 1, MenuLevel: 1, Name: "service", TextCn: "服务", TextEn: "service", Operations: []ButtonItem{}},
		jobMenu(2, JobTypeMigration, "/migration", "迁移"),
		jobMenu(3, JobTypeSync, "/sync", "同步"),
		jobMenu(4, JobTypeSubscription, "/subscribe", "订阅"),
		{ID: 5, MenuLevel: 1, Name: "platform", TextCn: "平台管理", TextEn: "platform", Operations: []ButtonItem{}},
		{ID: 6, ParentID: 5, MenuLevel: 2, Name: "node", MenuURL: "/node", TextCn: "DTLE节点", TextEn: "dtle nodes", Operations: []ButtonItem{
			{Action: "node-list", URI: "/v2/nodes", TextCn: "节点列表", TextEn: "list the nodes"},
		}},
		{ID: 7, ParentID: 5, MenuLevel: 2, Name: "users", MenuURL: "/users", TextCn: "用户管理", TextEn: "users", AdminOnly: true, Operations: []ButtonItem{
			{Action: "user-list", URI: "/v2/user/list", TextCn: "用户列表", TextEn: "list users"},
			{Action: "user-list_tenant", URI: "/v2/tenant/list", TextCn: "租户列表", TextEn: "list tenants"},
			{Action: "user-create", URI: "/v2/user/create", TextCn: "创建用户", TextEn: "create a user"},
			{Action: "user-delete", URI: "/v2/user/delete", TextCn: "删除用户", TextEn: "delete a user"},
			{Action: "user-update", URI: "/v2/user/update", TextCn: "修改用户", TextEn: "update a user"},
		}},
		{ID: 8, ParentID: 5, MenuLevel: 2, Name: "auth", MenuURL: "/auth", TextCn: "权限配置", TextEn: "roles", AdminOnly: true, Operations: []ButtonItem{
			{Action: "auth-list", URI: "/v2/role/list", TextCn: "角色列表", TextEn: "list roles"},
			{Action: "auth-create", URI: "/v2/role/create", TextCn: "创建角色", TextEn: "create a role"},
			{Action: "auth-delete", URI: "/v2/role/delete", TextCn: "删除角色", TextEn: "delete a role"},
			{Action: "auth-update", URI: "/v2/role/update", TextCn: "修改角色", TextEn: "update a role"},
		}},
	}
}

// knownActions and knownMenus index the catalogue.
var knownActions, knownMenus = func() (map[string]bool, map[string]bool) {
	a, m := map[string]bool{}, map[string]bool{}
	for _, menu := range catalogue {
		m[menu.Name] = true
		for _, op := range menu.Operations {
			a[op.Action] = true
		}
	}
	return a, m
}()

// allActions is every action of the catalogue, sorted.
var allActions = sortedKeys(knownActions)

// menusFor is the catalogue cut down to actions (nil: all of them): each
// menu keeps the operations granted, a second-level menu shows when one of
// its operations does, a first-level one when one of its menus does.
func menusFor(actions []string) []MenuItem {
	if actions == nil {
		return catalogue
	}
	kept := map[int]bool{}
	var second []MenuItem
	for _, m := range catalogue {
		if m.MenuLevel != 2 {
			continue
		}
		cp := m
		cp.Operations = []ButtonItem{}
		for _, op := range m.Operations {
			if slices.Contains(actions, op.Action) {
				cp.Operations = append(cp.Operations, op)
			}
		}
		if len(cp.Operations) > 0 {
			second = append(second, cp)
			kept[m.ParentID] = true
		}
	}
	out := []MenuItem{}
	for _, m := range catalogue {
		switch {
		case m.MenuLevel == 1 && kept[m.ID]:
			out = append(out, m)
		case m.MenuLevel == 2:
			for _, s := range second {
				if s.ID == m.ID {
					out = append(out, s)
				}
			}
		}
	}
	return out
}

// authorityString is a role's authority as the UI reads it: the JSON of
// menusFor(actions).
func authorityString(actions []string) string {
	b, err := json.Marshal(menusFor(actions))
	if err != nil {
		return "[]"
	}
	return string(b)
}

// parseAuthority reads the authority a role is given (the JSON of menus
// the UI sends, as list_action returns them) into its sorted actions. Only
// the operations count: a menu grants nothing by itself. A menu or action
// the catalogue does not have is refused, naming it.
func parseAuthority(authority string) ([]string, error) {
	if authority == "" {
		return []string{}, nil
	}
	var menus []struct {
		Name       string `json:"name"`
		Operations []struct {
			Action string `json:"action"`
		} `json:"operations"`
	}
	if err := json.Unmarshal([]byte(authority), &menus); err != nil {
		return nil, fmt.Errorf("authority: must be the JSON array of menus that /v2/user/list_action returns: %w", err)
	}
	set := map[string]bool{}
	for _, m := range menus {
		if m.Name != "" && !knownMenus[m.Name] {
			return nil, fmt.Errorf("authority: no menu %q", m.Name)
		}
		for _, op := range m.Operations {
			if !knownActions[op.Action] {
				return nil, fmt.Errorf("authority: no action %q", op.Action)
			}
			set[op.Action] = true
		}
	}
	out := sortedKeys(set)
	sort.Strings(out)
	return out, nil
}
