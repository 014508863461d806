-- Tenants, their keys (hashes only) and customer profiles.
CREATE TABLE tenants (
    id              {{id}},
    name            TEXT NOT NULL UNIQUE,
    api_key_hash    TEXT NOT NULL UNIQUE,
    secret_key_hash TEXT NOT NULL,
    program         TEXT,
    created_at      BIGINT NOT NULL
);

CREATE TABLE customers (
    id          {{id}},
    tenant_id   BIGINT NOT NULL REFERENCES tenants(id),
    customer_id TEXT NOT NULL,
    email       TEXT NOT NULL DEFAULT '',
    mobile      TEXT NOT NULL DEFAULT '',
    guest       BOOLEAN NOT NULL DEFAULT FALSE,
    attributes  TEXT NOT NULL DEFAULT '{}',
    tags        TEXT NOT NULL DEFAULT '[]',
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    UNIQUE (tenant_id, customer_id)
);
