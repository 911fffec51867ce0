-- Sealed api_cache rows (encryption at rest, src/cache/tiers/postgres-sealed.ts). With
-- CACHE_ENCRYPTION_KEY set, a row's `format` is 256 + the entry format and its `body` holds the
-- whole entry (path, headers, tags, body) sealed with AES-256-GCM. What stays readable is what
-- names no content: cache_key (upstream, partition hash, request digest), data_source (an
-- upstream name from the config), scope, status, sizes and times. Content-bearing search
-- columns hold keyed hashes (HMAC-SHA256 under a key derived from the encryption key):
--   path           the hash of the full path (the listing order only)
--   tags           the hash of each tag
--   path_prefixes  the hash of every ancestor of the path at a segment boundary, and the path itself:
--                  prefix search is `path_prefixes && ARRAY[hash(prefix)]`
-- Plain rows leave path_prefixes empty and keep using path LIKE 'prefix%'.
ALTER TABLE api_cache ADD COLUMN path_prefixes text[] NOT NULL DEFAULT '{}';
CREATE INDEX api_cache_path_prefixes_idx ON api_cache USING gin (path_prefixes);
