-- The order search index (server mode). Tracked in its own migrations table
-- (`_orderflow_search_migrations`), so it can share a database with the event store.

CREATE TABLE search_orders (
    id            uuid        PRIMARY KEY,
    buyer_id      text        NOT NULL,
    status        text        NOT NULL,
    created_at    timestamptz NOT NULL,
    -- stream revision of the last event the row reflects: upserts only move it forward
    revision      bigint      NOT NULL,
    -- lowercase keywords made by the application (item name words, SKUs, order id)
    search_vector tsvector    NOT NULL,
    -- the whole document, as the application stores it
    document      jsonb       NOT NULL
);

-- newest first, optionally per status or per buyer: keyset pagination on (created_at, id)
CREATE INDEX search_orders_newest ON search_orders (created_at DESC, id DESC);
CREATE INDEX search_orders_status_newest ON search_orders (status, created_at DESC, id DESC);
CREATE INDEX search_orders_buyer_newest ON search_orders (buyer_id, created_at DESC, id DESC);
CREATE INDEX search_orders_text ON search_orders USING gin (search_vector);

-- the last event position each projection has written, committed with its documents
CREATE TABLE search_checkpoints (
    projection text   PRIMARY KEY,
    position   bigint NOT NULL
);
