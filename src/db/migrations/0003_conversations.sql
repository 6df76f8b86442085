-- Migration 3: conversations (B1) — groundwork for the console (issue 4).

-- Per agent: status (B9), auto-accept limit (B4), round robin's memory.
CREATE TABLE agent_settings (
    user_id          INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    status           TEXT    NOT NULL DEFAULT 'offline' CHECK (status IN ('online', 'busy', 'away', 'offline')),
    auto_accept      INTEGER CHECK (auto_accept IS NULL OR auto_accept IN (10, 20, 30, 40, 50)),
    last_assigned_at INTEGER,
    status_at        INTEGER NOT NULL DEFAULT 0
) STRICT;

-- A conversation (会话): queued → active → ended. At most one open per follower.
CREATE TABLE conversations (
    id          INTEGER PRIMARY KEY,
    account_id  INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    follower_id INTEGER NOT NULL REFERENCES followers (id) ON DELETE CASCADE,
    group_id    INTEGER REFERENCES groups (id) ON DELETE SET NULL,
    state       TEXT    NOT NULL CHECK (state IN ('queued', 'active', 'ended')),
    agent_id    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    vip         INTEGER NOT NULL DEFAULT 0 CHECK (vip IN (0, 1)),
    opened_at   INTEGER NOT NULL,
    queued_at   INTEGER,
    accepted_at INTEGER,
    ended_at    INTEGER
) STRICT;

CREATE UNIQUE INDEX conversations_one_open ON conversations (follower_id) WHERE state <> 'ended';
CREATE INDEX conversations_queue ON conversations (group_id, state, vip, queued_at);
CREATE INDEX conversations_agent ON conversations (agent_id, state);

-- Every step of a conversation: who, when, why (B1).
CREATE TABLE conversation_events (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    at              INTEGER NOT NULL,
    step            TEXT    NOT NULL CHECK (step IN ('open', 'accept', 'route', 'transfer_in_group',
                                                     'transfer_to_group', 'end_by_agent', 'end_by_timeout',
                                                     'abandon', 'expire', 'remove')),
    actor_id        INTEGER REFERENCES users (id) ON DELETE SET NULL,
    to_agent_id     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    note            TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX conversation_events_conversation ON conversation_events (conversation_id, at);
