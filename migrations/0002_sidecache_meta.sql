-- Small named settings sidecache keeps in its database (for instance the persisted cache key secret).
CREATE TABLE sidecache_meta (
  name  text PRIMARY KEY,
  value text NOT NULL
);
