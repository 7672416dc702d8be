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

-- `wamesh dev`'s supervisor (the one LISTEN, dev only) runs a worker per line that wants one: it
-- hears desired-state changes too, and reads the new state from the notification.
CREATE OR REPLACE FUNCTION wamesh.wamesh_notify_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('wamesh_sessions',
        json_build_object('op', TG_OP, 'id', COALESCE(NEW.id, OLD.id),
                          'status', CASE WHEN TG_OP = 'DELETE' THEN OLD.status ELSE NEW.status END,
                          'desired_state', CASE WHEN TG_OP = 'DELETE' THEN OLD.desired_state
                                                ELSE NEW.desired_state END)::text);
    RETURN NULL;
END $$;
DROP TRIGGER sessions_notify ON wamesh.sessions;
CREATE TRIGGER sessions_notify AFTER INSERT OR UPDATE OF status, desired_state OR DELETE
    ON wamesh.sessions FOR EACH ROW EXECUTE FUNCTION wamesh.wamesh_notify_session();
