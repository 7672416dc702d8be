-- Reminder wake-ups no longer travel through PostgreSQL NOTIFY (no worker LISTENs: a LISTEN holds
-- a connection per line and breaks transaction-mode poolers). The gateway wakes the owning worker
-- over gRPC instead; the worker's poll is the safety net. The sessions trigger stays: only
-- `wamesh dev`'s single supervisor listens to it.
DROP TRIGGER IF EXISTS reminders_notify ON reminders;
DROP FUNCTION IF EXISTS wamesh_notify_reminder();
