package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"strings"
	"time"

	nomad "github.com/hashicorp/nomad/api"
)

// Users and roles live in Nomad Variables, one per tenant, in Nomad's
// default namespace: dtle/auth/tenants/<tenant>. Nomad replicates them to
// its servers and encrypts them at rest; every API node reads the same
// state, and each write is a check-and-set on the variable's modify index,
// so two nodes changing one tenant at once never lose an update (the later
// one reads again and retries). One variable per tenant keeps the rules
// that span users and roles (a role in use is not deleted, a user's role
// exists) inside one atomic write. Nomad limits a variable to 64 KiB:
// some hundreds of users and roles per tenant.
const (
	authNamespace = nomad.DefaultNamespace
	authPrefix    = "dtle/auth/tenants/"
	userItem      = "user."
	roleItem      = "role."
	// casRetries bounds the read-modify-write attempts of one change.
	casRetries = 5
)

// userRecord is a user as stored: never the password, only its bcrypt hash.
type userRecord struct {
	Hash       string `json:"password_hash"`
	Role       string `json:"role"`
	Remark     string `json:"remark"`
	CreateTime string `json:"create_time"`
}

// roleRecord is a role as stored: the actions of the catalogue it grants
// and the users it may manage ("all", or the listed "tenant:user").
type roleRecord struct {
	Actions     []string `json:"actions"`
	ObjectType  string   `json:"object_type"`
	ObjectUsers []string `json:"object_users"`
}

// tenantState is one tenant's variable, decoded.
type tenantState struct {
	name string
	// index is the variable's modify index; 0 when it does not exist yet.
	index uint64
	users map[string]*userRecord
	roles map[string]*roleRecord
}

func newTenantState(name string) *tenantState {
	return &tenantState{name: name, users: map[string]*userRecord{}, roles: map[string]*roleRecord{}}
}

