-- The foundation: orgs, service accounts and their tokens, events, sessions, runs.
-- Every table carries org_id first in its primary key and in every index: tenancy by
-- construction, and the distribution key should the data move to distributed PostgreSQL.
-- Times are INTEGER milliseconds since the Unix epoch (UTC).

CREATE TABLE orgs (
    org_id          TEXT    NOT NULL,
    name            TEXT    NOT NULL,
    webhook_secret  TEXT    NOT NULL,
    cursor_key      BLOB    NOT NULL,   -- signs this org's pagination cursors
    created_at      INTEGER NOT NULL,
    PRIMARY KEY (org_id)
) WITHOUT ROWID;

CREATE TABLE service_accounts (
    org_id              TEXT    NOT NULL REFERENCES orgs (org_id),
    service_account_id  TEXT    NOT NULL,
    name                TEXT    NOT NULL,
    scopes              TEXT    NOT NULL,   -- comma-separated, e.g. partner:read,partner:write
    status              TEXT    NOT NULL CHECK (status IN ('active', 'disabled', 'revoked')),
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL,
    PRIMARY KEY (org_id, service_account_id)
) WITHOUT ROWID;

CREATE TABLE api_tokens (
    org_id              TEXT    NOT NULL,
    token_id            TEXT    NOT NULL,
    service_account_id  TEXT    NOT NULL,
    token_hash          BLOB    NOT NULL,   -- SHA-256 of the whole token; the token itself is never stored
    created_at          INTEGER NOT NULL,
    revoked_at          INTEGER,
    PRIMARY KEY (org_id, token_id),
    FOREIGN KEY (org_id, service_account_id) REFERENCES service_accounts (org_id, service_account_id)
) WITHOUT ROWID;

CREATE TABLE events (
    org_id                TEXT    NOT NULL REFERENCES orgs (org_id),
    event_id              TEXT    NOT NULL,
    title                 TEXT    NOT NULL,
    description           TEXT,
    event_details         TEXT,
    objectives            TEXT,
    welcome_instructions  TEXT,
    start_date            TEXT,
    end_date              TEXT,
    timezone              TEXT,
    visibility            TEXT,
    url_slug              TEXT,
    created_at            INTEGER NOT NULL,
    updated_at            INTEGER NOT NULL,
    PRIMARY KEY (org_id, event_id)
) WITHOUT ROWID;
CREATE INDEX events_by_created ON events (org_id, created_at DESC, event_id DESC);

CREATE TABLE sessions (
    org_id           TEXT    NOT NULL,
    session_id       TEXT    NOT NULL,   -- unique across all the org's events
    event_id         TEXT    NOT NULL,
    title            TEXT    NOT NULL,
    description      TEXT,
    start_timestamp  INTEGER,
    end_timestamp    INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    PRIMARY KEY (org_id, session_id),
    FOREIGN KEY (org_id, event_id) REFERENCES events (org_id, event_id)
) WITHOUT ROWID;
-- Listed by start time ascending, sessions without one last, then by session_id.
CREATE INDEX sessions_by_start ON sessions (org_id, event_id, (start_timestamp IS NULL), start_timestamp, session_id);

CREATE TABLE runs (
    org_id             TEXT    NOT NULL REFERENCES orgs (org_id),
    run_id             TEXT    NOT NULL,
    kind               TEXT    NOT NULL CHECK (kind IN ('import', 'enrichment', 'match')),
    status             TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'partial', 'failed')),
    event_id           TEXT,               -- NULL for runs recorded through POST /runs
    idempotency_key    TEXT    NOT NULL,
    request_hash       TEXT    NOT NULL,   -- method, path and canonical body of the creating call
    progress           TEXT    NOT NULL,   -- JSON object
    error              TEXT,               -- JSON {code, message} or NULL
    snapshot_metadata  TEXT    NOT NULL,
    version_metadata   TEXT    NOT NULL,
    webhook_url        TEXT,
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL,
    started_at         INTEGER,
    terminal_at        INTEGER,
    PRIMARY KEY (org_id, run_id),
    -- The database, not a lock in memory, makes concurrent identical calls create one run.
    UNIQUE (org_id, idempotency_key)
) WITHOUT ROWID;
CREATE INDEX runs_by_created ON runs (org_id, created_at DESC, run_id DESC);
CREATE INDEX runs_by_kind ON runs (org_id, kind, created_at DESC, run_id DESC);
