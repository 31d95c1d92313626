package http

import "github.com/offerflow/offerflow/domain"

// The OpenAPI description of campaigns and reports (campaign.go,
// report.go).

func campaignOperations() []op {
	id := idParam("id")
	return []op{
		{method: "POST", path: "/v1/campaigns", id: "createCampaign", roles: "reseller",
			summary: "Send one template to 1 to 1,000 customers of the reseller: one offer each, in its own stream. Validation is all or " +
				"nothing: an empty or too long list, or a customer id that is unknown, another reseller's or repeated, is 422 naming it, and " +
				"nothing is written. 202: the campaign is recorded (campaign.started, listing the offer ids); the campaign process creates " +
				"and dispatches the offers in the background under those ids (GET the campaign for their counts).",
			body: ref("CreateCampaignRequest"), bodyRequired: true, idempotent: true, newStream: true, command: true, ok: 202, okSchema: ref("Campaign"),
			errors: []int{400, 401, 403, 413, 422}},
		{method: "GET", path: "/v1/campaigns", id: "listCampaigns", roles: "reseller",
			summary: "The reseller's campaigns, newest first, each with its offers' counts by status (not the offers).",
			params:  listParams(), ok: 200, okSchema: ref("CampaignList"), errors: []int{400, 401, 403, 422, 503}},
		{method: "GET", path: "/v1/campaigns/{id}", id: "getCampaign", roles: "reseller",
			summary: "One campaign with its offers and their counts by status (from the read models; an offer the campaign process " +
				"has not created yet counts as waiting; a revised offer's successor is listed and counted in its place).",
			params: queryParams(id), ok: 200, okSchema: ref("Campaign"), okETag: true, errors: []int{401, 403, 404, 422, 503}},
		{method: "GET", path: "/v1/reports/offers", id: "offerReport", roles: "reseller",
			summary: "The reseller's offers created in [from, to), grouped by template (default), customer or month (YYYY-MM, UTC): " +
				"counts by status, acceptance rate (accepted / (accepted + rejected), null when none was decided), the median hours " +
				"from creation to a decision, and the rejection reasons given (a reason's code where it has one, else its text; " +
				"empty ones left out), most frequent first. Computed from the reports read model. from after to, a time that is " +
				"not RFC 3339, or another group_by is 422.",
			params: queryParams(
				queryParam("from", dateTime(), "Only offers created at or after this time (default: all time)."),
				queryParam("to", dateTime(), "Only offers created before this time (default: all time)."),
				queryParam("group_by", enum(string(domain.GroupByTemplate), string(domain.GroupByCustomer), string(domain.GroupByMonth)), "What to group by (default template).")),
			ok: 200, okSchema: ref("OfferReport"), errors: []int{401, 403, 422, 503}},
		{method: "GET", path: "/v1/reports/offers/charts/{chart}", id: "offerChart", roles: "reseller",
			summary: "One chart of the reseller's dashboard as an SVG image, drawn on the server from the same read model: statuses " +
				"(offers by status per month of creation), acceptance (rate per template), decision (median hours to a decision per " +
				"template) or reasons (the most frequent rejection reasons). from and to as for the report; lang en (default) or de.",
			params: queryParams(obj{"name": "chart", "in": "path", "required": true, "schema": enum("statuses", "acceptance", "decision", "reasons")},
				queryParam("from", dateTime(), "Only offers created at or after this time."),
				queryParam("to", dateTime(), "Only offers created before this time."),
				queryParam("lang", enum("en", "de"), "The language of the chart's texts (default en).")),
			ok: 200, okSchema: str(), okType: "image/svg+xml", errors: []int{401, 403, 404, 422, 503}},
	}
}

func campaignSchemas() obj {
	counts := obj{"type": "object", "additionalProperties": integer(), "description": "Number of offers by status; every status is a key."}
	rate := nullable(obj{"type": "number", "minimum": 0, "maximum": 1})
	return obj{
		"CreateCampaignRequest": input([]string{"template_id", "customer_ids"}, obj{
			"template_id":  str(),
			"customer_ids": obj{"type": "array", "minItems": 1, "maxItems": domain.MaxCampaignCustomers, "uniqueItems": true, "items": str()},
			"message":      multiLine(domain.MaxMessageLen),
			"expires_at":   nullable(obj{"type": "string", "format": "date-time", "description": "In the future, at most 365 days ahead."}),
		}),
		"Campaign": object([]string{"id", "template_id", "message", "expires_at", "created_at", "offer_count", "version"}, obj{
			"id": str(), "template_id": str(), "message": str(), "expires_at": nullable(dateTime()), "created_at": dateTime(),
			"offer_count": integer(),
			"offers":      arr(object([]string{"customer_id", "offer_id"}, obj{"customer_id": str(), "offer_id": str()})),
			"counts":      counts, "version": integer(),
		}),
		"CampaignList": listOf("Campaign"),
		"OfferReport": object([]string{"from", "to", "items"}, obj{
			"from": nullable(dateTime()), "to": nullable(dateTime()),
			"items": arr(object([]string{"key", "name", "counts", "acceptance_rate", "median_hours_to_decision", "rejection_reasons"}, obj{
				"key": str(), "name": nullable(obj{"type": "string", "description": "The template's or customer's name, or the month; null for an erased customer."}),
				"erased": obj{"type": "boolean", "description": "Present (true) only for an erased customer's group: its name is gone."},
				"counts": counts, "acceptance_rate": rate,
				"median_hours_to_decision": nullable(obj{"type": "number", "minimum": 0}),
				"rejection_reasons":        arr(object([]string{"reason", "count"}, obj{"reason": str(), "count": integer()})),
			})),
		}),
	}
}
