-- 工作报表 read what they replay from indexes alone (issue 10): a report over
-- 30 days walks ~325,000 messages of ~33,000 conversations, and a table
-- lookup per message (rows carry the text and the raw XML) was most of its
-- time. The message index keeps its leading columns, so every other reader of
-- it (a conversation's chat, the console) is served as before.
DROP INDEX messages_conversation;
CREATE INDEX messages_conversation ON messages
    (conversation_id, id, direction, kind, sender_id, created_at, received_at, follower_id);
DROP INDEX conversation_events_conversation;
CREATE INDEX conversation_events_conversation ON conversation_events
    (conversation_id, at, id, step, actor_id, to_agent_id, group_id);
-- Failed sends are few: reports skip them through this small index instead of
-- probing the outbox once per agent message.
CREATE INDEX outbox_failed ON outbox (message_id) WHERE state = 'failed';
