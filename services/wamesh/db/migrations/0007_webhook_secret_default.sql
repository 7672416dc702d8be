-- Lines made the original service's way, by inserting a row into `sessions` (a table editor, SQL),
-- need only `id` and `name`: the webhook secret gets a Standard Webhooks secret of its own.
-- `gen_random_uuid()` draws from PostgreSQL's strong random source (pg_strong_random, core since
-- PostgreSQL 13); two of them give 244 random bits, base64 after the `whsec_` prefix as the
-- gateway writes its own.
ALTER TABLE sessions
    ALTER COLUMN webhook_secret
    SET DEFAULT 'whsec_' || encode(uuid_send(gen_random_uuid()) || uuid_send(gen_random_uuid()), 'base64');
