-- Durable runs (leases), attendee imports, identity resolution and the review queue.

-- A run is claimed by one worker at a time; its lease is extended while it works and,
-- once expired (the worker died), lets another worker take the run over.
ALTER TABLE runs ADD COLUMN lease_owner TEXT;
ALTER TABLE runs ADD COLUMN lease_expires_at INTEGER;
ALTER TABLE runs ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
CREATE INDEX runs_claimable ON runs (org_id, status, created_at);

-- What a run works on (an import's validated rows), written with the run itself.
CREATE TABLE run_payloads (
    org_id   TEXT NOT NULL,
    run_id   TEXT NOT NULL,
    payload  TEXT NOT NULL,
    PRIMARY KEY (org_id, run_id)
);

-- The org-level person record of an attendee. person_id ties records that are one
-- person; merged_into makes a record an alias of another.
CREATE TABLE attendees (
    org_id        TEXT    NOT NULL,
    attendee_id   TEXT    NOT NULL,
    person_id     TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    email         TEXT,
    linkedin_url  TEXT,
    title         TEXT,
    company       TEXT,
    name_key      TEXT    NOT NULL,   -- folded name (accents, case, punctuation)
    company_key   TEXT    NOT NULL,   -- folded company, '' when none
    merged_into   TEXT,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    PRIMARY KEY (org_id, attendee_id)
);
CREATE INDEX attendees_by_name_company ON attendees (org_id, name_key, company_key);

-- Normalized emails and LinkedIn handles; retired when a merge supersedes them.
CREATE TABLE attendee_anchors (
    org_id       TEXT    NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('email', 'linkedin')),
    value        TEXT    NOT NULL,
    attendee_id  TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    retired_at   INTEGER,
    PRIMARY KEY (org_id, kind, value, attendee_id)
) WITHOUT ROWID;
CREATE INDEX anchors_by_attendee ON attendee_anchors (org_id, attendee_id);

-- An attendee's membership of an event, with the answers its raw_data carried.
CREATE TABLE event_attendees (
    org_id         TEXT    NOT NULL,
    event_id       TEXT    NOT NULL,
    attendee_id    TEXT    NOT NULL,
    raw_data       TEXT,              -- JSON object as imported
    goal           TEXT,
    needs          TEXT,              -- JSON array of strings
    offers         TEXT,
    interests      TEXT,
    bio            TEXT,
    role_at_event  TEXT,
    visibility     TEXT,
    sessions       TEXT,              -- JSON array of session ids
    onboarded_at   INTEGER,
    joined_at      INTEGER,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL,
    PRIMARY KEY (org_id, event_id, attendee_id)
);
CREATE INDEX event_attendees_by_attendee ON event_attendees (org_id, attendee_id);

-- Every identity decision, kept for good (a merge loses nothing).
CREATE TABLE identity_decisions (
    org_id            TEXT    NOT NULL,
    attendee_id       TEXT    NOT NULL,
    decision_id       TEXT    NOT NULL,   -- UUIDv7: time-ordered, so the key is the history's order
    kind              TEXT    NOT NULL CHECK (kind IN ('minted', 'auto_linked', 'review_opened', 'review_resolved', 'merged')),
    event_id          TEXT,
    run_id            TEXT,
    review_id         TEXT,
    anchors           TEXT    NOT NULL,   -- JSON array of {kind, value}
    other_kind        TEXT,
    other_partner_id  TEXT,
    reason            TEXT    NOT NULL,
    created_at        INTEGER NOT NULL,
    PRIMARY KEY (org_id, attendee_id, decision_id)
) WITHOUT ROWID;

CREATE TABLE reviews (
    org_id           TEXT    NOT NULL,
    review_id        TEXT    NOT NULL,
    kind             TEXT    NOT NULL DEFAULT 'attendee',
    attendee_id      TEXT    NOT NULL,   -- the newer attendee: the review's partner_id
    event_id         TEXT    NOT NULL,
    candidate_id     TEXT    NOT NULL,   -- the older attendee it may be
    clash            TEXT    NOT NULL,
    reason           TEXT    NOT NULL,
    evidence         TEXT    NOT NULL,   -- JSON object
    status           TEXT    NOT NULL CHECK (status IN ('open', 'accepted', 'rejected', 'distinct', 'merged')),
    decision_reason  TEXT,
    run_id           TEXT,
    created_at       INTEGER NOT NULL,
    resolved_at      INTEGER,
    PRIMARY KEY (org_id, review_id)
);
CREATE INDEX reviews_by_status ON reviews (org_id, status, created_at DESC, review_id DESC);
CREATE INDEX reviews_by_event ON reviews (org_id, event_id, status, created_at DESC, review_id DESC);
CREATE INDEX reviews_by_attendee ON reviews (org_id, attendee_id, status);

-- Pairs a human said are different people (attendee_a < attendee_b).
CREATE TABLE distinct_pairs (
    org_id       TEXT    NOT NULL,
    attendee_a   TEXT    NOT NULL,
    attendee_b   TEXT    NOT NULL,
    review_id    TEXT,
    created_at   INTEGER NOT NULL,
    PRIMARY KEY (org_id, attendee_a, attendee_b)
) WITHOUT ROWID;
