-- The points ledger.
--
-- point_transactions are business transactions (an order's reward, a cashback, a redemption, a
-- refund, an expiry...). The rows one client operation makes share its transactionId and are
-- numbered by seq from 0, so a transactionId (or orderId) is taken once per tenant across kinds.
-- Expiries are Tally's own and have no transactionId.
--
-- point_lots are credits: each holds the points left of one credit, when they become available and
-- when they expire (9223372036854775807 = never). point_entries are the append-only, signed point
-- movements, each tied to a transaction and a lot: a lot's remaining points are always the sum of
-- its entries, so balances can be recomputed from entries.
--
-- point_holds reserve points of specific lots (allocation, JSON) until they are used, released or
-- lapse; a hold moves no points, so it has no entries.
--
-- Times are unix microseconds. Every row that belongs to a customer goes with it (ON DELETE CASCADE
-- directly, or through its hold); links between ledger rows are plain columns, written together by
-- the engine, so that deleting a customer needs no per-row lookups beyond the indexes below.
CREATE TABLE point_transactions (
    id               {{id}},
    tenant_id        BIGINT NOT NULL REFERENCES tenants(id),
    customer_ref     BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    transaction_id   TEXT,
    seq              INTEGER NOT NULL DEFAULT 0,
    kind             TEXT NOT NULL,
    points           BIGINT NOT NULL,
    amount           BIGINT NOT NULL DEFAULT 0,
    currency         TEXT NOT NULL,
    reason           TEXT NOT NULL DEFAULT '',
    username         TEXT NOT NULL DEFAULT '',
    transaction_time BIGINT NOT NULL,
    created_at       BIGINT NOT NULL,
    available_at     BIGINT,
    expires_at       BIGINT,
    reverses         BIGINT,
    refunded_amount  BIGINT NOT NULL DEFAULT 0,
    refunded         BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (tenant_id, transaction_id, seq)
);
CREATE INDEX point_transactions_tenant ON point_transactions (tenant_id, id);
CREATE INDEX point_transactions_customer ON point_transactions (customer_ref, id);
CREATE INDEX point_transactions_reverses ON point_transactions (reverses) WHERE reverses IS NOT NULL;

CREATE TABLE point_lots (
    id              {{id}},
    customer_ref    BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    transaction_ref BIGINT NOT NULL,
    points          BIGINT NOT NULL,
    remaining       BIGINT NOT NULL,
    available_at    BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    CHECK (remaining >= 0 AND remaining <= points)
);
-- Serves both the customer's lots with points left (remaining > 0) and the cascade.
CREATE INDEX point_lots_customer ON point_lots (customer_ref, remaining);

CREATE TABLE point_entries (
    id              {{id}},
    customer_ref    BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    transaction_ref BIGINT NOT NULL,
    lot_ref         BIGINT NOT NULL,
    points          BIGINT NOT NULL,
    created_at      BIGINT NOT NULL
);
CREATE INDEX point_entries_customer ON point_entries (customer_ref, lot_ref);

CREATE TABLE point_holds (
    id              {{id}},
    tenant_id       BIGINT NOT NULL REFERENCES tenants(id),
    customer_ref    BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    reference       TEXT NOT NULL,
    points          BIGINT NOT NULL,
    amount          BIGINT NOT NULL,
    currency        TEXT NOT NULL,
    allocation      TEXT NOT NULL,
    status          TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    expires_at      BIGINT NOT NULL,
    ended_at        BIGINT,
    transaction_ref BIGINT,
    UNIQUE (tenant_id, reference)
);
CREATE INDEX point_holds_customer ON point_holds (customer_ref, status, expires_at);

CREATE TABLE orders (
    id             {{id}},
    tenant_id      BIGINT NOT NULL REFERENCES tenants(id),
    customer_ref   BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    order_id       TEXT NOT NULL,
    order_date     BIGINT NOT NULL,
    currency       TEXT NOT NULL,
    total_paid     BIGINT NOT NULL,
    total_price    BIGINT,
    total_discount BIGINT,
    total_shipping BIGINT,
    total_tax      BIGINT,
    line_items     TEXT NOT NULL,
    extra          TEXT NOT NULL,
    channel        TEXT NOT NULL DEFAULT '',
    cart_id        TEXT NOT NULL DEFAULT '',
    created_at     BIGINT NOT NULL,
    UNIQUE (tenant_id, order_id)
);
CREATE INDEX orders_customer ON orders (customer_ref);

-- Lifetime earned points per customer, kept as a running total so a balance read stays one row.
CREATE TABLE point_accounts (
    customer_ref    BIGINT PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    lifetime_earned BIGINT NOT NULL
);
