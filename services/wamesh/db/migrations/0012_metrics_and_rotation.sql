-- Worker starts, webhook secret rotation with a grace period, attempt numbers across redeliveries.

-- How many times a worker started this line (each `wamesh session` start counts one, in the same
-- statement that loads the row): the gateway's wamesh_worker_restarts_total is the starts after
-- each line's first.
ALTER TABLE wamesh.sessions ADD COLUMN worker_starts integer NOT NULL DEFAULT 0;

-- The secret a rotation replaced stays valid until `webhook_secret_previous_until`
-- (WEBHOOK_SECRET_ROTATION_GRACE_S after the rotation): deliveries are signed with both secrets.
ALTER TABLE wamesh.sessions ADD COLUMN webhook_secret_previous text;
ALTER TABLE wamesh.sessions ADD COLUMN webhook_secret_previous_until timestamptz;

-- Attempts made before the last redelivery: a redelivery gives the row a fresh budget
-- (`attempts` back to 0) while the numbers written to webhook_attempts go on from here.
ALTER TABLE wamesh.webhook_deliveries ADD COLUMN attempts_before integer NOT NULL DEFAULT 0;

CREATE FUNCTION wamesh.webhook_attempt_number() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.attempt := NEW.attempt + COALESCE(
        (SELECT d.attempts_before FROM wamesh.webhook_deliveries d WHERE d.id = NEW.delivery_id), 0);
    RETURN NEW;
END $$;

CREATE TRIGGER webhook_attempt_number BEFORE INSERT ON wamesh.webhook_attempts
    FOR EACH ROW EXECUTE FUNCTION wamesh.webhook_attempt_number();
REVOKE ALL ON FUNCTION wamesh.webhook_attempt_number() FROM PUBLIC;
