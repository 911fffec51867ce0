-- One row per request that reached a proxy route (src/audit/writer.ts). No bodies, no credentials:
-- `query` is stored with the configured secret parameters already redacted.
--
-- Partitioned by month on ts (declarative range partitioning): sidecache creates the monthly
-- partitions `audit_logs_yYYYYmMM` ahead of time and retention drops whole partitions
-- (src/audit/partitions.ts), so expiring rows never means a large DELETE.
--
-- Primary key (request_id, ts): a unique constraint on a partitioned table must contain the
-- partition key, so request_id alone cannot be the key. That is enough for idempotent writes: an
-- event's ts is fixed when the event is made and travels with it through the spool, so a replayed
-- or retried batch carries the very same (request_id, ts) pairs, and
-- `INSERT ... ON CONFLICT (request_id, ts) DO NOTHING` writes each event at most once.
-- (Two different requests sharing a request id — a client-supplied x-request-id reused — are two
-- rows unless they also share the millisecond.)
--
-- Timestamps are written from sidecache's clock as to_timestamp(epoch_ms / 1000).
CREATE TABLE audit_logs (
  request_id      text        NOT NULL,
  ts              timestamptz NOT NULL,
  session_id      uuid,                    -- user_sessions.id, when the request had a session
  user_identifier text,                    -- the app's user header
  upstream        text,                    -- upstream name; null when no upstream matched
  method          text        NOT NULL,
  path            text        NOT NULL,    -- upstream-relative path (<= 2048 chars)
  query           text,                    -- secret parameters redacted (<= 4096 chars)
  action          text        NOT NULL,    -- from the matched rule (e.g. salesforce.sobject.read)
  resource_type   text,
  resource_id     text,
  status          smallint    NOT NULL,    -- response status; 0 when none was sent
  cache_outcome   text        CHECK (cache_outcome IN ('HIT', 'MISS', 'STALE', 'BYPASS')),
  cache_tier      text,                    -- tier that answered a hit (memory, redis, postgres)
  total_ms        real        NOT NULL,
  upstream_ms     real,                    -- null when the upstream was not called
  request_bytes   bigint      NOT NULL,
  response_bytes  bigint      NOT NULL,
  client_ip       text,
  user_agent      text,                    -- <= 512 chars
  error_code      text,                    -- sidecache error code (upstream_timeout, ...)
  PRIMARY KEY (request_id, ts)
) PARTITION BY RANGE (ts);

-- Catches rows for which no monthly partition exists yet, so no row is ever refused for lack of
-- one. It is meant to stay empty: partitions are created months ahead, and ensurePartitions()
-- moves any rows found here into the monthly partition it creates for them.
CREATE TABLE audit_logs_default PARTITION OF audit_logs DEFAULT;

-- Created on the parent, so every partition gets them (including ones created or attached later).
CREATE INDEX audit_logs_ts_idx ON audit_logs (ts);
-- Anonymous requests are left out of the session and user indexes (equality filters still use them).
CREATE INDEX audit_logs_session_ts_idx ON audit_logs (session_id, ts) WHERE session_id IS NOT NULL;
CREATE INDEX audit_logs_action_ts_idx ON audit_logs (action, ts);
CREATE INDEX audit_logs_user_ts_idx ON audit_logs (user_identifier, ts) WHERE user_identifier IS NOT NULL;
CREATE INDEX audit_logs_upstream_ts_idx ON audit_logs (upstream, ts);
