-- Where each change-feed subscription stands (src/hooks/pubsub/cursor.ts): the replay id of the
-- last event whose invalidation was applied (or of the latest keep-alive), so a restart resumes
-- after it without a gap, within the 72 hours Salesforce keeps events. One row per feed and
-- topic; written by the one instance that holds the feed's advisory lock.
CREATE TABLE change_feed_cursors (
  feed       text        PRIMARY KEY,
  replay_id  bytea       NOT NULL,
  updated_at timestamptz NOT NULL
);
