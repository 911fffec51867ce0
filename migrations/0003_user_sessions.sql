-- One row per app session token seen by sidecache (src/sessions/sessions.ts). The token itself is
-- never stored: token_hash is HMAC-SHA256(key secret, token) in hex, and id is a UUID made from
-- another HMAC of the token, so every instance derives the same id without reading this table.
-- Timestamps are written from sidecache's clock; the defaults are for rows made by hand.
CREATE TABLE user_sessions (
  id              uuid        PRIMARY KEY,
  token_hash      text        NOT NULL UNIQUE,
  user_identifier text,                               -- the app's user header, when sent
  preferences     jsonb       NOT NULL DEFAULT '{}',
  created_at      timestamptz NOT NULL DEFAULT now(),
  last_accessed   timestamptz NOT NULL DEFAULT now(), -- written at most once per touch interval
  expires_at      timestamptz NOT NULL                -- created_at + sessions.ttl
);

-- The cleanup job deletes in expires_at order.
CREATE INDEX user_sessions_expires_at_idx ON user_sessions (expires_at);
-- Sessions of a user (admin API); anonymous sessions are left out of the index.
CREATE INDEX user_sessions_user_identifier_idx ON user_sessions (user_identifier) WHERE user_identifier IS NOT NULL;
