-- mingle's schema on PostgreSQL: the same tables as the SQLite migrations 0001-0006
-- reach, in one step (PostgreSQL deployments start here; later changes are new files).
-- Every primary and unique key starts with org_id: tenancy by construction, and the
-- distribution column if the tables are distributed by org on Citus (docs/deploy.md).
-- Times are BIGINT milliseconds since the Unix epoch (UTC). IDs and keys are
-- COLLATE "C": they compare byte-wise, as the pagination cursors assume, whatever the
-- database's default collation is.

CREATE TABLE orgs (
    org_id                         TEXT COLLATE "C" NOT NULL,
    name                           TEXT   NOT NULL,
    webhook_secret                 TEXT   NOT NULL,
    previous_webhook_secret        TEXT,
    previous_webhook_secret_until  BIGINT,
    cursor_key                     BYTEA  NOT NULL,
    created_at                     BIGINT NOT NULL,
    PRIMARY KEY (org_id)
);

CREATE TABLE service_accounts (
    org_id              TEXT COLLATE "C" NOT NULL REFERENCES orgs (org_id),
    service_account_id  TEXT COLLATE "C" NOT NULL,
    name                TEXT   NOT NULL,
    scopes              TEXT   NOT NULL,
    status              TEXT   NOT NULL CHECK (status IN ('active', 'disabled', 'revoked')),
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL,
    PRIMARY KEY (org_id, service_account_id)
);
-- `mingle service-account` names an account by its ID alone.
CREATE INDEX service_accounts_by_id ON service_accounts (service_account_id);

CREATE TABLE api_tokens (
    org_id              TEXT COLLATE "C" NOT NULL,
    token_id            TEXT COLLATE "C" NOT NULL,
    service_account_id  TEXT COLLATE "C" NOT NULL,
    token_hash          BYTEA  NOT NULL,
    created_at          BIGINT NOT NULL,
    revoked_at          BIGINT,
    PRIMARY KEY (org_id, token_id),
    FOREIGN KEY (org_id, service_account_id) REFERENCES service_accounts (org_id, service_account_id)
);

CREATE TABLE events (
    org_id                TEXT COLLATE "C" NOT NULL REFERENCES orgs (org_id),
    event_id              TEXT COLLATE "C" NOT NULL,
    title                 TEXT   NOT NULL,
    description           TEXT,
    event_details         TEXT,
    objectives            TEXT,
    welcome_instructions  TEXT,
    start_date            TEXT,
    end_date              TEXT,
    timezone              TEXT,
    visibility            TEXT,
    url_slug              TEXT,
    created_at            BIGINT NOT NULL,
    updated_at            BIGINT NOT NULL,
    PRIMARY KEY (org_id, event_id)
);
CREATE INDEX events_by_created ON events (org_id, created_at DESC, event_id DESC);

CREATE TABLE sessions (
    org_id           TEXT COLLATE "C" NOT NULL,
    session_id       TEXT COLLATE "C" NOT NULL,
    event_id         TEXT COLLATE "C" NOT NULL,
    title            TEXT   NOT NULL,
    description      TEXT,
    start_timestamp  BIGINT,
    end_timestamp    BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    PRIMARY KEY (org_id, session_id),
    FOREIGN KEY (org_id, event_id) REFERENCES events (org_id, event_id)
);
CREATE INDEX sessions_by_start ON sessions (org_id, event_id, (start_timestamp IS NULL), start_timestamp, session_id);

CREATE TABLE runs (
    org_id             TEXT COLLATE "C" NOT NULL REFERENCES orgs (org_id),
    run_id             TEXT COLLATE "C" NOT NULL,
    kind               TEXT   NOT NULL CHECK (kind IN ('import', 'enrichment', 'match')),
    status             TEXT   NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'partial', 'failed')),
    event_id           TEXT COLLATE "C",
    idempotency_key    TEXT COLLATE "C" NOT NULL,
    request_hash       TEXT   NOT NULL,
    progress           TEXT   NOT NULL,
    error              TEXT,
    snapshot_metadata  TEXT   NOT NULL,
    version_metadata   TEXT   NOT NULL,
    webhook_url        TEXT,
    executes           BOOLEAN NOT NULL,
    created_at         BIGINT NOT NULL,
    updated_at         BIGINT NOT NULL,
    started_at         BIGINT,
    terminal_at        BIGINT,
    lease_owner        TEXT,
    lease_expires_at   BIGINT,
    attempts           BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (org_id, run_id),
    UNIQUE (org_id, idempotency_key)
);
CREATE INDEX runs_by_created ON runs (org_id, created_at DESC, run_id DESC);
CREATE INDEX runs_by_kind ON runs (org_id, kind, created_at DESC, run_id DESC);
CREATE INDEX runs_by_event_terminal ON runs (org_id, event_id, kind, terminal_at DESC, run_id DESC);
-- The claim: the oldest executable run that is queued or running (its lease may have
-- expired), across orgs, without reading any other run.
CREATE INDEX runs_claimable ON runs (created_at, run_id) WHERE executes AND status IN ('queued', 'running');

