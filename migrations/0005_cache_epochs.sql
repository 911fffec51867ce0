-- Invalidation epochs (src/invalidation/epochs.ts): the latest time each tag, path prefix,
-- upstream or `all` was invalidated. Entries requested before their epoch are not served, so
-- invalidation writes one row here instead of touching every cached entry. Instances load this
-- table at start-up and learn new epochs from the Redis bus; old rows are pruned once no entry
-- can be that old.
CREATE TABLE cache_epochs (
  name text PRIMARY KEY,
  epoch timestamptz NOT NULL
);
