package http

import (
	"encoding/json"
	"math"
	"net/http"
	"strings"
	"sync"
)

// The OpenAPI 3 document is built here, next to the routes it describes,
// and a test keeps the two in step: every route the router serves must be
// in it, and every response the test suite sees must validate against it.

type obj = map[string]any

var (
	openAPIOnce sync.Once
	openAPIJSON []byte
)

// OpenAPI returns the OpenAPI 3 document of the API as JSON.
func OpenAPI() []byte {
	openAPIOnce.Do(func() {
		b, err := json.MarshalIndent(openAPIDocument(), "", "  ")
		if err != nil {
			// The document is built from literals: failing to encode it is
			// a programming error that every test run would show.
			panic("openapi: " + err.Error())
		}
		openAPIJSON = b
	})
	return openAPIJSON
}

// handleOpenAPI serves the OpenAPI document; it needs no token.
func (s *Server) handleOpenAPI(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_, _ = w.Write(OpenAPI())
}

// op describes one operation.
type op struct {
	method, path, id, summary string
	roles                     string
	params                    []obj
	body                      obj // request body schema; nil for none
	bodyRequired              bool
	idempotent                bool // creates a resource: answers Location
	command                   bool // a command: If-Match, ETag, X-Log-Position, 409/412, Idempotency-Key
	unversioned               bool // a command on what serves no version (tokens): X-Log-Position, no If-Match or ETag
	// newStream: the command creates its resource on a new stream, so an
	// If-Match can name no version of it and is ignored (createMeta);
	// neither If-Match nor 412 is documented, so a validator does not
	// refuse a value the server ignores.
	newStream bool
	ok        int
	okSchema  obj    // nil for no body
	okType    string // content type of the success body, JSON by default
	okETag    bool
	// asOf: a read side list answered ?as_of= from a replay of the log,
	// with X-As-Of-Position.
	asOf   bool
	errors []int
	// more are responses besides the success and the problems, as given.
	more obj
	// formBody is a form-encoded request body schema (the UI's sign-in).
	formBody obj
}

func openAPIDocument() obj {
	paths := obj{}
	for _, o := range append(append(operations(), treeOperations()...), campaignOperations()...) {
		item, _ := paths[o.path].(obj)
		if item == nil {
			item = obj{}
			paths[o.path] = item
		}
		item[strings.ToLower(o.method)] = o.build()
	}
	return obj{
		"openapi": "3.0.3",
		"info": obj{
			"title":   "offerflow",
			"version": "1",
			"description": "Event-sourced offer workflow for resellers of e-learning modules and courses. " +
				"Errors are application/problem+json with a stable `code`; checks run in the order " +
				"401, 403, 413, 400, 404, 422, 412, 409. Every command answers `X-Log-Position`; every " +
				"query accepts `min_position` (or `X-Min-Position`) and waits up to 5 s for the read " +
				"models to reach it (503 `not_caught_up` with `Retry-After` otherwise).",
		},
		"servers":  []obj{{"url": "/"}},
		"security": []obj{{"bearer": []string{}}, {"session": []string{}}},
		"paths":    paths,
		"components": obj{
			"securitySchemes": obj{
				"bearer":  obj{"type": "http", "scheme": "bearer", "description": "A token of one role and one tenant (prefix `ofr_`), or the operator token."},
				"session": obj{"type": "apiKey", "in": "cookie", "name": SessionCookie, "description": "The web UI's session cookie, holding a token; accepted on the same terms."},
			},
			"schemas":    merge(merge(schemas(), treeSchemas()), campaignSchemas()),
			"parameters": parameters(),
		},
	}
}

// merge returns a with every key of b added.
func merge(a, b obj) obj {
	for k, v := range b {
		a[k] = v
	}
	return a
}

