-- Batch jobs and their items. A job's counters advance in the same transaction that applies a chunk
-- of its items and stores their results, so they always agree with the item rows and the ledger.
CREATE TABLE batch_jobs (
    id              {{id}},
    tenant_id       BIGINT NOT NULL REFERENCES tenants(id),
    type            TEXT NOT NULL,
    status          TEXT NOT NULL,
    total_count     INTEGER NOT NULL,
    finished_count  INTEGER NOT NULL DEFAULT 0,
    error_count     INTEGER NOT NULL DEFAULT 0,
    stopped_count   INTEGER NOT NULL DEFAULT 0,
    idempotency_key TEXT,
    body_hash       TEXT NOT NULL,
    river_job_id    BIGINT,
    created_at      BIGINT NOT NULL,
    started_at      BIGINT,
    completed_at    BIGINT
);

-- A NULL key is never equal to another, so only jobs submitted with a key are constrained.
CREATE UNIQUE INDEX batch_jobs_idempotency ON batch_jobs (tenant_id, idempotency_key);
CREATE INDEX batch_jobs_tenant_status ON batch_jobs (tenant_id, status, id);
CREATE INDEX batch_jobs_tenant_type ON batch_jobs (tenant_id, type, id);

-- status: pending until processed, then succeeded, failed or stopped. request is the item's JSON as
-- submitted; result is the object the job's response lists for it.
CREATE TABLE batch_items (
    job_id  BIGINT NOT NULL REFERENCES batch_jobs(id) ON DELETE CASCADE,
    idx     INTEGER NOT NULL,
    status  TEXT NOT NULL,
    request TEXT NOT NULL,
    result  TEXT,
    PRIMARY KEY (job_id, idx)
);

CREATE INDEX batch_items_status ON batch_items (job_id, status, idx);
