-- Customer events and the points event rules awarded for them.
CREATE TABLE events (
    id           {{id}},
    tenant_id    BIGINT NOT NULL REFERENCES tenants(id),
    customer_ref BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    metadata     TEXT NOT NULL,
    occurred_at  BIGINT NOT NULL
);
-- A customer's events in order (the list endpoint pages by id).
CREATE INDEX events_by_customer ON events (customer_ref, id);
-- A tenant's events over a time range (the summary).
CREATE INDEX events_by_tenant_time ON events (tenant_id, occurred_at);

-- One row per rule that awarded points for an event; the points themselves are a ledger entry
-- with transaction_id. A rule awards at most once per event.
CREATE TABLE event_awards (
    id             {{id}},
    event_ref      BIGINT NOT NULL REFERENCES events(id) ON DELETE CASCADE,
    customer_ref   BIGINT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    rule_id        TEXT NOT NULL,
    points         BIGINT NOT NULL,
    transaction_id TEXT NOT NULL,
    awarded_at     BIGINT NOT NULL,
    UNIQUE (event_ref, rule_id)
);
-- The per-customer caps count a rule's awards since a time.
CREATE INDEX event_awards_by_rule ON event_awards (customer_ref, rule_id, awarded_at);
