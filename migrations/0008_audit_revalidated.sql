-- A refresh answered 304 by the upstream renews the stored entry without a body: its audit row
-- records cache outcome REVALIDATED (x-cache: REVALIDATED).
ALTER TABLE audit_logs DROP CONSTRAINT IF EXISTS audit_logs_cache_outcome_check;
ALTER TABLE audit_logs ADD CONSTRAINT audit_logs_cache_outcome_check
  CHECK (cache_outcome IN ('HIT', 'MISS', 'STALE', 'REVALIDATED', 'BYPASS'));
