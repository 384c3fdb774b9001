package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/labstack/echo/v4"
)

// decodeStrict decodes one JSON value into v, refusing unknown fields and
// naming the field of a wrong type.
func decodeStrict(data []byte, v any) error {
	if len(bytes.TrimSpace(data)) == 0 {
		return badRequest("the request needs a JSON body")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return jsonError(err)
	}
	if dec.More() {
		return badRequest("malformed JSON: more than one value in the body")
	}
	return nil
}

func jsonError(err error) *Error {
	var te *json.UnmarshalTypeError
	var se *json.SyntaxError
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "body"
		}
		return badRequest("%s: must be %s, got %s", field, jsonKind(te.Type.Kind().String()), te.Value)
	case errors.As(err, &se):
		return badRequest("malformed JSON at byte %d: %s", se.Offset, strings.TrimPrefix(se.Error(), "json: "))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("malformed JSON: the body ends early")
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		return badRequest("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
	}
	return badRequest("malformed JSON: %s", strings.TrimPrefix(err.Error(), "json: "))
}

func jsonKind(k string) string {
	switch k {
	case "int", "int64", "uint64", "float64":
		return "a number"
	case "bool":
		return "true or false"
	case "string":
		return "a string"
	case "slice":
		return "an array"
	case "struct", "ptr", "map":
		return "an object"
	}
	return k
}

// readBody reads a request's body, which bound limits.
func readBody(c echo.Context) ([]byte, error) {
	b, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return nil, bodyError("read body", err)
	}
	return b, nil
}

func isJSON(c echo.Context) bool {
	return strings.HasPrefix(c.Request().Header.Get(echo.HeaderContentType), echo.MIMEApplicationJSON)
}

// params reads a request's parameters from its query string, a form body or
// a JSON object body, so scripts can use whichever they like.
func params(c echo.Context) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range c.QueryParams() {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	if isJSON(c) {
		b, err := readBody(c)
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(b)) == 0 {
			return out, nil
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			return nil, jsonError(err)
		}
		for k, v := range m {
			switch v := v.(type) {
			case string:
				out[k] = v
			case float64, bool:
				out[k] = fmt.Sprint(v)
			case nil:
			default:
				raw, _ := json.Marshal(v)
				out[k] = string(raw)
			}
		}
		return out, nil
	}
	form, err := c.FormParams()
	if err != nil {
		return nil, bodyError("parameters", err)
	}
	for k, v := range form {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out, nil
}

// required returns a parameter that must be present.
func required(p map[string]string, name string) (string, error) {
	v := strings.TrimSpace(p[name])
	if v == "" {
		return "", badRequest("%s: required", name)
	}
	return v, nil
}

// unwrapJobConfig accepts a job config also as {"<name>": {...}}, the
// contract's parameter name (migration_job_config, job_config, ...).
func unwrapJobConfig(body []byte, name string) []byte {
	var w map[string]json.RawMessage
	if json.Unmarshal(body, &w) == nil && len(w) == 1 {
		if raw, ok := w[name]; ok {
			return raw
		}
	}
	return body
}
