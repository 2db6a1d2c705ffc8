-- The users' push inbox (server mode), shared by every hub instance. Tracked in its own
-- migrations table (`_orderflow_inbox_migrations`), so it can share a database with the
-- event store, the search index and the read model.
--
-- One row per (push, subscriber). `seq` orders a user's entries; `state` is 0 pending,
-- 1 acknowledged, 2 dropped at the count bound. Rows of any state are deleted once past the
-- age bound; until then an acknowledged or dropped row keeps a late `record` (another hub
-- instance, a broker redelivery) from making the push pending again.

CREATE TABLE push_inbox (
    seq         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     text        NOT NULL,
    message_id  uuid        NOT NULL,
    argument    text        NOT NULL,
    recorded_at timestamptz NOT NULL,
    state       smallint    NOT NULL DEFAULT 0,
    UNIQUE (user_id, message_id)
);

-- A user's pending entries, in order: what a connecting user replays.
CREATE INDEX push_inbox_pending ON push_inbox (user_id, seq) WHERE state = 0;
-- What pruning deletes.
CREATE INDEX push_inbox_age ON push_inbox (recorded_at);