CREATE TABLE run_payloads (
    org_id   TEXT COLLATE "C" NOT NULL,
    run_id   TEXT COLLATE "C" NOT NULL,
    payload  TEXT NOT NULL,
    PRIMARY KEY (org_id, run_id)
);

CREATE TABLE attendees (
    org_id        TEXT COLLATE "C" NOT NULL,
    attendee_id   TEXT COLLATE "C" NOT NULL,
    person_id     TEXT COLLATE "C" NOT NULL,
    name          TEXT   NOT NULL,
    email         TEXT,
    linkedin_url  TEXT,
    title         TEXT,
    company       TEXT,
    name_key      TEXT COLLATE "C" NOT NULL,
    company_key   TEXT COLLATE "C" NOT NULL,
    merged_into   TEXT COLLATE "C",
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL,
    PRIMARY KEY (org_id, attendee_id)
);
CREATE INDEX attendees_by_name_company ON attendees (org_id, name_key, company_key);
CREATE INDEX attendees_by_merged_into ON attendees (org_id, merged_into) WHERE merged_into IS NOT NULL;

CREATE TABLE attendee_anchors (
    org_id       TEXT COLLATE "C" NOT NULL,
    kind         TEXT COLLATE "C" NOT NULL CHECK (kind IN ('email', 'linkedin')),
    value        TEXT COLLATE "C" NOT NULL,
    attendee_id  TEXT COLLATE "C" NOT NULL,
    created_at   BIGINT NOT NULL,
    retired_at   BIGINT,
    PRIMARY KEY (org_id, kind, value, attendee_id)
);
CREATE INDEX anchors_by_attendee ON attendee_anchors (org_id, attendee_id);

CREATE TABLE event_attendees (
    org_id         TEXT COLLATE "C" NOT NULL,
    event_id       TEXT COLLATE "C" NOT NULL,
    attendee_id    TEXT COLLATE "C" NOT NULL,
    raw_data       TEXT,
    goal           TEXT,
    needs          TEXT,
    offers         TEXT,
    interests      TEXT,
    bio            TEXT,
    role_at_event  TEXT,
    visibility     TEXT,
    sessions       TEXT,
    onboarded_at   BIGINT,
    joined_at      BIGINT,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    PRIMARY KEY (org_id, event_id, attendee_id)
);
CREATE INDEX event_attendees_by_attendee ON event_attendees (org_id, attendee_id);

CREATE TABLE identity_decisions (
    org_id            TEXT COLLATE "C" NOT NULL,
    attendee_id       TEXT COLLATE "C" NOT NULL,
    decision_id       TEXT COLLATE "C" NOT NULL,
    kind              TEXT   NOT NULL CHECK (kind IN ('minted', 'auto_linked', 'review_opened', 'review_resolved', 'merged')),
    event_id          TEXT COLLATE "C",
    run_id            TEXT COLLATE "C",
    review_id         TEXT COLLATE "C",
    anchors           TEXT   NOT NULL,
    other_kind        TEXT,
    other_partner_id  TEXT COLLATE "C",
    reason            TEXT   NOT NULL,
    created_at        BIGINT NOT NULL,
    PRIMARY KEY (org_id, attendee_id, decision_id)
);

CREATE TABLE reviews (
    org_id           TEXT COLLATE "C" NOT NULL,
    review_id        TEXT COLLATE "C" NOT NULL,
    kind             TEXT   NOT NULL DEFAULT 'attendee',
    attendee_id      TEXT COLLATE "C" NOT NULL,
    event_id         TEXT COLLATE "C" NOT NULL,
    candidate_id     TEXT COLLATE "C" NOT NULL,
    clash            TEXT   NOT NULL,
    reason           TEXT   NOT NULL,
    evidence         TEXT   NOT NULL,
    status           TEXT   NOT NULL CHECK (status IN ('open', 'accepted', 'rejected', 'distinct', 'merged')),
    decision_reason  TEXT,
    run_id           TEXT COLLATE "C",
    created_at       BIGINT NOT NULL,
    resolved_at      BIGINT,
    PRIMARY KEY (org_id, review_id)
);
CREATE INDEX reviews_by_status ON reviews (org_id, status, created_at DESC, review_id DESC);
CREATE INDEX reviews_by_event ON reviews (org_id, event_id, status, created_at DESC, review_id DESC);
CREATE INDEX reviews_by_attendee ON reviews (org_id, attendee_id, status);

