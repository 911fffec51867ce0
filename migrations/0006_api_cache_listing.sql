-- Admin listing of cache entries (GET /admin/cache/entries, src/cache/tiers/postgres.ts
-- listEntries): keyset pagination in (upstream, path, cache key) order, optionally within one
-- upstream and below a path prefix. "C" collation: byte order, so `path LIKE 'prefix%'` becomes a
-- range of this index and the order does not depend on the database's locale.
-- Building it locks api_cache against writes for the duration (migrations run in a transaction,
-- where CONCURRENTLY is not allowed): seconds for a few hundred thousand rows.
CREATE INDEX api_cache_listing_idx ON api_cache ((data_source COLLATE "C"), (path COLLATE "C"), (cache_key COLLATE "C"));