// sortedUsers and sortedRoles list the names in order.
func (t *tenantState) sortedUsers() []string { return sortedKeys(t.users) }
func (t *tenantState) sortedRoles() []string { return sortedKeys(t.roles) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// authStore reads and writes the tenants' variables through the API's Nomad
// client.
type authStore struct {
	nomad *nomad.Client
}

// errCASConflict: the tenant changed between read and write every time.
var errCASConflict = errors.New("the tenant's users and roles changed on another API node at the same time; retry")

func tenantPath(tenant string) string { return authPrefix + tenant }

func (st *authStore) queryOpts(ctx context.Context) *nomad.QueryOptions {
	return (&nomad.QueryOptions{Namespace: authNamespace}).WithContext(ctx)
}

func (st *authStore) writeOpts(ctx context.Context) *nomad.WriteOptions {
	return (&nomad.WriteOptions{Namespace: authNamespace}).WithContext(ctx)
}

// load reads a tenant; one that does not exist is empty, with index 0.
func (st *authStore) load(ctx context.Context, tenant string) (*tenantState, error) {
	ctx, cancel := context.WithTimeout(ctx, nomadTimeout)
	defer cancel()
	v, _, err := st.nomad.Variables().Read(tenantPath(tenant), st.queryOpts(ctx))
	if errors.Is(err, nomad.ErrVariablePathNotFound) {
		return newTenantState(tenant), nil
	}
	if err != nil {
		return nil, authNomadError("read the users of tenant "+tenant, err)
	}
	t := newTenantState(tenant)
	t.index = v.ModifyIndex
	for k, raw := range v.Items {
		switch {
		case strings.HasPrefix(k, userItem):
			var u userRecord
			if err := json.Unmarshal([]byte(raw), &u); err != nil {
				return nil, fmt.Errorf("nomad variable %s: item %s: %w", tenantPath(tenant), k, err)
			}
			t.users[strings.TrimPrefix(k, userItem)] = &u
		case strings.HasPrefix(k, roleItem):
			var r roleRecord
			if err := json.Unmarshal([]byte(raw), &r); err != nil {
				return nil, fmt.Errorf("nomad variable %s: item %s: %w", tenantPath(tenant), k, err)
			}
			t.roles[strings.TrimPrefix(k, roleItem)] = &r
		}
	}
	return t, nil
}

// save writes a tenant back if nobody changed it since load: it creates
// the variable (index 0), updates it, or deletes it when it holds nothing.
// It returns errCASConflict when the variable changed meanwhile.
func (st *authStore) save(ctx context.Context, t *tenantState) error {
	ctx, cancel := context.WithTimeout(ctx, nomadTimeout)
	defer cancel()
	items := nomad.VariableItems{}
	for name, u := range t.users {
		b, err := json.Marshal(u)
		if err != nil {
			return err
		}
		items[userItem+name] = string(b)
	}
	for name, r := range t.roles {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		items[roleItem+name] = string(b)
	}
	vars := st.nomad.Variables()
	var err error
	switch {
	case len(items) == 0 && t.index == 0:
		return nil
	case len(items) == 0:
		_, err = vars.CheckedDelete(tenantPath(t.name), t.index, st.writeOpts(ctx))
	case t.index == 0:
		_, _, err = vars.CheckedCreate(&nomad.Variable{Namespace: authNamespace, Path: tenantPath(t.name), Items: items}, st.writeOpts(ctx))
	default:
		_, _, err = vars.CheckedUpdate(&nomad.Variable{Namespace: authNamespace, Path: tenantPath(t.name), Items: items,
			ModifyIndex: t.index}, st.writeOpts(ctx))
	}
	var conflict nomad.ErrCASConflict
	if errors.As(err, &conflict) {
		return errCASConflict
	}
	if err != nil {
		return authNomadError("write the users of tenant "+t.name, err)
	}
	return nil
}

// update applies change to the tenant's current state and writes it,
// reading again and retrying when another node wrote in between. change
// may run more than once; an error from it ends the update unwritten.
func (st *authStore) update(ctx context.Context, tenant string, change func(*tenantState) error) error {
	for attempt := range casRetries {
		if attempt > 0 {
			// Another node wrote first: let the racers spread out.
			time.Sleep(time.Duration(rand.IntN(20*attempt)) * time.Millisecond)
		}
		t, err := st.load(ctx, tenant)
		if err != nil {
			return err
		}
		if err := change(t); err != nil {
			return err
		}
		err = st.save(ctx, t)
		if !errors.Is(err, errCASConflict) {
			return err
		}
	}
	return &Error{Status: http.StatusConflict, Code: CodeConflict, Err: errCASConflict}
}

// tenants lists the tenants that have a variable, sorted.
func (st *authStore) tenants(ctx context.Context) ([]string, error) {
	ctx, cancel := context.WithTimeout(ctx, nomadTimeout)
	defer cancel()
	metas, _, err := st.nomad.Variables().PrefixList(authPrefix, st.queryOpts(ctx))
	if err != nil {
		return nil, authNomadError("list the tenants", err)
	}
	var out []string
	for _, m := range metas {
		if name := strings.TrimPrefix(m.Path, authPrefix); name != m.Path && validTenant(name) == nil {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out, nil
}

// loadAll reads every tenant.
func (st *authStore) loadAll(ctx context.Context) ([]*tenantState, error) {
	names, err := st.tenants(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*tenantState, 0, len(names))
	for _, n := range names {
		t, err := st.load(ctx, n)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// authNomadError is nomadError for the auth variables: a refusal names
// the Nomad ACL the plugin's token needs.
func authNomadError(what string, err error) *Error {
	e := nomadError(what, err)
	if e.Status == http.StatusForbidden {
		e.Err = fmt.Errorf("%s: Nomad refused this node's access; the plugin's Nomad token needs read and write on the variables %s*: %w",
			what, authPrefix, err)
	}
	return e
}
