-- The audit index keeps each event in the log's own envelope (domain.Envelope,
-- the shape of the export): the actor, the correlation and causation ids and
-- occurred_at sit under "metadata", and prev_hash is left out on a stream's
-- first event. Rows written before in the flat shape of the former
-- domain.AuditEvent are moved into it here.
UPDATE audit_events SET envelope = json_set(
    json_remove(envelope, '$.actor', '$.occurred_at', '$.correlation_id', '$.causation_id'),
    '$.metadata', json_object(
        'actor', json_extract(envelope, '$.actor'),
        'correlation_id', json_extract(envelope, '$.correlation_id'),
        'causation_id', json_extract(envelope, '$.causation_id'),
        'occurred_at', json_extract(envelope, '$.occurred_at')))
WHERE json_type(envelope, '$.metadata') IS NULL;
