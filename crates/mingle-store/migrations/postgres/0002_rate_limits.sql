-- Rate-limit buckets, shared by every API server on this database. A request reads its
-- account's bucket, the service applies the rule, and the write names the version it
-- read (compare-and-set), so concurrent requests on any server never over-spend.
CREATE TABLE rate_limits (
    org_id              TEXT COLLATE "C" NOT NULL,
    service_account_id  TEXT COLLATE "C" NOT NULL,
    tokens              DOUBLE PRECISION NOT NULL,
    refilled_at         BIGINT NOT NULL,
    version             BIGINT NOT NULL,
    PRIMARY KEY (org_id, service_account_id)
);
