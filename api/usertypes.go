package api

// The request and reply bodies of the users, roles and login routes, as the
// dtle 4.x UI sends and reads them (its models of the same names).

// UserLoginReqV2 is the body of POST /v2/login.
type UserLoginReqV2 struct {
	Tenant    string `json:"tenant" validate:"required" example:"platform"`
	Username  string `json:"username" validate:"required" example:"admin"`
	Password  string `json:"password" validate:"required" example:"S3cret-pw"`
	CaptchaID string `json:"captcha_id" validate:"required"`
	Captcha   string `json:"captcha" validate:"required" example:"017224"`
}

// LoginWithoutVerifyCodeReqV2 is the body of POST /v2/loginWithoutVerifyCode.
type LoginWithoutVerifyCodeReqV2 struct {
	Tenant   string `json:"tenant" validate:"required" example:"platform"`
	Username string `json:"username" validate:"required" example:"admin"`
	Password string `json:"password" validate:"required" example:"S3cret-pw"`
}

// UserLoginResV2 holds a login's token: send it as "Authorization: Bearer
// <token>".
type UserLoginResV2 struct {
	Token string `json:"token" example:"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9..."`
}

// GetUserLoginResV2 is the reply of a login.
type GetUserLoginResV2 struct {
	Data    UserLoginResV2 `json:"data"`
	Message string         `json:"message" example:"ok"`
}

// CaptchaRespV2 is the reply of POST /v2/login/captcha.
type CaptchaRespV2 struct {
	ID         string `json:"id"`
	DataScheme string `json:"data_scheme" example:"data:image/png;base64,iVBORw0KGgo..."`
	Message    string `json:"message" example:"ok"`
}

// User is a user as replies show it; password is always "*".
type User struct {
	Tenant     string `json:"tenant" example:"platform"`
	Username   string `json:"username" example:"alice"`
	Role       string `json:"role" example:"admin"`
	Remark     string `json:"remark"`
	CreateTime string `json:"create_time" example:"2024-05-01T10:00:00Z"`
	Password   string `json:"password" example:"*"`
}

// Role is a role as replies show it. authority is the JSON of the menus
// and operations it grants (as /v2/user/list_action returns them);
// object_type "all" lets it manage every user of its tenant, anything else
// only the object_users ("tenant:user").
type Role struct {
	Tenant      string   `json:"tenant" example:"platform"`
	Name        string   `json:"name" example:"operator"`
	Authority   string   `json:"authority"`
	ObjectType  string   `json:"object_type" example:"all"`
	ObjectUsers []string `json:"object_users"`
}

// UserListResp is the reply of GET /v2/user/list.
type UserListResp struct {
	UserList []User `json:"user_list"`
	Message  string `json:"message" example:"ok"`
}

// TenantListResp is the reply of GET /v2/tenant/list.
type TenantListResp struct {
	TenantList []string `json:"tenant_list"`
	Message    string   `json:"message" example:"ok"`
}

// CreateUserReqV2 is the body of POST /v2/user/create.
type CreateUserReqV2 struct {
	Tenant   string `json:"tenant" validate:"required" example:"tenant1"`
	Username string `json:"username" validate:"required" example:"alice"`
	Role     string `json:"role" validate:"required" example:"admin"`
	Remark   string `json:"remark"`
	PassWord string `json:"pass_word" validate:"required" example:"S3cret-pw"`
}

// UpdateUserReqV2 is the body of POST /v2/user/update.
type UpdateUserReqV2 struct {
	Tenant   string `json:"tenant" validate:"required" example:"tenant1"`
	Username string `json:"username" validate:"required" example:"alice"`
	Role     string `json:"role" validate:"required" example:"operator"`
	Remark   string `json:"remark"`
}

// ResetPasswordReqV2 is the body of POST /v2/user/reset_password.
// current_user_password is the password of the user who asks.
type ResetPasswordReqV2 struct {
	Tenant              string `json:"tenant" validate:"required" example:"tenant1"`
	Username            string `json:"username" validate:"required" example:"alice"`
	Password            string `json:"password" validate:"required" example:"N3w-secret"`
	CurrentUserPassword string `json:"current_user_password" validate:"required" example:"S3cret-pw"`
}

// CurrentUserResp is the reply of GET /v2/user/current_user.
type CurrentUserResp struct {
	CurrentUser User   `json:"current_user"`
	Message     string `json:"message" example:"ok"`
}

// ListActionRespV2 is the reply of GET /v2/user/list_action: the menus
// and operations the caller's role grants.
type ListActionRespV2 struct {
	Authority []MenuItem `json:"authority"`
	Message   string     `json:"message" example:"ok"`
}

// RoleListResp is the reply of GET /v2/role/list.
type RoleListResp struct {
	RoleList []Role `json:"role_list"`
	Message  string `json:"message" example:"ok"`
}

// RoleReqV2 is the body of POST /v2/role/create and /v2/role/update.
type RoleReqV2 struct {
	Tenant              string   `json:"tenant" validate:"required" example:"tenant1"`
	Name                string   `json:"name" validate:"required" example:"operator"`
	Authority           string   `json:"authority"`
	OperationObjectType string   `json:"operation_object_type" example:"all"`
	OperationUsers      []string `json:"operation_users"`
}
