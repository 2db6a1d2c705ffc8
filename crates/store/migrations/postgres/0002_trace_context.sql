-- The W3C trace context of the work that appended each event (NULL: not traced), so the
-- subscriptions that handle the event continue its trace.
ALTER TABLE es_events ADD COLUMN traceparent text;
ALTER TABLE es_events ADD COLUMN tracestate text;