CREATE TABLE distinct_pairs (
    org_id       TEXT COLLATE "C" NOT NULL,
    attendee_a   TEXT COLLATE "C" NOT NULL,
    attendee_b   TEXT COLLATE "C" NOT NULL,
    review_id    TEXT COLLATE "C",
    created_at   BIGINT NOT NULL,
    PRIMARY KEY (org_id, attendee_a, attendee_b)
);

CREATE TABLE attendee_features (
    org_id          TEXT COLLATE "C" NOT NULL,
    event_id        TEXT COLLATE "C" NOT NULL,
    attendee_id     TEXT COLLATE "C" NOT NULL,
    input_hash      TEXT   NOT NULL,
    model_id        TEXT   NOT NULL,
    goal_category   TEXT,
    goal_score      DOUBLE PRECISION,
    seniority       TEXT,
    function        TEXT,
    features        TEXT   NOT NULL,
    enriched_at     BIGINT NOT NULL,
    PRIMARY KEY (org_id, event_id, attendee_id)
);

CREATE TABLE embedding_cache (
    org_id     TEXT COLLATE "C" NOT NULL,
    model_id   TEXT COLLATE "C" NOT NULL,
    text_hash  TEXT COLLATE "C" NOT NULL,
    vector     BYTEA NOT NULL,
    PRIMARY KEY (org_id, model_id, text_hash)
);

CREATE TABLE match_profiles (
    org_id         TEXT COLLATE "C" NOT NULL,
    run_id         TEXT COLLATE "C" NOT NULL,
    attendee_id    TEXT COLLATE "C" NOT NULL,
    goal           TEXT,
    goal_folded    TEXT,
    goal_category  TEXT,
    needs          TEXT NOT NULL,
    offers         TEXT NOT NULL,
    PRIMARY KEY (org_id, run_id, attendee_id)
);

CREATE TABLE match_sessions (
    org_id       TEXT COLLATE "C" NOT NULL,
    run_id       TEXT COLLATE "C" NOT NULL,
    session_id   TEXT COLLATE "C" NOT NULL,
    attendee_id  TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (org_id, run_id, session_id, attendee_id)
);
CREATE INDEX match_sessions_by_attendee ON match_sessions (org_id, run_id, attendee_id);

CREATE TABLE matches (
    org_id     TEXT COLLATE "C" NOT NULL,
    run_id     TEXT COLLATE "C" NOT NULL,
    a_id       TEXT COLLATE "C" NOT NULL,
    b_id       TEXT COLLATE "C" NOT NULL,
    match_id   TEXT COLLATE "C" NOT NULL,
    a_rank     BIGINT,
    b_rank     BIGINT,
    final_key  BIGINT NOT NULL,
    scores     TEXT   NOT NULL,
    PRIMARY KEY (org_id, run_id, a_id, b_id)
);
CREATE INDEX matches_by_b ON matches (org_id, run_id, b_id);
CREATE INDEX matches_by_score ON matches (org_id, run_id, final_key DESC, a_id, b_id);

CREATE TABLE webhook_deliveries (
    org_id            TEXT COLLATE "C" NOT NULL REFERENCES orgs (org_id),
    delivery_id       TEXT COLLATE "C" NOT NULL,
    run_id            TEXT COLLATE "C" NOT NULL,
    event_type        TEXT   NOT NULL CHECK (event_type IN ('run.succeeded', 'run.partial', 'run.failed')),
    url               TEXT   NOT NULL,
    status            TEXT   NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts          BIGINT NOT NULL DEFAULT 0,
    next_attempt_at   BIGINT,
    lease_owner       TEXT,
    lease_expires_at  BIGINT,
    created_at        BIGINT NOT NULL,
    updated_at        BIGINT NOT NULL,
    delivered_at      BIGINT,
    PRIMARY KEY (org_id, delivery_id),
    UNIQUE (org_id, run_id)
);
-- The claim: due pending deliveries across orgs.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_by_created ON webhook_deliveries (org_id, created_at DESC, delivery_id DESC);
-- `mingle webhooks redeliver` names a delivery by its ID alone.
CREATE INDEX webhook_deliveries_by_id ON webhook_deliveries (delivery_id);

CREATE TABLE webhook_attempts (
    org_id        TEXT COLLATE "C" NOT NULL,
    delivery_id   TEXT COLLATE "C" NOT NULL,
    attempt       BIGINT NOT NULL,
    attempted_at  BIGINT NOT NULL,
    status_code   BIGINT,
    latency_ms    BIGINT NOT NULL,
    error         TEXT,
    PRIMARY KEY (org_id, delivery_id, attempt),
    FOREIGN KEY (org_id, delivery_id) REFERENCES webhook_deliveries (org_id, delivery_id)
);
