-- Match runs' results. A run's rows are written in one transaction with its terminal
-- status, so they are visible all together or not at all; earlier runs' rows stay.

-- Each matched attendee as the run read it: what its reasons quote and its filters test.
CREATE TABLE match_profiles (
    org_id         TEXT NOT NULL,
    run_id         TEXT NOT NULL,
    attendee_id    TEXT NOT NULL,
    goal           TEXT,
    goal_folded    TEXT,            -- lower-cased goal, for the `goal` filter
    goal_category  TEXT,
    needs          TEXT NOT NULL,   -- JSON array of strings
    offers         TEXT NOT NULL,   -- JSON array of strings
    PRIMARY KEY (org_id, run_id, attendee_id)
) WITHOUT ROWID;

-- The sessions each matched attendee attends (the `session_id` filter).
CREATE TABLE match_sessions (
    org_id       TEXT NOT NULL,
    run_id       TEXT NOT NULL,
    session_id   TEXT NOT NULL,
    attendee_id  TEXT NOT NULL,
    PRIMARY KEY (org_id, run_id, session_id, attendee_id)
) WITHOUT ROWID;
CREATE INDEX match_sessions_by_attendee ON match_sessions (org_id, run_id, attendee_id);

-- One row per unordered pair in either attendee's list: a_id < b_id (byte-wise), the
-- scores seen from a, and where each side ranks the other (NULL: not in its list).
CREATE TABLE matches (
    org_id     TEXT    NOT NULL,
    run_id     TEXT    NOT NULL,
    a_id       TEXT    NOT NULL,
    b_id       TEXT    NOT NULL,
    match_id   TEXT    NOT NULL,
    a_rank     INTEGER,
    b_rank     INTEGER,
    final_key  INTEGER NOT NULL,   -- final_score × 10^6, the list's order
    scores     TEXT    NOT NULL,   -- JSON: every sub-score, reasons (mingle_core::matching::PairScore)
    PRIMARY KEY (org_id, run_id, a_id, b_id)
) WITHOUT ROWID;
CREATE INDEX matches_by_b ON matches (org_id, run_id, b_id);
CREATE INDEX matches_by_score ON matches (org_id, run_id, final_key DESC, a_id, b_id);

-- The latest match run with results of an event.
CREATE INDEX runs_by_event_terminal ON runs (org_id, event_id, kind, terminal_at DESC, run_id DESC);
