-- Media of the lines (received, uploaded, fetched from a URL), stored in fixed-size chunks so no
-- process ever holds a whole file. A row is `complete` once every chunk is written; until then
-- it is invisible and expires soon, so an upload that died leaves nothing a purge won't remove.
CREATE TABLE media (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id  uuid NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    mimetype    text NOT NULL,
    size        bigint NOT NULL DEFAULT 0 CHECK (size >= 0),
    sha256      text,
    filename    text,
    chunk_size  integer NOT NULL CHECK (chunk_size > 0),
    complete    boolean NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX media_expires ON media (expires_at);
CREATE INDEX media_by_session ON media (session_id);

CREATE TABLE media_chunks (
    media_id uuid NOT NULL REFERENCES media (id) ON DELETE CASCADE,
    seq      integer NOT NULL CHECK (seq >= 0),
    data     bytea NOT NULL,
    PRIMARY KEY (media_id, seq)
);
-- Media is mostly compressed already: store chunks out of line without trying to compress them.
ALTER TABLE media_chunks ALTER COLUMN data SET STORAGE EXTERNAL;

-- Row level security with no policy: only the owner (wamesh's own role) sees these rows, never
-- Supabase's anon/authenticated roles.
ALTER TABLE media ENABLE ROW LEVEL SECURITY;
ALTER TABLE media_chunks ENABLE ROW LEVEL SECURITY;
REVOKE ALL ON media, media_chunks FROM PUBLIC;
