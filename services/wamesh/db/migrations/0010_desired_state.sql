-- Pool mode (README "Pool mode"): whether a line wants a worker is explicit. `desired_state`
-- is `started` (a pool worker should serve it) or `stopped` (none should); `desired_at` is when
-- it last changed, so pool workers take the line that has waited longest first. Lines made
-- before this file want a worker, as they did, in the order they were created.
ALTER TABLE wamesh.sessions
    ADD COLUMN desired_state text NOT NULL DEFAULT 'started'
        CONSTRAINT sessions_desired_state_check CHECK (desired_state IN ('started', 'stopped')),
    ADD COLUMN desired_at timestamptz NOT NULL DEFAULT now();

UPDATE wamesh.sessions SET desired_at = created_at;

CREATE INDEX sessions_wanting_idx ON wamesh.sessions (desired_at, id)
    WHERE desired_state = 'started';
