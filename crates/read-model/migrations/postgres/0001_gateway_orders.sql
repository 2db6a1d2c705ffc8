-- The gateway's order read model (server mode). Tracked in its own migrations
-- table (`_orderflow_read_model_migrations`), so it can share a database with
-- the event store and the search index.

CREATE TABLE gateway_orders (
    id                  uuid        PRIMARY KEY,
    -- the details, from the order's creation: all present or all absent
    -- (a status change may arrive before its creation)
    buyer_id            text,
    currency            text,
    items               jsonb,
    total               text,
    created_at          timestamptz,
    status              text        NOT NULL,
    cancellation_reason text,
    -- stream revision of the last status change the row reflects (0: created)
    revision            bigint      NOT NULL,
    updated_at          timestamptz NOT NULL,
    CONSTRAINT gateway_orders_details_all_or_none
        CHECK (num_nulls(buyer_id, currency, items, total, created_at) IN (0, 5))
);

-- newest first, for everyone or per buyer: keyset pagination on (created_at, id)
CREATE INDEX gateway_orders_newest ON gateway_orders (created_at DESC, id DESC);
CREATE INDEX gateway_orders_buyer_newest ON gateway_orders (buyer_id, created_at DESC, id DESC);
