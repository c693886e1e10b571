-- Enrichment: features per attendee and event, and a per-org cache of text embeddings.

CREATE TABLE attendee_features (
    org_id          TEXT    NOT NULL,
    event_id        TEXT    NOT NULL,
    attendee_id     TEXT    NOT NULL,
    input_hash      TEXT    NOT NULL,   -- the inputs (and model) this enrichment read
    model_id        TEXT    NOT NULL,
    goal_category   TEXT,
    goal_score      REAL,
    seniority       TEXT,
    function        TEXT,
    features        TEXT    NOT NULL,   -- JSON: normalized goal, needs, offers, interests
    enriched_at     INTEGER NOT NULL,
    PRIMARY KEY (org_id, event_id, attendee_id)
);

-- Embeddings by (model, SHA-256 of the text): a text is encoded once per org and model.
CREATE TABLE embedding_cache (
    org_id     TEXT NOT NULL,
    model_id   TEXT NOT NULL,
    text_hash  TEXT NOT NULL,
    vector     BLOB NOT NULL,   -- little-endian f32s
    PRIMARY KEY (org_id, model_id, text_hash)
) WITHOUT ROWID;
