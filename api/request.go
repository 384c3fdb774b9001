package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"
)

// decodeJSON decodes one JSON value into v. Object keys v has no field for
// are ignored, as dtle 3.x ignored them (its UI and scripts send more than
// the API reads); it returns their paths so the caller can log them. A value
// of the wrong type is refused, naming its field.
func decodeJSON(data []byte, v any) (ignored []string, err error) {
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, badRequest("the request needs a JSON body")
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	if err := dec.Decode(v); err != nil {
		return nil, jsonError(err)
	}
	if rest := bytes.TrimSpace(data[dec.InputOffset():]); len(rest) > 0 {
		return nil, badRequest("malformed JSON at byte %d: only one value may be sent", len(data)-len(rest))
	}
	return unknownFields(data, reflect.TypeOf(v)), nil
}

// decodeBody is decodeJSON that logs the ignored fields at DEBUG.
func (s *Server) decodeBody(c echo.Context, data []byte, v any) error {
	ignored, err := decodeJSON(data, v)
	if err != nil {
		return err
	}
	s.logIgnored(c, ignored)
	return nil
}

// logIgnored logs at DEBUG the request fields the API ignored.
func (s *Server) logIgnored(c echo.Context, fields []string) {
	if len(fields) > 0 {
		s.log.Debug("API request fields ignored", "method", c.Request().Method, "path", c.Request().URL.Path,
			"fields", strings.Join(fields, ", "))
	}
}

// unknownFields lists, by path and sorted, the object keys of the JSON
// data that type t (structs, and pointers, slices and maps of them) has no
// field for, matching keys as encoding/json does (case-insensitively).
// Anonymous struct fields are not looked into; the API's types have none.
func unknownFields(data []byte, t reflect.Type) []string {
	var v any
	if json.Unmarshal(data, &v) != nil {
		return nil
	}
	var out []string
	walkUnknown(v, t, "", &out)
	sort.Strings(out)
	return out
}

func walkUnknown(v any, t reflect.Type, path string, out *[]string) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, _ := v.(map[string]any)
		for k, x := range obj {
			f, ok := jsonField(t, k)
			if !ok {
				*out = append(*out, joinPath(path, k))
				continue
			}
			walkUnknown(x, f.Type, joinPath(path, k), out)
		}
	case reflect.Slice, reflect.Array:
		arr, _ := v.([]any)
		for i, x := range arr {
			walkUnknown(x, t.Elem(), fmt.Sprintf("%s[%d]", path, i), out)
		}
	case reflect.Map:
		obj, _ := v.(map[string]any)
		for k, x := range obj {
			walkUnknown(x, t.Elem(), joinPath(path, k), out)
		}
	}
}

// jsonField is the field of struct type t that JSON key decodes into: the
// exact name first, else one equal under case folding.
func jsonField(t reflect.Type, key string) (reflect.StructField, bool) {
	var folded reflect.StructField
	found := false
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if !f.IsExported() || tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		if name == "" {
			name = f.Name
		}
		if name == key {
			return f, true
		}
		if !found && strings.EqualFold(name, key) {
			folded, found = f, true
		}
	}
	return folded, found
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
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

// mediaType is the request's Content-Type without its parameters, "" when
// it has none.
func mediaType(c echo.Context) (string, error) {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	if ct == "" {
		return "", nil
	}
	media, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return "", badRequest("malformed Content-Type %q: %w", ct, err)
	}
	return media, nil
}

// bodyTypes are the content types params reads.
const bodyTypes = "application/x-www-form-urlencoded, multipart/form-data or application/json"

// params reads a request's parameters from its query string and its body:
// a form (urlencoded or multipart) or a JSON object, so scripts can use
// whichever they like. A body that does not parse as its Content-Type says,
// or of another type, is refused as malformed, never read as no parameters.
func params(c echo.Context) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range c.QueryParams() {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	media, err := mediaType(c)
	if err != nil {
		return nil, err
	}
	var form url.Values
	switch media {
	case echo.MIMEApplicationJSON:
		return out, jsonParams(c, out)
	case echo.MIMEMultipartForm:
		if form, err = c.FormParams(); err != nil {
			return nil, malformedBody("multipart form body", err)
		}
	case echo.MIMEApplicationForm:
		b, err := readBody(c)
		if err != nil {
			return nil, err
		}
		if t := bytes.TrimSpace(b); len(t) > 0 && (t[0] == '{' || t[0] == '[') {
			return nil, badRequest("malformed form body: it holds JSON; send it with Content-Type: application/json")
		}
		if form, err = url.ParseQuery(string(b)); err != nil {
			return nil, malformedBody("form body", err)
		}
	default:
		b, err := readBody(c)
		if err != nil {
			return nil, err
		}
		switch {
		case len(bytes.TrimSpace(b)) == 0:
		case media == "":
			return nil, badRequest("malformed body: it has no Content-Type; send it as %s", bodyTypes)
		default:
			return nil, badRequest("malformed body: its Content-Type %q is not one the API reads; send it as %s", media, bodyTypes)
		}
	}
	for k, v := range form {
		if len(v) > 0 {
			out[k] = v[0]
		}
	}
	return out, nil
}

// jsonParams adds the members of a JSON object body to out, as text.
func jsonParams(c echo.Context, out map[string]string) error {
	b, err := readBody(c)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return jsonError(err)
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
	return nil
}

// malformedBody reports a body that does not parse: a 400 saying so, or
// bodyError's 413 or 408 when reading it failed.
func malformedBody(what string, err error) *Error {
	if e := bodyError(what, err); e.Status != http.StatusBadRequest {
		return e
	}
	return badRequest("malformed %s: %w", what, err)
}

// required returns a parameter that must be present.
func required(p map[string]string, name string) (string, error) {
	v := strings.TrimSpace(p[name])
	if v == "" {
		return "", badRequest("%s: required", name)
	}
	return v, nil
}

// jobConfigWrappers are the names a job config may come wrapped in, as
// {"<name>": config}: the contract's parameter names.
var jobConfigWrappers = []string{"migration_job_config", "sync_job_config", "subscription_job_config", "job_config"}

// decodeJobConfig decodes a job config body into j, logging the fields it
// ignores. The body is the config, or the config wrapped in one of
// jobConfigWrappers; members beside that one are ignored like any unknown
// field.
func (s *Server) decodeJobConfig(c echo.Context, body []byte, j *JobConfig) error {
	var w map[string]json.RawMessage
	if json.Unmarshal(body, &w) == nil {
		for _, name := range jobConfigWrappers {
			raw, ok := w[name]
			if !ok {
				continue
			}
			body = raw
			var siblings []string
			for k := range w {
				if k != name {
					siblings = append(siblings, k)
				}
			}
			sort.Strings(siblings)
			s.logIgnored(c, siblings)
			break
		}
	}
	return s.decodeBody(c, body, j)
}
