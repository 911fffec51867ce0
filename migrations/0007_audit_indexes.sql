-- Cheaper audit rows: every proxied request writes one, so each index on audit_logs costs
-- Postgres CPU on every request (on a small box, CPU the proxy itself needs).
--
-- * The primary key becomes (ts, request_id). It is still the identity that makes writes
--   idempotent (`ON CONFLICT (request_id, ts) DO NOTHING` names the same columns: Postgres matches
--   the conflict target to the index by column set, not order), and it now also is the time
--   index: rows arrive in ts order, so its inserts append at the right edge instead of landing at
--   random places like a key led by a random request id, and its order is the admin listing's
--   (`ORDER BY ts DESC, request_id DESC`, keyset cursor on (ts, request_id)).
-- * audit_logs_ts_idx is therefore redundant and goes.
-- * audit_logs_upstream_ts_idx goes: there are a handful of upstreams, so a filter on one of them
--   is served by walking the time index (the primary key) and skipping the others, and reports
--   group by upstream over a time window anyway.
-- * Kept: session (partial), action and user (partial) with ts, for the admin filters.
--
-- Rebuilding the primary key reads every partition once (a one-off, under a lock that holds
-- audit writes meanwhile: the writer spools them and replays them afterwards).
ALTER TABLE audit_logs DROP CONSTRAINT audit_logs_pkey;
ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_pkey PRIMARY KEY (ts, request_id);
DROP INDEX audit_logs_ts_idx;
DROP INDEX audit_logs_upstream_ts_idx;
