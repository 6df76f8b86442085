-- Migration 7: every account serves a group and every conversation has one
-- (no "no group means everyone"). An account without a group is linked to the
-- first group, created as 客服组 when there is none; a conversation without a
-- group takes its account's first group. A group with conversations can no
-- longer be deleted (RESTRICT instead of SET NULL).
INSERT INTO groups (name, ident, created_at, updated_at)
SELECT '客服组', 'kefu', CAST(strftime('%s', 'now') AS INTEGER) * 1000, CAST(strftime('%s', 'now') AS INTEGER) * 1000
WHERE NOT EXISTS (SELECT 1 FROM groups)
  AND (EXISTS (SELECT 1 FROM accounts) OR EXISTS (SELECT 1 FROM conversations));

INSERT INTO account_groups (account_id, group_id)
SELECT a.id, (SELECT min(id) FROM groups) FROM accounts a
WHERE NOT EXISTS (SELECT 1 FROM account_groups x WHERE x.account_id = a.id);

UPDATE conversations
SET group_id = coalesce(
    (SELECT min(x.group_id) FROM account_groups x WHERE x.account_id = conversations.account_id),
    (SELECT min(id) FROM groups))
WHERE group_id IS NULL;

CREATE TABLE conversations_new (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    follower_id     INTEGER NOT NULL REFERENCES followers (id) ON DELETE CASCADE,
    group_id        INTEGER NOT NULL REFERENCES groups (id) ON DELETE RESTRICT,
    state           TEXT    NOT NULL CHECK (state IN ('queued', 'active', 'ended')),
    agent_id        INTEGER REFERENCES users (id) ON DELETE SET NULL,
    vip             INTEGER NOT NULL DEFAULT 0 CHECK (vip IN (0, 1)),
    opened_at       INTEGER NOT NULL,
    queued_at       INTEGER,
    accepted_at     INTEGER,
    ended_at        INTEGER,
    notice_at       INTEGER,
    notice_position INTEGER,
    notices         INTEGER NOT NULL DEFAULT 0,
    read_at         INTEGER,
    last_message_at INTEGER,
    end_remark      TEXT    NOT NULL DEFAULT ''
) STRICT;

INSERT INTO conversations_new (id, account_id, follower_id, group_id, state, agent_id, vip,
    opened_at, queued_at, accepted_at, ended_at, notice_at, notice_position, notices, read_at,
    last_message_at, end_remark)
SELECT id, account_id, follower_id, group_id, state, agent_id, vip,
    opened_at, queued_at, accepted_at, ended_at, notice_at, notice_position, notices, read_at,
    last_message_at, end_remark
FROM conversations;

DROP TABLE conversations;
ALTER TABLE conversations_new RENAME TO conversations;

CREATE UNIQUE INDEX conversations_one_open ON conversations (follower_id) WHERE state <> 'ended';
CREATE INDEX conversations_queue ON conversations (group_id, state, vip, queued_at);
CREATE INDEX conversations_agent ON conversations (agent_id, state);
