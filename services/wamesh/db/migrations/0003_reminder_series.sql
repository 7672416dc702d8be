-- Reminders: each occurrence of a repeating reminder is its own row of one series, so every
-- occurrence keeps its own status, attempts and sent message id.
ALTER TABLE reminders ADD COLUMN series_id uuid;
UPDATE reminders SET series_id = id WHERE series_id IS NULL;
ALTER TABLE reminders ALTER COLUMN series_id SET NOT NULL;
CREATE INDEX reminders_claim ON reminders (session_id, due_at, id)
    WHERE status = 'pending';
CREATE INDEX reminders_series ON reminders (series_id, occurrence);
