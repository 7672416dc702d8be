-- Webhook endpoints' circuits, as the webhook workers last recorded them (only when a circuit
-- opens or closes, never per delivery): the delivery log shows whether a line's endpoint is
-- paused, since when, until when and why. A worker decides from its own memory; this is the view.
CREATE TABLE webhook_endpoints (
    url          text PRIMARY KEY,
    state        text NOT NULL CHECK (state IN ('closed', 'open')),
    failures     integer NOT NULL DEFAULT 0,  -- in a row, when it opened
    paused_until timestamptz,
    last_error   text,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- Like media: no policy, so only wamesh's own role sees the rows (URLs may hold tokens).
ALTER TABLE webhook_endpoints ENABLE ROW LEVEL SECURITY;
