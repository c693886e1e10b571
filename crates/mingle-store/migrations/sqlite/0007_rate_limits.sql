-- Rate-limit buckets kept in the database, for backends shared by several API servers
-- (the SQLite store serves one process, which keeps its buckets in memory; the table is
-- here so both backends have the same schema and contract).
CREATE TABLE rate_limits (
    org_id              TEXT    NOT NULL,
    service_account_id  TEXT    NOT NULL,
    tokens              REAL    NOT NULL,
    refilled_at         INTEGER NOT NULL,
    version             INTEGER NOT NULL,   -- writes so far (0: created, never used)
    PRIMARY KEY (org_id, service_account_id)
) WITHOUT ROWID;
