-- Migration 8: reports (issue 10). Every change of an agent's status is kept
-- with its time (工作质量概览 draws it along the day), and every step of a
-- conversation remembers the group it happened in (a transfer to another
-- group moves the conversation; the work done before stays with the first).
CREATE TABLE agent_status_log (
    id      INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status  TEXT    NOT NULL CHECK (status IN ('online', 'busy', 'away', 'offline')),
    at      INTEGER NOT NULL
) STRICT;

CREATE INDEX agent_status_log_at ON agent_status_log (at, user_id);

ALTER TABLE conversation_events ADD COLUMN group_id INTEGER;

UPDATE conversation_events
SET group_id = (SELECT v.group_id FROM conversations v WHERE v.id = conversation_events.conversation_id);

CREATE INDEX conversations_ended ON conversations (ended_at) WHERE state = 'ended';
