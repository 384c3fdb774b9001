package kafka_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"testing"
)

// A check of records as Kafka Connect's JsonConverter (schemas.enable=true)
// reads them, which is what sinks built on it do first: the document is
// {"schema","payload"} and nothing else; every schema's type is one of
// the Connect types JsonConverter knows (any other fails with "Unknown
// schema type"); structs have fields, arrays items, maps keys and values;
// every name is a logical type of Kafka Connect or Debezium, or a schema
// of Debezium's envelope; a logical type has the Connect type it is
// defined over; and the payload, defaults included, converts: integers in
// range, base64 in bytes, no null where the schema is required and has
// no default.

// connectTypes are the schema types JsonConverter reads.
var connectTypes = map[string]bool{
	"int8": true, "int16": true, "int32": true, "int64": true, "float": true, "double": true,
	"boolean": true, "string": true, "bytes": true, "array": true, "map": true, "struct": true,
}

// logicalTypes are the semantic names of Kafka Connect and Debezium's
// MySQL connector ("Data type mappings"), with the Connect type each is
// defined over.
var logicalTypes = map[string]string{
	"org.apache.kafka.connect.data.Decimal":   "bytes",
	"org.apache.kafka.connect.data.Date":      "int32",
	"org.apache.kafka.connect.data.Time":      "int32",
	"org.apache.kafka.connect.data.Timestamp": "int64",
	"io.debezium.time.Date":                   "int32",
	"io.debezium.time.MicroTime":              "int64",
	"io.debezium.time.Timestamp":              "int64",
	"io.debezium.time.MicroTimestamp":         "int64",
	"io.debezium.time.ZonedTimestamp":         "string",
	"io.debezium.time.Year":                   "int32",
	"io.debezium.data.Bits":                   "bytes",
	"io.debezium.data.Enum":                   "string",
	"io.debezium.data.EnumSet":                "string",
	"io.debezium.data.Json":                   "string",
	"io.debezium.data.geometry.Geometry":      "struct",
	"io.debezium.data.geometry.Point":         "struct",
	// Debezium's envelope, source and schema-change schemas.
	"io.debezium.connector.mysql.Source":            "struct",
	"io.debezium.connector.mysql.SchemaChangeKey":   "struct",
	"io.debezium.connector.mysql.SchemaChangeValue": "struct",
	"io.debezium.connector.schema.Change":           "struct",
	"io.debezium.connector.schema.Table":            "struct",
	"io.debezium.connector.schema.Column":           "struct",
	"event.block":                                   "struct",
}

// checkConnect reads a record's key or value as JsonConverter does; topic
// names the record's Key, Value and Envelope schemas.
func checkConnect(topic string, doc []byte) error {
	var env map[string]json.RawMessage
	if err := json.Unmarshal(doc, &env); err != nil {
		return err
	}
	if len(env) != 2 || env["schema"] == nil || env["payload"] == nil {
		return fmt.Errorf("JsonConverter with schemas.enable requires \"schema\" and \"payload\" fields and may not contain additional fields")
	}
	schema, err := decodeNumbers(env["schema"])
	if err != nil {
		return err
	}
	payload, err := decodeNumbers(env["payload"])
	if err != nil {
		return err
	}
	c := connectCheck{topic: topic}
	if err := c.schema("schema", schema); err != nil {
		return err
	}
	return c.value("payload", schema.(map[string]any), payload)
}

// decodeNumbers decodes JSON keeping numbers as written.
func decodeNumbers(raw []byte) (any, error) {
	var v any
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	return v, d.Decode(&v)
}

type connectCheck struct{ topic string }

func (c connectCheck) schema(path string, v any) error {
	s, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: a schema must be an object, got %T", path, v)
	}
	typ, _ := s["type"].(string)
	if !connectTypes[typ] {
		return fmt.Errorf("%s: Unknown schema type: %v", path, s["type"])
	}
	if o, ok := s["optional"]; ok {
		if _, isBool := o.(bool); !isBool {
			return fmt.Errorf("%s: optional must be a boolean", path)
		}
	}
	if name, ok := s["name"]; ok {
		n, isString := name.(string)
		if !isString {
			return fmt.Errorf("%s: name must be a string", path)
		}
		if want, known := logicalTypes[n]; known && want != typ {
			return fmt.Errorf("%s: %s is defined over %s, not %s", path, n, want, typ)
		}
		if _, known := logicalTypes[n]; !known && n != c.topic+".Key" && n != c.topic+".Value" && n != c.topic+".Envelope" {
			return fmt.Errorf("%s: schema name %q is neither Kafka Connect's, Debezium's nor of the topic %s", path, n, c.topic)
		}
		if n == "org.apache.kafka.connect.data.Decimal" {
			p, _ := s["parameters"].(map[string]any)
			if _, err := strconv.Atoi(fmt.Sprint(p["scale"])); err != nil {
				return fmt.Errorf("%s: a Decimal needs an integer scale parameter", path)
			}
		}
	}
	if ver, ok := s["version"]; ok {
		if _, err := ver.(json.Number).Int64(); err != nil {
			return fmt.Errorf("%s: version must be an integer", path)
		}
	}
	if p, ok := s["parameters"]; ok {
		m, isMap := p.(map[string]any)
		if !isMap {
			return fmt.Errorf("%s: parameters must be an object", path)
		}
		for k, pv := range m {
			if _, isString := pv.(string); !isString {
				return fmt.Errorf("%s: parameter %s must be a string", path, k)
			}
		}
	}
	switch typ {
	case "struct":
		fields, ok := s["fields"].([]any)
		if !ok {
			return fmt.Errorf("%s: a struct schema needs fields", path)
		}
		for i, f := range fields {
			fm, _ := f.(map[string]any)
			name, ok := fm["field"].(string)
			if !ok {
				return fmt.Errorf("%s.fields[%d]: no field name", path, i)
			}
			if err := c.schema(path+"."+name, f); err != nil {
				return err
			}
		}
	case "array":
		if err := c.schema(path+".items", s["items"]); err != nil {
			return err
		}
	case "map":
		if err := c.schema(path+".keys", s["keys"]); err != nil {
			return err
		}
		if err := c.schema(path+".values", s["values"]); err != nil {
			return err
		}
	}
	if def, ok := s["default"]; ok {
		if def == nil {
			return fmt.Errorf("%s: a null default", path)
		}
		if err := c.value(path+".default", s, def); err != nil {
			return err
		}
	}
	return nil
}

