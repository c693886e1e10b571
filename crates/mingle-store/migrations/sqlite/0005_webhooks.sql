-- Webhook deliveries: an outbox written in the transaction that ends a run, a queue of
-- its own (claimed under a lease, like runs), and every attempt.

-- A rotated secret keeps signing beside the new one until this time.
ALTER TABLE orgs ADD COLUMN previous_webhook_secret TEXT;
ALTER TABLE orgs ADD COLUMN previous_webhook_secret_until INTEGER;

CREATE TABLE webhook_deliveries (
    org_id            TEXT    NOT NULL REFERENCES orgs (org_id),
    delivery_id       TEXT    NOT NULL,   -- `msg_` + a UUIDv7 in hex; the `webhook-id` header, stable across retries
    run_id            TEXT    NOT NULL,
    event_type        TEXT    NOT NULL CHECK (event_type IN ('run.succeeded', 'run.partial', 'run.failed')),
    url               TEXT    NOT NULL,
    status            TEXT    NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts          INTEGER NOT NULL DEFAULT 0,
    next_attempt_at   INTEGER,            -- while pending
    lease_owner       TEXT,               -- a sender holding the delivery
    lease_expires_at  INTEGER,
    created_at        INTEGER NOT NULL,
    updated_at        INTEGER NOT NULL,
    delivered_at      INTEGER,
    PRIMARY KEY (org_id, delivery_id),
    -- A run ends once, so it has at most one delivery.
    UNIQUE (org_id, run_id)
) WITHOUT ROWID;
-- The claim reads only pending deliveries.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (org_id, next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_created ON webhook_deliveries (org_id, created_at DESC, delivery_id DESC);

CREATE TABLE webhook_attempts (
    org_id        TEXT    NOT NULL,
    delivery_id   TEXT    NOT NULL,
    attempt       INTEGER NOT NULL,   -- 1-based, counting redeliveries on
    attempted_at  INTEGER NOT NULL,
    status_code   INTEGER,            -- NULL when no response came (refused, timeout, connection error)
    latency_ms    INTEGER NOT NULL,
    error         TEXT,               -- NULL for a 2xx
    PRIMARY KEY (org_id, delivery_id, attempt),
    FOREIGN KEY (org_id, delivery_id) REFERENCES webhook_deliveries (org_id, delivery_id)
) WITHOUT ROWID;
