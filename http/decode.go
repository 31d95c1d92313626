package http

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/offerflow/offerflow/domain"
)

// MaxBodyBytes is the largest request body the API reads, chunked bodies
// included; a larger one is answered 413 body_too_large.
const MaxBodyBytes = 1 << 20

// readBody reads the whole request body, refusing more than MaxBodyBytes.
// A declared Content-Length over the cap is refused without reading.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > MaxBodyBytes {
		return nil, errorf(EBODYTOOLARGE, "the body must be at most %d bytes", MaxBodyBytes)
	}
	if r.Body == nil {
		return nil, nil
	}
	// The body's deadline is set by the bodyDeadline middleware, for every
	// route, so that one that never reads its body is not held either.
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		return nil, errorf(EBODYTOOLARGE, "the body must be at most %d bytes", MaxBodyBytes)
	case isTimeout(err):
		return nil, errorf(EREQUESTTIMEOUT, "the body did not arrive in time")
	case err != nil:
		return nil, errorf(domain.EMALFORMED, "the body could not be read")
	}
	return b, nil
}

// checkObject checks that b is one JSON object (or nothing, which stands for
// {}) whose keys are all among the JSON field names of v's struct type,
// spelled exactly. It returns the object, "{}" for an empty body. Every
// failure is malformed (400): not JSON, trailing data, not an object, or an
// unknown field.
func checkObject(b []byte, v any) (json.RawMessage, error) {
	b = bytes.TrimSpace(b)
	if len(b) == 0 {
		return json.RawMessage("{}"), nil
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	var raw json.RawMessage
	if err := dec.Decode(&raw); err != nil {
		return nil, errorf(domain.EMALFORMED, "the body is not valid JSON")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errorf(domain.EMALFORMED, "the body has data after its JSON value")
	}
	if raw[0] != '{' {
		return nil, errorf(domain.EMALFORMED, "the body must be a JSON object")
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return nil, errorf(domain.EMALFORMED, "the body is not valid JSON")
	}
	allowed := jsonFields(v)
	for k := range fields {
		if !allowed[k] {
			e := domain.Errorf(domain.EMALFORMED, "unknown field %q", k)
			e.Field = k
			return nil, e
		}
	}
	return raw, nil
}

// decodeObject decodes an object that checkObject accepted into v. A value
// of the wrong JSON type is validation_failed (422) naming the field.
func decodeObject(raw json.RawMessage, v any) error {
	err := json.Unmarshal(raw, v)
	var typeErr *json.UnmarshalTypeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &typeErr):
		field := typeErr.Field
		if field == "" {
			field = "body"
		}
		return domain.Invalid(field, "%s must be %s", field, jsonTypeName(typeErr.Type))
	default:
		return domain.Invalid("body", "the body does not fit the expected shape")
	}
}

// decode reads and decodes the request body into v, in the contract's order:
// 413 body_too_large, 400 malformed, then 422 validation_failed for wrong
// types.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	b, err := readBody(w, r)
	if err != nil {
		return err
	}
	raw, err := checkObject(b, v)
	if err != nil {
		return err
	}
	return decodeObject(raw, v)
}

// jsonFields returns the JSON names of the fields of v's struct type.
func jsonFields(v any) map[string]bool {
	t := reflect.TypeOf(v)
	for t != nil && t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	out := map[string]bool{}
	if t == nil || t.Kind() != reflect.Struct {
		return out
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = f.Name
		}
		out[name] = true
	}
	return out
}

// jsonTypeName says in JSON's words what a Go type accepts.
func jsonTypeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "an array of " + strings.TrimPrefix(strings.TrimPrefix(jsonTypeName(t.Elem()), "an "), "a ") + "s"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "of another type"
}

// parseTime parses an RFC 3339 time given at the edge; field names it in the
// validation error.
func parseTime(field, s string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, domain.Invalid(field, "%s must be an RFC 3339 time", field)
	}
	return t.UTC(), nil
}

// optionalTime parses an optional RFC 3339 time of a body: nil when absent.
func optionalTime(field string, s *string) (*time.Time, error) {
	if s == nil {
		return nil, nil
	}
	t, err := parseTime(field, *s)
	if err != nil {
		return nil, err
	}
	return &t, nil
}
