-- Rate-limit buckets, shared by every API server on this database. A request locks its
-- account's bucket row, the service applies the rule, and the store writes the result
-- in the same transaction, so concurrent requests on any server never over-spend.
CREATE TABLE rate_limits (
    org_id              TEXT COLLATE "C" NOT NULL,
    service_account_id  TEXT COLLATE "C" NOT NULL,
    tokens              DOUBLE PRECISION NOT NULL,
    refilled_at         BIGINT NOT NULL,
    version             BIGINT NOT NULL,
    PRIMARY KEY (org_id, service_account_id)
);
