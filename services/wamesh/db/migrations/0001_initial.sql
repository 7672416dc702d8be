-- wamesh schema, version 1. One schema for all lines (DESIGN.md §4).

CREATE TABLE sessions (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name            text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    engine          text NOT NULL DEFAULT 'sandbox'
                    CHECK (engine IN ('sandbox', 'browser', 'whatsmeow')),
    status          text NOT NULL DEFAULT 'stopped'
                    CHECK (status IN ('starting', 'qr', 'ready', 'disconnected', 'logged_out',
                                      'failed', 'stopped')),
    qr              text,
    qr_expires_at   timestamptz,
    me              text,
    webhook_url     text,
    webhook_secret  text NOT NULL,
    webhook_events  text[] NOT NULL DEFAULT '{}',  -- empty: every event type
    webhook_enabled boolean NOT NULL DEFAULT true,  -- false after a 410 Gone
    metadata        jsonb NOT NULL DEFAULT '{}'::jsonb,
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);

-- The engine's auth state, AES-256-GCM encrypted with WAMESH_AUTH_KEY; the last good copy kept.
CREATE TABLE session_auth (
    session_id          uuid PRIMARY KEY REFERENCES sessions (id) ON DELETE CASCADE,
    generation          bigint NOT NULL,
    state               bytea NOT NULL,
    previous_generation bigint,
    previous_state      bytea,
    updated_at          timestamptz NOT NULL DEFAULT now()
);

-- SendMessage idempotency: one row per client message id, kept across restarts.
CREATE TABLE sent_messages (
    session_id        uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    client_message_id text NOT NULL,
    message_id        text NOT NULL,
    chat_id           text NOT NULL,
    sent_at           timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (session_id, client_message_id)
);

CREATE TABLE reminders (
    id                   uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id           uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    recipient            text NOT NULL,
    text                 text NOT NULL CHECK (length(text) > 0),
    due_at               timestamptz NOT NULL,
    repeat_every_seconds bigint CHECK (repeat_every_seconds > 0),
    repeat_until         timestamptz,
    repeat_count         integer CHECK (repeat_count > 0),
    occurrence           integer NOT NULL DEFAULT 1,
    status               text NOT NULL DEFAULT 'pending'
                         CHECK (status IN ('pending', 'sent', 'failed', 'cancelled')),
    attempts             integer NOT NULL DEFAULT 0,
    next_attempt_at      timestamptz,
    last_error           text,
    sent_message_id      text,
    client_key           text,
    created_at           timestamptz NOT NULL DEFAULT now(),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    UNIQUE (session_id, client_key)
);
CREATE INDEX reminders_due ON reminders (session_id, due_at) WHERE status = 'pending';

-- The outbox and the dead-letter list: one row per event to deliver.
CREATE TABLE webhook_deliveries (
    id              uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id      uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    event_type      text NOT NULL,
    payload         jsonb NOT NULL,  -- the envelope {id, type, session_id, timestamp, data}
    status          text NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'delivering', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    claimed_until   timestamptz,
    kicked_at       timestamptz,
    last_error      text,
    last_status_code integer,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
CREATE INDEX webhook_deliveries_open ON webhook_deliveries (updated_at)
    WHERE status IN ('pending', 'delivering');
CREATE INDEX webhook_deliveries_by_session ON webhook_deliveries (session_id, created_at DESC);

CREATE TABLE webhook_attempts (
    id               bigserial PRIMARY KEY,
    delivery_id      uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempt          integer NOT NULL,
    started_at       timestamptz NOT NULL DEFAULT now(),
    status_code      integer,
    latency_ms       integer NOT NULL,
    error            text,
    response_snippet text
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (delivery_id, attempt);

-- Tell listeners (the dev supervisor, the gateway) when a line is created, changed or deleted.
CREATE FUNCTION wamesh_notify_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('wamesh_sessions',
        json_build_object('op', TG_OP, 'id', COALESCE(NEW.id, OLD.id),
                          'status', CASE WHEN TG_OP = 'DELETE' THEN OLD.status ELSE NEW.status END)::text);
    RETURN NULL;
END $$;
CREATE TRIGGER sessions_notify AFTER INSERT OR UPDATE OF status OR DELETE ON sessions
    FOR EACH ROW EXECUTE FUNCTION wamesh_notify_session();

-- Wake the owning worker when a reminder is created or moved.
CREATE FUNCTION wamesh_notify_reminder() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.status = 'pending' THEN
        PERFORM pg_notify('wamesh_reminders', NEW.session_id::text);
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER reminders_notify AFTER INSERT OR UPDATE OF due_at, status ON reminders
    FOR EACH ROW EXECUTE FUNCTION wamesh_notify_reminder();