// value converts v as JsonConverter.convertToConnect does for schema s.
func (c connectCheck) value(path string, s map[string]any, v any) error {
	if v == nil {
		if opt, _ := s["optional"].(bool); opt || s["default"] != nil {
			return nil
		}
		return fmt.Errorf("%s: null value for a field that is required and has no default value", path)
	}
	typ := s["type"].(string)
	switch typ {
	case "int8", "int16", "int32", "int64":
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%s: %s wants a number, got %T", path, typ, v)
		}
		x, err := strconv.ParseInt(n.String(), 10, 64)
		bits := map[string]int{"int8": 8, "int16": 16, "int32": 32, "int64": 64}[typ]
		if err != nil || x < -1<<(bits-1) || x > 1<<(bits-1)-1 {
			return fmt.Errorf("%s: %s out of range: %s", path, typ, n)
		}
	case "float", "double":
		n, ok := v.(json.Number)
		if !ok {
			return fmt.Errorf("%s: %s wants a number, got %T", path, typ, v)
		}
		x, err := strconv.ParseFloat(n.String(), 64)
		if err != nil || math.IsInf(x, 0) {
			return fmt.Errorf("%s: %s: %s", path, typ, n)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: boolean wants true or false, got %T", path, v)
		}
	case "string":
		if _, ok := v.(string); !ok {
			return fmt.Errorf("%s: string wants a string, got %T", path, v)
		}
	case "bytes":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: bytes wants a base64 string, got %T", path, v)
		}
		b, err := base64.StdEncoding.DecodeString(str)
		if err != nil {
			return fmt.Errorf("%s: bytes: %w", path, err)
		}
		if s["name"] == "org.apache.kafka.connect.data.Decimal" && len(b) == 0 {
			return fmt.Errorf("%s: a Decimal of no bytes", path)
		}
	case "array":
		items, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: array wants an array, got %T", path, v)
		}
		for i, it := range items {
			if err := c.value(fmt.Sprintf("%s[%d]", path, i), s["items"].(map[string]any), it); err != nil {
				return err
			}
		}
	case "map":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: map wants an object, got %T", path, v)
		}
		for k, mv := range m {
			if err := c.value(path+"."+k, s["values"].(map[string]any), mv); err != nil {
				return err
			}
		}
	case "struct":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: struct wants an object, got %T", path, v)
		}
		for _, f := range s["fields"].([]any) {
			fs := f.(map[string]any)
			name := fs["field"].(string)
			if err := c.value(path+"."+name, fs, m[name]); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkRecords runs checkConnect on the keys and values of every record.
func checkRecords(recs []record) error {
	var errs []string
	for _, r := range recs {
		for what, doc := range map[string][]byte{"key": r.key, "value": r.value} {
			if doc == nil {
				continue
			}
			if err := checkConnect(r.topic, doc); err != nil {
				errs = append(errs, fmt.Sprintf("%s offset %d %s: %v", r.topic, r.offset, what, err))
			}
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d records JsonConverter cannot read:\n%s", len(errs), strings.Join(errs, "\n"))
	}
	return nil
}

// TestConnectCheck: the check refuses what JsonConverter refuses.
func TestConnectCheck(t *testing.T) {
	const ok = `{"schema":{"type":"struct","fields":[{"type":"int16","optional":false,"field":"a"},` +
		`{"type":"bytes","optional":true,"name":"org.apache.kafka.connect.data.Decimal","version":1,"parameters":{"scale":"2"},"field":"d"}],` +
		`"optional":false,"name":"p.db.t.Value"},"payload":{"a":1,"d":"AQ=="}}`
	if err := checkConnect("p.db.t", []byte(ok)); err != nil {
		t.Fatalf("a valid record refused: %v", err)
	}
	for name, doc := range map[string]string{
		"float32 type":       `{"schema":{"type":"float32","optional":false},"payload":1.5}`,
		"no payload":         `{"schema":{"type":"int32","optional":false}}`,
		"extra member":       `{"schema":{"type":"int32","optional":false},"payload":1,"x":1}`,
		"required null":      `{"schema":{"type":"struct","fields":[{"type":"int32","optional":false,"field":"a"}],"optional":false},"payload":{"a":null}}`,
		"int16 out of range": `{"schema":{"type":"int16","optional":false},"payload":40000}`,
		"unknown name":       `{"schema":{"type":"string","optional":false,"name":"io.debezium.time.Zoned"},"payload":"x"}`,
		"logical over type":  `{"schema":{"type":"int64","optional":false,"name":"org.apache.kafka.connect.data.Date"},"payload":1}`,
		"bad base64":         `{"schema":{"type":"bytes","optional":false},"payload":"%%"}`,
		"bad default":        `{"schema":{"type":"int32","optional":true,"default":"x"},"payload":null}`,
	} {
		if err := checkConnect("p.db.t", []byte(doc)); err == nil {
			t.Errorf("%s: accepted %s", name, doc)
		}
	}
}
