-- L3 cache tier: one row per cache entry (src/cache/tiers/postgres.ts).
-- Rows whose `format` differs from ENTRY_FORMAT_VERSION (src/cache/entry.ts) are never read,
-- so a change of the stored shape cannot misread older rows; the sweeper removes them in time.
CREATE TABLE api_cache (
  id          bigserial   PRIMARY KEY,
  cache_key   text        NOT NULL UNIQUE,
  format      smallint    NOT NULL,
  data_source text        NOT NULL,              -- upstream name
  path        text        NOT NULL,              -- upstream-relative path and normalised query
  scope       text        NOT NULL,              -- authorization | session | shared
  status      smallint    NOT NULL,
  headers     jsonb       NOT NULL,              -- lower-case name -> string | string[]
  body        bytea       NOT NULL,
  tags        text[]      NOT NULL DEFAULT '{}',
  size_bytes  integer     NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(), -- when the response was stored
  expires_at  timestamptz NOT NULL,              -- fresh until
  stale_until timestamptz NOT NULL,              -- servable as stale until, then swept
  hit_count   bigint      NOT NULL DEFAULT 0
);

-- Invalidation by tag (tags @> ARRAY[...] / && ARRAY[...]).
CREATE INDEX api_cache_tags_idx ON api_cache USING gin (tags);
-- Invalidation and listing by path prefix (path LIKE 'prefix%'), overall and per upstream.
CREATE INDEX api_cache_path_idx ON api_cache (path text_pattern_ops);
CREATE INDEX api_cache_source_path_idx ON api_cache (data_source, path text_pattern_ops);
-- The sweeper deletes in stale_until order.
CREATE INDEX api_cache_stale_until_idx ON api_cache (stale_until);
