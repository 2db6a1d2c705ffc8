-- The event store. Event bodies are `json` (kept as text: no parse on read
-- or write beyond a syntax check) since nothing queries inside them. See src/postgres/mod.rs for why positions come from
-- es_global_position instead of a sequence.

CREATE TABLE es_streams (
    name     text   PRIMARY KEY,
    revision bigint NOT NULL
);

CREATE TABLE es_events (
    position       bigint      PRIMARY KEY,
    event_id       uuid        NOT NULL UNIQUE,
    stream         text        NOT NULL,
    revision       bigint      NOT NULL,
    event_type     text        NOT NULL,
    schema_version smallint    NOT NULL,
    data           json        NOT NULL,
    correlation_id uuid        NOT NULL,
    causation_id   uuid        NOT NULL,
    user_id        text,
    occurred_at    timestamptz NOT NULL,
    recorded_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (stream, revision)
);

-- One row: the last position handed out. Taking it is the last write of
-- every appending transaction, and its row lock is held until commit, so
-- positions are assigned in commit order and without gaps.
CREATE TABLE es_global_position (
    id   boolean PRIMARY KEY DEFAULT true CHECK (id),
    last bigint  NOT NULL
);
INSERT INTO es_global_position (id, last) VALUES (true, 0);

CREATE TABLE es_checkpoints (
    name       text        PRIMARY KEY,
    position   bigint      NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now()
);