func (o op) build() obj {
	out := obj{"operationId": o.id, "summary": o.summary}
	if o.roles != "" {
		out["description"] = "Roles: " + o.roles + "."
	}
	params := append([]obj{}, o.params...)
	if o.asOf {
		params = append(params, pref("AsOf"))
	}
	if o.command && !o.unversioned && !o.newStream {
		params = append(params, pref("IfMatch"))
	}
	if o.command {
		// Every command honours Idempotency-Key (contract 1.1).
		params = append(params, pref("IdempotencyKey"))
	}
	if len(params) > 0 {
		out["parameters"] = params
	}
	if o.body != nil {
		out["requestBody"] = obj{"required": o.bodyRequired, "content": obj{"application/json": obj{"schema": o.body}}}
	}
	responses := obj{}
	success := obj{"description": http.StatusText(o.ok)}
	headers := obj{}
	if o.command {
		headers["X-Log-Position"] = obj{"description": "Global position of the last event the command wrote (or of its stream's last event).", "schema": integer()}
	}
	if o.asOf {
		headers["X-As-Of-Position"] = obj{"description": "With as_of: the log position the read models were replayed to.", "schema": integer()}
	}
	if o.okETag || (o.command && !o.unversioned) {
		headers["ETag"] = obj{"description": `The resource's version, quoted: "<version>".`, "schema": str()}
	}
	if o.command {
		headers["Idempotency-Replayed"] = obj{"description": "true when this is the stored response of an earlier request with the same key.", "schema": str()}
	}
	if o.idempotent {
		headers["Location"] = obj{"description": "Where the created resource is read.", "schema": str()}
	}
	if len(headers) > 0 {
		success["headers"] = headers
	}
	if o.okSchema != nil {
		ct := o.okType
		if ct == "" {
			ct = "application/json"
		}
		success["content"] = obj{ct: obj{"schema": o.okSchema}}
	}
	responses[itoa(o.ok)] = success
	for _, st := range o.errors {
		if st == http.StatusPreconditionFailed && o.newStream {
			continue
		}
		responses[itoa(st)] = problemResponse(st)
	}
	// Any request may be over a limit, and any body may be late.
	responses["429"] = problemResponse(429)
	if o.body != nil || o.formBody != nil {
		responses["408"] = problemResponse(408)
	}
	if o.command {
		// Idempotency-Key: idempotency_key_reused and idempotency_in_progress.
		responses["409"], responses["422"] = problemResponse(409), problemResponse(422)
		// Any command may be shed (Config.MaxCommandsInFlight).
		shed := problemResponse(503)
		shed["description"] = "unavailable: the server has its bound of commands in progress (serve --max-commands-in-flight); nothing was written, send the command again (see Retry-After, in seconds)"
		responses["503"] = shed
	}
	for st, r := range o.more {
		responses[st] = r
	}
	if o.formBody != nil {
		out["requestBody"] = obj{"required": true, "content": obj{"application/x-www-form-urlencoded": obj{"schema": o.formBody}}}
	}
	out["responses"] = responses
	if o.roles == "" {
		out["security"] = []obj{}
	}
	return out
}

