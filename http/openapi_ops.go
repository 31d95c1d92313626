package http

// operations lists every operation of the OpenAPI document. Its paths are
// the router's, with /v1 in front.
func operations() []op {
	var (
		auth      = []int{401, 403}
		bodyErrs  = []int{400, 401, 403, 413, 422}
		pathCmd   = []int{400, 401, 403, 404, 409, 412, 413}
		query     = []int{401, 403, 422, 503}
		listErrs  = []int{400, 401, 403, 422, 503}
		pathQuery = []int{401, 403, 404, 422, 503}
		id        = idParam("id")
		offerID   = idParam("offer_id")
		itemID    = idParam("item_id")
	)
	return []op{
		{method: "GET", path: "/", id: "uiSignIn", summary: "Web UI: the sign-in page, or a redirect to /app for a visitor with a session.",
			ok: 200, okSchema: str(), okType: "text/html", more: obj{"303": redirect("/app")}},
		{method: "GET", path: "/app", id: "uiApp", summary: "Web UI: the application page (reseller's and customer's pages).", ok: 200, okSchema: str(), okType: "text/html"},
		{method: "GET", path: "/assets/{name}", id: "uiAsset", summary: "Web UI: an embedded stylesheet or script.", params: []obj{pathParam("name")},
			ok: 200, okSchema: str(), okType: "*/*", more: obj{"304": obj{"description": "Not modified"}, "404": textResponse("Not found", "text/plain")}},
		{method: "GET", path: "/session", id: "uiSession", summary: "Web UI: who the session cookie belongs to.",
			ok: 200, okSchema: object([]string{"role", "tenant"}, obj{"role": str(), "tenant": str()}), errors: []int{401}},
		{method: "POST", path: "/session", id: "uiSignInPost", summary: "Web UI: sign in with a token; it is kept in the session cookie (HttpOnly, SameSite=Strict).",
			formBody: obj{"type": "object", "properties": obj{"token": str()}},
			ok:       303, more: obj{"400": textResponse("The form could not be read", "text/html"), "401": textResponse("Not a valid token", "text/html"),
				"403": obj{"description": "A role without pages (HTML), or a cross-origin post (text)",
					"content": obj{"text/html": obj{"schema": str()}, "text/plain": obj{"schema": str()}}}, "503": textResponse("The token could not be checked", "text/html")}},
		{method: "POST", path: "/session/logout", id: "uiSignOut", summary: "Web UI: sign out (clears the cookie).", ok: 303,
			more: obj{"403": textResponse("A cross-origin post", "text/plain")}},

		{method: "GET", path: "/healthz", id: "healthz", summary: "Liveness: 200 while the process runs.", ok: 200, okSchema: ref("Status")},
		{method: "GET", path: "/readyz", id: "readyz", summary: "Readiness: 200 once the stores are open and projections caught up at start-up; status degraded, with parked_events, while the read models have parked events.",
			ok: 200, okSchema: ref("Readiness"), errors: []int{503}},
		{method: "GET", path: "/metrics", id: "metrics", summary: "Prometheus metrics in the text format.", ok: 200, okSchema: str(), okType: "text/plain"},
		{method: "GET", path: "/v1/openapi.json", id: "openapi", summary: "This document.", ok: 200, okSchema: obj{"type": "object"}},

		{method: "POST", path: "/v1/resellers", id: "createReseller", summary: "Register a reseller.", roles: "operator",
			body: ref("CreateResellerRequest"), bodyRequired: true, idempotent: true, newStream: true, command: true, ok: 201, okSchema: ref("Reseller"), errors: append(bodyErrs, 409)},
		{method: "POST", path: "/v1/tokens", id: "createToken", summary: "Issue a token of one role for one tenant; it is shown once.", roles: "operator",
			body: ref("CreateTokenRequest"), bodyRequired: true, idempotent: true, command: true, ok: 201, okSchema: ref("Token"), errors: append(bodyErrs, 409)},
		{method: "POST", path: "/v1/tokens/revoke", id: "revokeToken", roles: "operator",
			summary: "Revoke an issued token, named by the token itself or by its SHA-256: from then on it is 401 everywhere. " +
				"A token or hash that names no issued token is 422 on that field; a token already revoked, or the operator token " +
				"given at start-up (which only a restart with another one retires), is 409 invalid_transition.",
			body: ref("RevokeTokenRequest"), bodyRequired: true, command: true, unversioned: true, ok: 204, errors: append(bodyErrs, 409)},
		{method: "DELETE", path: "/v1/tokens/self", id: "revokeOwnToken", roles: "operator, reseller, customer, auditor",
			summary: "Revoke the token this request authenticated with (header or session cookie): signing out for good, as the web UI's " +
				"sign-out may do. From then on the token is 401 everywhere. The operator token given at start-up cannot be revoked (409).",
			body: emptyBody(), command: true, unversioned: true, ok: 204, errors: []int{400, 401, 403, 409, 413}},

		{method: "POST", path: "/v1/products", id: "createProduct", summary: "Add a product to the catalog. Its name must differ from the reseller's other products' (compared case-insensitively, spaces collapsed): a taken name is 422 on name, the detail naming it.", roles: "reseller",
			body: ref("CreateProductRequest"), bodyRequired: true, idempotent: true, newStream: true, command: true, ok: 201, okSchema: ref("Product"), errors: append(bodyErrs, 409)},
		{method: "GET", path: "/v1/products", id: "listProducts", summary: "List the catalog by name.", roles: "reseller",
			params: listParams(queryParam("q", str(), "Case-insensitive substring of the name.")), ok: 200, okSchema: ref("ProductList"), errors: listErrs},
		{method: "GET", path: "/v1/products/{id}", id: "getProduct", summary: "One product.", roles: "reseller",
			params: queryParams(id), ok: 200, okSchema: ref("Product"), okETag: true, errors: pathQuery},

		{method: "POST", path: "/v1/templates", id: "createTemplate", summary: "Create an empty offer template. Its name must differ from the reseller's other live templates' (compared case-insensitively, spaces collapsed; an archived template gives its name up): a taken name is 422 on name, the detail naming it.", roles: "reseller",
			body: ref("CreateTemplateRequest"), bodyRequired: true, idempotent: true, newStream: true, command: true, ok: 201, okSchema: ref("Template"), errors: append(bodyErrs, 409)},
		{method: "GET", path: "/v1/templates", id: "listTemplates", summary: "List templates by name.", roles: "reseller",
			params: listParams(queryParam("include_archived", boolean(), "Include archived templates.")), ok: 200, okSchema: ref("TemplateList"), errors: listErrs},
		{method: "GET", path: "/v1/templates/{id}", id: "getTemplate", summary: "One template, archived or not.", roles: "reseller",
			params: queryParams(id), ok: 200, okSchema: ref("Template"), okETag: true, errors: pathQuery},
		{method: "DELETE", path: "/v1/templates/{id}", id: "archiveTemplate", summary: "Archive a template: kept for history, hidden from the list, closed to changes and new offers.", roles: "reseller",
			params: []obj{id}, body: emptyBody(), command: true, ok: 204, errors: pathCmd},
		{method: "POST", path: "/v1/templates/{id}/items", id: "addTemplateItem", summary: "Add a product in one of its terms, at most once per product and term (again is 422 on product_id); answers the whole template.", roles: "reseller",
			params: []obj{id}, body: ref("AddItemRequest"), bodyRequired: true, idempotent: true, command: true, ok: 201, okSchema: ref("Template"), errors: append(pathCmd, 422)},
		{method: "PATCH", path: "/v1/templates/{id}/items/{item_id}", id: "setTemplateItemMode", summary: "Toggle an item's license mode.", roles: "reseller",
			params: []obj{id, itemID}, body: ref("SetItemModeRequest"), bodyRequired: true, command: true, ok: 200, okSchema: ref("Template"), errors: append(pathCmd, 422)},
		{method: "DELETE", path: "/v1/templates/{id}/items/{item_id}", id: "removeTemplateItem", summary: "Remove an item.", roles: "reseller",
			params: []obj{id, itemID}, body: emptyBody(), command: true, ok: 200, okSchema: ref("Template"), errors: pathCmd},

		{method: "POST", path: "/v1/customers", id: "createCustomer", summary: "Register a customer instance.", roles: "reseller",
			body: ref("CreateCustomerRequest"), bodyRequired: true, idempotent: true, newStream: true, command: true, ok: 201, okSchema: ref("Customer"), errors: append(bodyErrs, 409)},
		{method: "GET", path: "/v1/customers", id: "listCustomers", summary: "List customers by name, with offer counts.", roles: "reseller",
			params: listParams(), ok: 200, okSchema: ref("CustomerList"), errors: listErrs},
		{method: "GET", path: "/v1/customers/{id}", id: "getCustomer", summary: "One customer with offer counts and its offers, newest first (limit and cursor page the offers).", roles: "reseller",
			params: listParams(id), asOf: true, ok: 200, okSchema: ref("CustomerDetail"), okETag: true, errors: append(pathQuery, 400)},
		{method: "POST", path: "/v1/customers/{id}/erase", id: "eraseCustomer", summary: "Erase the customer's texts (name, external_ref, its offers' messages and rejection reasons): their key is destroyed, the events stay and still verify; they read as null with erased: true. Again: 200 with the first erased_at.", roles: "reseller (own customer), operator",
			params: []obj{id}, body: emptyBody(), command: true, ok: 200, okSchema: ref("Erasure"), errors: pathCmd},
		{method: "POST", path: "/v1/customers/{id}/offers", id: "createOffer", summary: "Send an offer built from a template (a snapshot of its items); delivered in the background.", roles: "reseller",
			params: []obj{id}, body: ref("CreateOfferRequest"), bodyRequired: true, idempotent: true, newStream: true, command: true, ok: 202, okSchema: ref("Offer"), errors: append(pathCmd, 422)},

		{method: "GET", path: "/v1/offers", id: "listOffers", summary: "List offers newest first.", roles: "reseller (own), auditor (own reseller or all)",
			params: listParams(queryParam("customer_id", str(), "Only this customer's offers (another reseller's customer: empty list)."),
				queryParam("status", enum(statuses()...), "Only offers in this status.")),
			asOf: true, ok: 200, okSchema: ref("OfferList"), errors: listErrs},
		{method: "GET", path: "/v1/offers/{id}", id: "getOffer", summary: "One offer from its event stream; as_of_version or as_of give it as it stood then.", roles: "reseller (own), auditor (own reseller or all)",
			params: queryParams(id, queryParam("as_of_version", position(1), "The offer as of this version."),
				queryParam("as_of", dateTime(), "The offer as of this time (RFC 3339).")),
			ok: 200, okSchema: ref("Offer"), okETag: true, errors: pathQuery},
		{method: "POST", path: "/v1/offers/{id}/withdraw", id: "withdrawOffer", summary: "Withdraw an offer (from waiting, waiting_for_confirmation or delivery_failed).", roles: "reseller",
			params: []obj{id}, body: emptyBody(), command: true, ok: 200, okSchema: ref("Offer"), errors: pathCmd},
		{method: "POST", path: "/v1/offers/{id}/redeliver", id: "redeliverOffer", summary: "Deliver a failed offer again (back to waiting).", roles: "reseller",
			params: []obj{id}, body: emptyBody(), command: true, ok: 200, okSchema: ref("Offer"), errors: pathCmd},
		{method: "POST", path: "/v1/offers/{id}/revise", id: "reviseOffer", roles: "reseller",
			summary: "Revise an undecided offer (waiting, waiting_for_confirmation or delivery_failed, before expires_at): it becomes superseded " +
				"and can no longer be accepted (superseded_by names the new offer); the new offer, with supersedes, is delivered in the background. " +
				"Fields not given are the old offer's (its items when template_id is absent). A decision racing the revision: exactly one wins, the other is 409.",
			params: []obj{id}, body: ref("ReviseOfferRequest"), idempotent: true, command: true, ok: 202, okSchema: ref("Offer"), errors: append(pathCmd, 422)},
		{method: "GET", path: "/v1/offers/{id}/history", id: "offerHistory", summary: "Every event of the offer and of the streams it caused (its grant's licenses.granted), in log order, each with its stream and the hash chain of that stream.", roles: "reseller (own), customer (own delivered offers), auditor",
			params: listParams(id), ok: 200, okSchema: ref("EventList"), errors: append(pathQuery, 400)},
		{method: "GET", path: "/v1/audit/events", id: "auditEvents", summary: "The events the token may see, in global order, one JSON object (history shape) a line.", roles: "reseller, customer, auditor",
			params: queryParams(queryParam("after", position(0), "Only events after this position."), pref("Limit")),
			ok:     200, okSchema: str(), okType: "application/x-ndjson", errors: query},

		{method: "GET", path: "/v1/inbox", id: "listInbox", summary: "Delivered offers newest first.", roles: "customer",
			params: listParams(), asOf: true, ok: 200, okSchema: ref("InboxList"), errors: listErrs},
		{method: "GET", path: "/v1/inbox/badge", id: "inboxBadge", summary: "Unread counts of the Admin module and Updates.", roles: "customer",
			params: queryParams(), ok: 200, okSchema: ref("Badge"), errors: query},
		{method: "POST", path: "/v1/inbox/{offer_id}/read", id: "readOffer", summary: "Open an offer; recorded once.", roles: "customer",
			params: []obj{offerID}, body: emptyBody(), command: true, ok: 204, errors: pathCmd},
		{method: "POST", path: "/v1/inbox/{offer_id}/accept", id: "acceptOffer", summary: "Accept an offer; the licenses are granted.", roles: "customer",
			params: []obj{offerID}, body: emptyBody(), command: true, ok: 200, okSchema: ref("Offer"), errors: pathCmd},
		{method: "POST", path: "/v1/inbox/{offer_id}/reject", id: "rejectOffer", summary: "Reject an offer, with an optional reason.", roles: "customer",
			params: []obj{offerID}, body: ref("RejectRequest"), command: true, ok: 200, okSchema: ref("Offer"), errors: append(pathCmd, 422)},
		{method: "GET", path: "/v1/licenses", id: "listLicenses", summary: "Licenses granted by accepted offers, one per item.", roles: "customer",
			params: listParams(), ok: 200, okSchema: ref("LicenseList"), errors: listErrs},
		{method: "PUT", path: "/v1/webhook", id: "setWebhook", summary: "Set the webhook for new offers; the signing secret is shown only here.", roles: "customer",
			body: ref("SetWebhookRequest"), bodyRequired: true, command: true, ok: 200, okSchema: ref("Webhook"), errors: append(bodyErrs, 409, 412)},
		{method: "GET", path: "/v1/webhook", id: "getWebhook", summary: "The webhook URL, or 404 when none is set.", roles: "customer",
			params: queryParams(), ok: 200, okSchema: ref("Webhook"), okETag: true, errors: append(query, 404)},
		{method: "DELETE", path: "/v1/webhook", id: "removeWebhook", summary: "Remove the webhook; 404 when none is set.", roles: "customer",
			body: emptyBody(), command: true, ok: 204, errors: pathCmd},

		{method: "GET", path: "/v1/stream", id: "stream", summary: "Live updates as Server-Sent Events; ids are log positions and Last-Event-ID resumes.", roles: "reseller, customer",
			params: []obj{{"name": "Last-Event-ID", "in": "header", "required": false, "schema": obj{"type": "string", "pattern": `^\s*[0-9]{1,20}\s*$`}, "description": "Resume after this log position."},
				queryParam("last_event_id", obj{"type": "string", "pattern": `^\s*[0-9]{1,20}\s*$`}, "Same as Last-Event-ID, for clients that cannot set headers; the header wins.")},
			ok: 200, okSchema: str(), okType: "text/event-stream", errors: append(auth, 400)},
	}
}

func redirect(to string) obj {
	return obj{"description": "See " + to, "headers": obj{"Location": obj{"schema": str()}}}
}

func textResponse(desc, contentType string) obj {
	return obj{"description": desc, "content": obj{contentType: obj{"schema": str()}}}
}
