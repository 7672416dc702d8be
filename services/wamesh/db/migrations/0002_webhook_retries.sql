-- Webhook delivery: one attempt per kick; retries are scheduled in the row, so a crash between
-- attempts loses nothing and no task sleeps through a back-off.
ALTER TABLE webhook_deliveries ADD COLUMN next_attempt_at timestamptz;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at)
    WHERE status = 'pending';
CREATE INDEX webhook_deliveries_claims ON webhook_deliveries (claimed_until)
    WHERE status = 'delivering';