func problemResponse(status int) obj {
	desc := map[int]string{
		400: "malformed: not JSON, trailing data, an unknown field, or a bad cursor",
		401: "unauthenticated: no token, or a bad one",
		403: "forbidden: the role may not call this endpoint (or a cross-origin write used the session cookie)",
		404: "not_found: the resource in the path does not exist for this tenant",
		409: "invalid_transition (not allowed in the current state), or idempotency_in_progress",
		412: "version_conflict: If-Match does not match the current version",
		408: "request_timeout: the body did not arrive in full in time (30 s); the connection is closed",
		413: "body_too_large: more than 1,048,576 bytes",
		422: "validation_failed (the problem's `field` names the input), or idempotency_key_reused",
		429: "rate_limited: over a per-token or per-address limit, too many failed authentications from the address, or too many open streams of the token; nothing was written (see Retry-After, in seconds)",
		503: "not_caught_up: the read models did not reach min_position within 5 s (see Retry-After)",
	}[status]
	r := obj{"description": desc, "content": obj{"application/problem+json": obj{"schema": ref("Problem")}}}
	if status == 503 || status == 429 {
		r["headers"] = obj{"Retry-After": obj{"schema": integer(), "required": true}}
	}
	return r
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// Schema helpers.
func ref(name string) obj       { return obj{"$ref": "#/components/schemas/" + name} }
func pref(name string) obj      { return obj{"$ref": "#/components/parameters/" + name} }
func str() obj                  { return obj{"type": "string"} }
func integer() obj              { return obj{"type": "integer"} }
func boolean() obj              { return obj{"type": "boolean"} }
func dateTime() obj             { return obj{"type": "string", "format": "date-time"} }
func arr(items obj) obj         { return obj{"type": "array", "items": items} }
func enum(values ...string) obj { return obj{"type": "string", "enum": values} }
func nullable(o obj) obj        { o["nullable"] = true; return o }
func listOf(name string) obj {
	return object([]string{"items", "next_cursor"}, obj{"items": arr(ref(name)), "next_cursor": nullable(str())})
}
func strMax(n int) obj { return obj{"type": "string", "maxLength": n} }

// position is a log position or version from the query: 64 bits, as the
// server reads it, from lo.
func position(lo int) obj {
	return obj{"type": "integer", "format": "int64", "minimum": lo, "maximum": int64(math.MaxInt64)}
}
func intRange(lo, hi int) obj { return obj{"type": "integer", "minimum": lo, "maximum": hi} }

// idParam is an id in the path: an id the server could have issued, else
// it answers 404 without a look-up.
func idParam(name string) obj {
	p := pathParam(name)
	p["schema"] = obj{"type": "string", "pattern": "^[A-Za-z0-9_-]{1,128}$"}
	return p
}
func pathParam(name string) obj {
	return obj{"name": name, "in": "path", "required": true, "schema": str()}
}
func queryParam(name string, s obj, desc string) obj {
	return obj{"name": name, "in": "query", "required": false, "schema": s, "description": desc}
}

// object is a response schema: the listed keys are always there, and new
// ones may be added in later versions.
func object(required []string, props obj) obj {
	o := obj{"type": "object", "properties": props}
	if len(required) > 0 {
		o["required"] = required
	}
	return o
}

// input is a request body schema: unknown fields are refused (400).
func input(required []string, props obj) obj {
	o := object(required, props)
	o["additionalProperties"] = false
	return o
}

func parameters() obj {
	return obj{
		"Limit": queryParam("limit", intRange(1, maxLimit), "Page size, 1 to 500 (default 50); anything else is 422."),
		// A cursor is unpadded base64url (both kinds of list, projections' and
		// the log's), and one that decodes to more than 4,096 bytes (5,462
		// characters) is refused, so the document refuses what cannot be one.
		"Cursor": queryParam("cursor", obj{"type": "string", "pattern": "^[A-Za-z0-9_-]*$", "maxLength": 5462},
			"The next_cursor of the previous page; an unknown one is 400."),
		"MinPosition": queryParam("min_position", position(0), "Wait until the read models have applied this log position (read-your-writes)."),
		"AsOf": queryParam("as_of", obj{"type": "string", "pattern": `^([0-9]{1,20}|[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt].+)$`},
			"The read models as they stood at this log position (an integer; 0 is before the first event) or time (RFC 3339: the longest prefix of the log whose events occurred by then), "+
				"replayed from the log with the live projectors; X-As-Of-Position names the position. Malformed, beyond the log's head, or more events to replay than the server allows "+
				"(serve --as-of-max-events, 250,000 by default): 422. min_position is then only checked, not waited for."),
		"XMinPosition": obj{"name": "X-Min-Position", "in": "header", "required": false, "schema": position(0),
			"description": "Same as min_position."},
		"IfMatch": obj{"name": "If-Match", "in": "header", "required": false, "schema": obj{"type": "string", "pattern": `^\s*(\*|(W/)?"?[0-9]{1,20}"?)`},
			"description": `The version last seen, as "<version>"; a mismatch is 412.`},
		"IdempotencyKey": obj{"name": "Idempotency-Key", "in": "header", "required": false, "schema": obj{"type": "string", "pattern": "^[\\x20-\\x7e]{1,255}$"},
			"description": "Makes a creating command safe to retry for 24 hours: the same key with a JSON-equal body replays the first response; with another body it is 422 idempotency_key_reused; while the first runs, 409 idempotency_in_progress."},
	}
}

func queryParams(extra ...obj) []obj {
	return append(extra, pref("MinPosition"), pref("XMinPosition"))
}

func listParams(extra ...obj) []obj {
	return queryParams(append(extra, pref("Limit"), pref("Cursor"))...)
}

func emptyBody() obj {
	return input(nil, obj{})
}
