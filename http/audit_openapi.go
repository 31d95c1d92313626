package http

// The OpenAPI description of the tamper-evidence endpoints (audit_tree.go).

func treeOperations() []op {
	id := idParam("id")
	// Sizes are read as unsigned 64-bit integers, but none beyond the log
	// (at most MaxInt64 events) is answered, so the document bounds them there.
	size := func(name, desc string, required bool) obj {
		return obj{"name": name, "in": "query", "required": required, "schema": position(1), "description": desc}
	}
	return []op{
		{method: "GET", path: "/v1/offers/{id}/proof", id: "offerProof", roles: "reseller (own), customer (own delivered offers), auditor",
			summary: "Each event of the offer that is in the tree of the given size, with its leaf index and RFC 9162 inclusion proof. " +
				"Events appended after that size are left out. A size of 0, beyond the log, or not an integer is 422.",
			params: []obj{id, size("size", "The size of the signed tree head to prove against; default: the current head's.", false)},
			ok:     200, okSchema: ref("OfferProof"), errors: []int{401, 403, 404, 422}},
		{method: "GET", path: "/v1/audit/head", id: "auditHead", roles: "auditor",
			summary: "The current signed tree head over the whole log; a new head is signed (and recorded in the log's " +
				"treeheads stream) when the log has grown since the last.",
			ok: 200, okSchema: ref("TreeHead"), errors: []int{401, 403, 404}},
		{method: "GET", path: "/v1/audit/key", id: "auditKey", roles: "operator, reseller, customer, auditor",
			summary: "The Ed25519 public key that verifies this server's tree heads.",
			ok:      200, okSchema: ref("TreeKey"), errors: []int{401, 403, 404}},
		{method: "GET", path: "/v1/audit/consistency", id: "auditConsistency", roles: "auditor",
			summary: "The RFC 9162 consistency proof between the trees of sizes from and to (1 <= from <= to <= the log's size, else 422).",
			params:  []obj{size("from", "The smaller tree size.", true), size("to", "The larger tree size.", true)},
			ok:      200, okSchema: ref("ConsistencyProof"), errors: []int{401, 403, 404, 422}},
	}
}

func treeSchemas() obj {
	hexStr := func(desc string) obj { return obj{"type": "string", "pattern": "^[0-9a-f]*$", "description": desc} }
	return obj{
		"TreeHead": object([]string{"size", "root_hash", "timestamp", "key_id", "signature"}, obj{
			"size":      obj{"type": "integer", "description": "Number of events covered: the first size events of the log, in log order."},
			"root_hash": hexStr("RFC 9162 root of the tree whose leaves are SHA-256(0x00 || event hash bytes)."),
			"timestamp": dateTime(),
			"key_id":    hexStr("First 8 bytes of the SHA-256 of the raw public key."),
			"signature": hexStr("Ed25519 over the five lines \"offerflow tree head v1\", \"size N\", \"root_hash H\", \"timestamp T\", \"key_id K\", each ending in a line feed (see docs/audit.md)."),
		}),
		"TreeKey": object([]string{"key_id", "algorithm", "public_key"}, obj{
			"key_id": hexStr("Names the key in tree heads."), "algorithm": enum("Ed25519"), "public_key": hexStr("The 32 raw bytes of the Ed25519 public key."),
		}),
		"ConsistencyProof": object([]string{"from", "to", "proof"}, obj{
			"from": integer(), "to": integer(), "proof": arr(hexStr("A node hash.")),
		}),
		"LeafProof": object([]string{"position", "stream", "version", "hash", "leaf_index", "proof"}, obj{
			"position": integer(), "stream": obj{"type": "string", "description": "The event's stream: the offer's, or one the offer caused (its grant), as in the history."}, "version": integer(), "hash": hexStr("The event's hash, as in its history."),
			"leaf_index": obj{"type": "integer", "description": "The event's place in log order, from 0."},
			"proof":      arr(hexStr("A node hash, leaf to root.")),
		}),
		"OfferProof": object([]string{"offer_id", "size", "root_hash", "items"}, obj{
			"offer_id": str(), "size": integer(), "root_hash": hexStr("Root of the tree of that size."), "items": arr(ref("LeafProof")),
		}),
	}
}
