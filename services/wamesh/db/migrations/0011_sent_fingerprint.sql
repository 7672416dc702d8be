-- What a client message id was used for: the SHA-256 of the send's content (recipient, text,
-- media, reply, mentions, structured content; for a forward, the message forwarded and where).
-- A reuse of the id with other content is refused (409 idempotency_conflict) instead of
-- answering the first message. NULL on rows stored before this column: those ids answer their
-- first message whatever the content, as before.
ALTER TABLE wamesh.sent_messages ADD COLUMN content_sha256 text;
