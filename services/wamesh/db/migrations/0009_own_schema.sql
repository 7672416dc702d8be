-- wamesh's own schema (WAMESH_DB_SCHEMA; `wamesh` as written here, see wamesh/db/schema.py). On
-- Supabase every table in `public` is served to the project's anon key, and the original Node
-- bot's own `public.sessions` lives there. A new install made 0001-0008 in this schema already
-- (`wamesh migrate` runs them there); an install made before this file has them in `public`
-- (`wamesh migrate` moved its ledger, wamesh_migrations, which proves they are ours): move them.
-- Indexes, constraints, triggers and owned sequences move with their tables.
DO $$
BEGIN
    IF to_regclass('wamesh.sessions') IS NULL THEN
        ALTER TABLE public.sessions SET SCHEMA wamesh;
        ALTER TABLE public.session_auth SET SCHEMA wamesh;
        ALTER TABLE public.sent_messages SET SCHEMA wamesh;
        ALTER TABLE public.reminders SET SCHEMA wamesh;
        ALTER TABLE public.webhook_deliveries SET SCHEMA wamesh;
        ALTER TABLE public.webhook_attempts SET SCHEMA wamesh;
        ALTER TABLE public.media SET SCHEMA wamesh;
        ALTER TABLE public.media_chunks SET SCHEMA wamesh;
        ALTER TABLE public.webhook_endpoints SET SCHEMA wamesh;
        ALTER FUNCTION public.wamesh_notify_session() SET SCHEMA wamesh;
    END IF;
END $$;

-- Row level security on every table, with no policy: no role but the owner and roles with
-- BYPASSRLS (wamesh's own, README "Database roles") sees or changes a row, whatever is granted.
ALTER TABLE wamesh.wamesh_migrations ENABLE ROW LEVEL SECURITY;
ALTER TABLE wamesh.sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE wamesh.session_auth ENABLE ROW LEVEL SECURITY;
ALTER TABLE wamesh.sent_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE wamesh.reminders ENABLE ROW LEVEL SECURITY;
ALTER TABLE wamesh.webhook_deliveries ENABLE ROW LEVEL SECURITY;
ALTER TABLE wamesh.webhook_attempts ENABLE ROW LEVEL SECURITY;
ALTER TABLE wamesh.media ENABLE ROW LEVEL SECURITY;
ALTER TABLE wamesh.media_chunks ENABLE ROW LEVEL SECURITY;
ALTER TABLE wamesh.webhook_endpoints ENABLE ROW LEVEL SECURITY;

-- Nothing for anyone but the owner: not PUBLIC, and not Supabase's API roles, which Supabase's
-- default privileges on `public` granted everything on the tables of an install made there
-- (supabase/postgres migrations/db/init-scripts/00000000000000-initial-schema.sql). Revoking a
-- table's privileges revokes its columns' too.
REVOKE ALL ON SCHEMA wamesh FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA wamesh FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA wamesh FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA wamesh FROM PUBLIC;
DO $$
DECLARE
    api_role text;
BEGIN
    FOR api_role IN
        SELECT rolname FROM pg_catalog.pg_roles WHERE rolname IN ('anon', 'authenticated')
    LOOP
        EXECUTE format('REVOKE ALL ON SCHEMA wamesh FROM %I', api_role);
        EXECUTE format('REVOKE ALL ON ALL TABLES IN SCHEMA wamesh FROM %I', api_role);
        EXECUTE format('REVOKE ALL ON ALL SEQUENCES IN SCHEMA wamesh FROM %I', api_role);
        EXECUTE format('REVOKE ALL ON ALL FUNCTIONS IN SCHEMA wamesh FROM %I', api_role);
    END LOOP;
END $$;
