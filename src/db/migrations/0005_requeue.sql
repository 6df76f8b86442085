-- Migration 5: an agent offline for this many minutes gives their conversations
-- back to the queue (B9); NULL keeps them theirs.
ALTER TABLE group_settings ADD COLUMN requeue_after_mins INTEGER CHECK (requeue_after_mins IS NULL OR requeue_after_mins BETWEEN 1 AND 1440);
