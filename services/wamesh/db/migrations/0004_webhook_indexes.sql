-- Webhook deliveries: every attempt updates its row twice (claim, outcome), and a column that
-- changes in an index (or in its predicate) costs an entry in every index of the table. Three
-- indexes that no query could use well (updated_at; next_attempt_at, which the reconciler reads
-- through COALESCE; claimed_until) give way to the one the reconciler walks: unfinished rows in
-- the order it kicks them.
DROP INDEX IF EXISTS webhook_deliveries_open;
DROP INDEX IF EXISTS webhook_deliveries_due;
DROP INDEX IF EXISTS webhook_deliveries_claims;
CREATE INDEX webhook_deliveries_unfinished ON webhook_deliveries (created_at)
    WHERE status IN ('pending', 'delivering');
