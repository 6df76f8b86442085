-- Queue order as an index (VIP first, then arrival, then id): the queue's
-- head, a follower's place and the moved-up notices read it in order instead
-- of loading the whole queue (issue 11).
DROP INDEX conversations_queue;
CREATE INDEX conversations_queue ON conversations (group_id, state, vip DESC, queued_at, id);
