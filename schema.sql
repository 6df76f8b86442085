-- kefu: the whole current schema. A fresh install runs this file and sets
-- PRAGMA user_version to the number of files in migrations/; an older database
-- runs the migrations it has not seen. A test proves both paths give the same
-- schema. Times are INTEGER milliseconds since the Unix epoch (UTC).

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE COLLATE NOCASE CHECK (length(username) BETWEEN 1 AND 64),
    display_name  TEXT    NOT NULL CHECK (length(display_name) BETWEEN 1 AND 64),
    real_name     TEXT    NOT NULL DEFAULT '',
    phone         TEXT    NOT NULL DEFAULT '',
    role          TEXT    NOT NULL CHECK (role IN ('agent', 'admin', 'super_admin')),
    status        TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    theme         TEXT    NOT NULL DEFAULT 'light' CHECK (theme IN ('light', 'dark')),
    password_hash TEXT    NOT NULL,
    created_by    INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL
, locale TEXT NOT NULL DEFAULT 'zh-CN' CHECK (locale IN ('zh-CN', 'en'))) STRICT;

-- 客服组
CREATE TABLE groups (
    id             INTEGER PRIMARY KEY,
    name           TEXT    NOT NULL UNIQUE CHECK (length(name) BETWEEN 1 AND 64),
    ident          TEXT    NOT NULL UNIQUE CHECK (length(ident) BETWEEN 1 AND 64),
    phone          TEXT    NOT NULL DEFAULT '',
    public_name    TEXT    NOT NULL DEFAULT '',
    public_visible INTEGER NOT NULL DEFAULT 1 CHECK (public_visible IN (0, 1)),
    created_by     INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at     INTEGER NOT NULL,
    updated_at     INTEGER NOT NULL
) STRICT;

CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE RESTRICT,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX group_members_user ON group_members (user_id);

-- Server-side login sessions. Only a hash of the cookie's token is stored.
CREATE TABLE sessions (
    token_hash   TEXT    PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf_token   TEXT    NOT NULL,
    created_at   INTEGER NOT NULL,
    last_seen_at INTEGER NOT NULL,
    ip           TEXT    NOT NULL,
    user_agent   TEXT    NOT NULL
) STRICT, WITHOUT ROWID;

CREATE INDEX sessions_user ON sessions (user_id);
CREATE INDEX sessions_last_seen ON sessions (last_seen_at);

-- Every successful login (D1, S3 1.1).
CREATE TABLE logins (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at         INTEGER NOT NULL,
    ip         TEXT    NOT NULL,
    user_agent TEXT    NOT NULL
) STRICT;

CREATE INDEX logins_user_at ON logins (user_id, at);

-- Failed attempts, for the lockout after 5 failures per account and IP.
CREATE TABLE login_failures (
    id       INTEGER PRIMARY KEY,
    username TEXT    NOT NULL COLLATE NOCASE,
    ip       TEXT    NOT NULL,
    at       INTEGER NOT NULL
) STRICT;

CREATE INDEX login_failures_key ON login_failures (username, ip, at);

-- Audit log of every state-changing action (E12). Never updated, never deleted
-- by the application; actor_name keeps the name even if the user is renamed.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY,
    at         INTEGER NOT NULL,
    actor_id   INTEGER REFERENCES users (id) ON DELETE SET NULL,
    actor_name TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    target     TEXT    NOT NULL,
    before     TEXT,
    after      TEXT,
    ip         TEXT    NOT NULL
) STRICT;

CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor_id, at);
CREATE INDEX audit_log_action ON audit_log (action, at);

-- ---------------------------------------------------------------- WeChat channel

-- Official Accounts (E11, A11). Secrets stay here and are never shown back in full.
CREATE TABLE accounts (
    id                 INTEGER PRIMARY KEY,
    name               TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 64),
    app_id             TEXT    NOT NULL UNIQUE CHECK (length(app_id) BETWEEN 1 AND 64),
    app_secret         TEXT    NOT NULL,
    token              TEXT    NOT NULL CHECK (length(token) BETWEEN 3 AND 32),
    aes_key            TEXT    NOT NULL DEFAULT '',
    prev_aes_key       TEXT    NOT NULL DEFAULT '',
    mode               TEXT    NOT NULL DEFAULT 'safe' CHECK (mode IN ('plain', 'compat', 'safe')),
    original_id        TEXT    NOT NULL DEFAULT '',
    api_base           TEXT    NOT NULL DEFAULT '',
    simulation         INTEGER NOT NULL DEFAULT 0 CHECK (simulation IN (0, 1)),
    window_hours       INTEGER NOT NULL DEFAULT 48 CHECK (window_hours BETWEEN 1 AND 720),
    quota_after_message INTEGER NOT NULL DEFAULT 5 CHECK (quota_after_message BETWEEN 0 AND 1000),
    quota_after_event  INTEGER NOT NULL DEFAULT 3 CHECK (quota_after_event BETWEEN 0 AND 1000),
    event_window_secs  INTEGER NOT NULL DEFAULT 60 CHECK (event_window_secs BETWEEN 1 AND 172800),
    created_at         INTEGER NOT NULL,
    updated_at         INTEGER NOT NULL
) STRICT;

CREATE TABLE account_groups (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    group_id   INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    PRIMARY KEY (account_id, group_id)
) STRICT, WITHOUT ROWID;

-- The access token per account, so a restart reuses it (A8).
CREATE TABLE access_tokens (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    token      TEXT    NOT NULL,
    expires_at INTEGER NOT NULL,
    fetched_at INTEGER NOT NULL
) STRICT;

-- Followers (A10, E13): one row per OpenID and account, created on first contact.
-- The reply budget (A7) lives here: WeChat counts two windows separately — after
-- a message (48 h) and after a menu click, follow or scan (short) — each with the
-- time of the follower's last such interaction and what was sent since.
CREATE TABLE followers (
    id                  INTEGER PRIMARY KEY,
    account_id          INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    openid              TEXT    NOT NULL CHECK (length(openid) BETWEEN 1 AND 128),
    remark              TEXT    NOT NULL DEFAULT '',
    wx_remark           TEXT    NOT NULL DEFAULT '',
    unionid             TEXT    NOT NULL DEFAULT '',
    tags                TEXT    NOT NULL DEFAULT '[]',
    subscribe_scene     TEXT    NOT NULL DEFAULT '',
    subscribed          INTEGER NOT NULL DEFAULT 1 CHECK (subscribed IN (0, 1)),
    subscribed_at       INTEGER,
    unsubscribed_at     INTEGER,
    profile_state       TEXT    NOT NULL DEFAULT 'pending' CHECK (profile_state IN ('pending', 'fetched', 'failed')),
    profile_attempts    INTEGER NOT NULL DEFAULT 0,
    profile_next_at     INTEGER NOT NULL DEFAULT 0,
    message_at          INTEGER,
    message_sent        INTEGER NOT NULL DEFAULT 0,
    event_at            INTEGER,
    event_sent          INTEGER NOT NULL DEFAULT 0,
    first_seen_at       INTEGER NOT NULL,
    last_seen_at        INTEGER NOT NULL,
    vip                 INTEGER NOT NULL DEFAULT 0 CHECK (vip IN (0, 1)),
    owner_id            INTEGER REFERENCES users (id) ON DELETE SET NULL,
    labels              TEXT NOT NULL DEFAULT '',
    UNIQUE (account_id, openid)
) STRICT;

CREATE INDEX followers_profile ON followers (profile_state, profile_next_at) WHERE profile_state = 'pending';

-- Every message, both ways. Inbound pushes are stored exactly once: dedup_key
-- is 'm:<MsgId>' for messages and 'e:<OpenID>:<CreateTime>:<Event>' for events.
CREATE TABLE messages (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    follower_id    INTEGER NOT NULL REFERENCES followers (id) ON DELETE CASCADE,
    direction      TEXT    NOT NULL CHECK (direction IN ('in', 'out')),
    kind           TEXT    NOT NULL CHECK (kind IN ('text', 'image', 'voice', 'video', 'shortvideo',
                                                    'location', 'link', 'event', 'unknown')),
    event          TEXT    NOT NULL DEFAULT '',
    content        TEXT    NOT NULL DEFAULT '',
    data           TEXT    NOT NULL DEFAULT '{}',
    raw            TEXT    NOT NULL DEFAULT '',
    dedup_key      TEXT,
    wx_msg_id      INTEGER,
    sender_id      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at     INTEGER NOT NULL,
    received_at    INTEGER NOT NULL,
    conversation_id INTEGER REFERENCES conversations (id) ON DELETE SET NULL,
    UNIQUE (account_id, dedup_key)
) STRICT;

CREATE INDEX messages_follower ON messages (follower_id, created_at);

-- Outbound customer-service messages (A6): committed before any network call,
-- sent in order per follower, retried while transient, failed with a reason.
-- 'sending' is committed before the HTTP call; a lost answer makes the row
-- 'unknown' (never resent automatically), which the agent resends or ignores.
CREATE TABLE "outbox" (
    id              INTEGER PRIMARY KEY,
    message_id      INTEGER NOT NULL UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
    account_id      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    follower_id     INTEGER NOT NULL REFERENCES followers (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CHECK (kind IN ('text', 'image', 'voice', 'msgmenu')),
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'sending', 'sent', 'failed', 'unknown', 'ignored')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    error_code      INTEGER,
    error_reason    TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
) STRICT;

CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_follower ON outbox (follower_id, id);
CREATE INDEX outbox_sending ON outbox (id) WHERE state = 'sending';
CREATE INDEX outbox_failed ON outbox (message_id) WHERE state = 'failed';

-- Media (A9): inbound files fetched after the push is acknowledged; the row is
-- the job, so a restart resumes what is still pending.
CREATE TABLE media (
    id              INTEGER PRIMARY KEY,
    account_id      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    message_id      INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CHECK (kind IN ('image', 'voice', 'video', 'thumb')),
    wx_media_id     TEXT    NOT NULL DEFAULT '',
    source_url      TEXT    NOT NULL DEFAULT '',
    path            TEXT    NOT NULL DEFAULT '',
    content_type    TEXT    NOT NULL DEFAULT '',
    size            INTEGER NOT NULL DEFAULT 0,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'stored', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL DEFAULT 0,
    error           TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX media_pending ON media (next_attempt_at) WHERE state = 'pending';
CREATE INDEX media_message ON media (message_id);

-- ---------------------------------------------------------------- Conversations

-- Per agent: status (B9), auto-accept limit (B4), round robin's memory.
CREATE TABLE agent_settings (
    user_id          INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    status           TEXT    NOT NULL DEFAULT 'offline' CHECK (status IN ('online', 'busy', 'away', 'offline')),
    auto_accept      INTEGER CHECK (auto_accept IS NULL OR auto_accept IN (10, 20, 30, 40, 50)),
    last_assigned_at INTEGER,
    status_at        INTEGER NOT NULL DEFAULT 0
) STRICT;

-- A conversation (会话): queued → active → ended. At most one open per follower.
CREATE TABLE "conversations" (
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

CREATE UNIQUE INDEX conversations_one_open ON conversations (follower_id) WHERE state <> 'ended';
CREATE INDEX conversations_queue ON conversations (group_id, state, vip DESC, queued_at, id);
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
, group_id INTEGER) STRICT;

CREATE INDEX conversation_events_conversation ON conversation_events
    (conversation_id, at, id, step, actor_id, to_agent_id, group_id);
CREATE INDEX conversations_ended ON conversations (ended_at) WHERE state = 'ended';

-- Every change of an agent's status, with its time (工作质量概览, issue 10).
CREATE TABLE agent_status_log (
    id      INTEGER PRIMARY KEY,
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status  TEXT    NOT NULL CHECK (status IN ('online', 'busy', 'away', 'offline')),
    at      INTEGER NOT NULL
) STRICT;

CREATE INDEX agent_status_log_at ON agent_status_log (at, user_id);

-- ---------------------------------------------------------------- Console

-- Per account: what opens a conversation (B2).
CREATE TABLE account_settings (
    account_id   INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    trigger_mode TEXT    NOT NULL DEFAULT 'any' CHECK (trigger_mode IN ('any', 'keywords', 'menu')),
    keywords     TEXT    NOT NULL DEFAULT '人工，转人工，客服，在吗',
    menu_key     TEXT    NOT NULL DEFAULT ''
) STRICT;

-- Per group: routing (B3), queue (B5, B6), transfer (B7) and end (B8) rules.
CREATE TABLE group_settings (
    group_id              INTEGER PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
    strategy              TEXT    NOT NULL DEFAULT 'round_robin' CHECK (strategy IN ('round_robin', 'least_busy', 'random')),
    familiar_days         INTEGER NOT NULL DEFAULT 7 CHECK (familiar_days BETWEEN 0 AND 90),
    require_category      INTEGER NOT NULL DEFAULT 0 CHECK (require_category IN (0, 1)),
    agents_see_queue      INTEGER NOT NULL DEFAULT 0 CHECK (agents_see_queue IN (0, 1)),
    transfer_timeout_secs INTEGER NOT NULL DEFAULT 60 CHECK (transfer_timeout_secs BETWEEN 10 AND 600),
    queue_expiry_hours    INTEGER NOT NULL DEFAULT 24 CHECK (queue_expiry_hours BETWEEN 1 AND 168),
    comfort_every_mins    INTEGER NOT NULL DEFAULT 3 CHECK (comfort_every_mins BETWEEN 1 AND 60)
, requeue_after_mins INTEGER CHECK (requeue_after_mins IS NULL OR requeue_after_mins BETWEEN 1 AND 1440), sla_secs INTEGER NOT NULL DEFAULT 60 CHECK (sla_secs BETWEEN 10 AND 3600)) STRICT;

-- A transfer to another agent waits for their answer (B7).
CREATE TABLE transfers (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    from_agent      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    to_agent        INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    note            TEXT    NOT NULL DEFAULT '',
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'accepted', 'declined', 'expired', 'cancelled')),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER NOT NULL,
    decided_at      INTEGER
) STRICT;

CREATE UNIQUE INDEX transfers_one_pending ON transfers (conversation_id) WHERE state = 'pending';
CREATE INDEX transfers_to ON transfers (to_agent, state);

-- 咨询分类: a tree per group (B8).
CREATE TABLE categories (
    id        INTEGER PRIMARY KEY,
    group_id  INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    parent_id INTEGER REFERENCES categories (id) ON DELETE CASCADE,
    name      TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 32),
    position  INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX categories_group ON categories (group_id, parent_id, position);

CREATE TABLE conversation_categories (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    category_id     INTEGER NOT NULL REFERENCES categories (id) ON DELETE CASCADE,
    PRIMARY KEY (conversation_id, category_id)
) STRICT, WITHOUT ROWID;

-- 会话标签: one tree for the whole system (B12, S3 1.3).
CREATE TABLE tags (
    id        INTEGER PRIMARY KEY,
    parent_id INTEGER REFERENCES tags (id) ON DELETE CASCADE,
    name      TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 32),
    position  INTEGER NOT NULL DEFAULT 0
) STRICT;

-- A tag on a conversation, or on one message of it, with a remark.
CREATE TABLE taggings (
    id              INTEGER PRIMARY KEY,
    tag_id          INTEGER NOT NULL REFERENCES tags (id) ON DELETE CASCADE,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    message_id      INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    remark          TEXT    NOT NULL DEFAULT '',
    agent_id        INTEGER REFERENCES users (id) ON DELETE SET NULL,
    created_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX taggings_tag ON taggings (tag_id, created_at);
CREATE INDEX taggings_conversation ON taggings (conversation_id);

-- 标注: a conversation marked for follow-up (B11).
CREATE TABLE marks (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    agent_id        INTEGER REFERENCES users (id) ON DELETE SET NULL,
    note            TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    handled_at      INTEGER
) STRICT;

CREATE INDEX marks_agent ON marks (agent_id, handled_at);

-- Internal notes in the chat: agents only, never sent to WeChat (B14).
CREATE TABLE notes (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    follower_id     INTEGER NOT NULL REFERENCES followers (id) ON DELETE CASCADE,
    author_id       INTEGER REFERENCES users (id) ON DELETE SET NULL,
    body            TEXT    NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    created_at      INTEGER NOT NULL
) STRICT;

CREATE INDEX notes_follower ON notes (follower_id, created_at);

-- 知识库 and 常见问题 as trees (E3, E4; S3 2.1, 2.2): one tree per kind,
-- folders nested to any depth, entries (text or image) at any level. A group
-- is given one or more subtrees (S3 2.4) in `group_tree_roots`. Dates are the
-- appliance's local dates, YYYY-MM-DD: NEW is shown up to `new_until`; an
-- entry is valid from `valid_from` to `valid_to` (NULL: open end).
CREATE TABLE tree_nodes (
    id         INTEGER PRIMARY KEY,
    kind       TEXT    NOT NULL CHECK (kind IN ('kb', 'faq')),
    parent_id  INTEGER REFERENCES tree_nodes (id) ON DELETE CASCADE,
    folder     INTEGER NOT NULL DEFAULT 0 CHECK (folder IN (0, 1)),
    title      TEXT    NOT NULL CHECK (length(title) BETWEEN 1 AND 100),
    body       TEXT    NOT NULL DEFAULT '' CHECK (length(body) <= 2000),
    image      TEXT    NOT NULL DEFAULT '',
    keywords   TEXT    NOT NULL DEFAULT '' CHECK (length(keywords) <= 200),
    enabled    INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    new_until  TEXT    CHECK (new_until IS NULL OR length(new_until) = 10),
    valid_from TEXT    CHECK (valid_from IS NULL OR length(valid_from) = 10),
    valid_to   TEXT    CHECK (valid_to IS NULL OR length(valid_to) = 10),
    uses       INTEGER NOT NULL DEFAULT 0,
    position   INTEGER NOT NULL DEFAULT 0,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE INDEX tree_nodes_parent ON tree_nodes (kind, parent_id, position, id);

CREATE TABLE group_tree_roots (
    group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    node_id  INTEGER NOT NULL REFERENCES tree_nodes (id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, node_id)
) STRICT;

CREATE INDEX group_tree_roots_node ON group_tree_roots (node_id);

-- Where a follower is in the FAQ menu (a folder, NULL: the top), and since when.
CREATE TABLE faq_cursors (
    follower_id INTEGER PRIMARY KEY REFERENCES followers (id) ON DELETE CASCADE,
    node_id     INTEGER REFERENCES tree_nodes (id) ON DELETE SET NULL,
    at          INTEGER NOT NULL
) STRICT;

-- 我的回复 (D6): each agent's own quick-reply groups (常用语, 开场语 …) and entries.
CREATE TABLE my_reply_groups (
    id       INTEGER PRIMARY KEY,
    user_id  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name     TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 32),
    position INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX my_reply_groups_user ON my_reply_groups (user_id, position, id);

CREATE TABLE my_replies (
    id       INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL REFERENCES my_reply_groups (id) ON DELETE CASCADE,
    body     TEXT    NOT NULL CHECK (length(body) BETWEEN 1 AND 2000),
    position INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX my_replies_group ON my_replies (group_id, position, id);

-- Files an agent uploaded, to send again (D9).
CREATE TABLE uploads (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER REFERENCES users (id) ON DELETE SET NULL,
    group_id     INTEGER REFERENCES groups (id) ON DELETE CASCADE,
    name         TEXT    NOT NULL,
    path         TEXT    NOT NULL,
    content_type TEXT    NOT NULL,
    size         INTEGER NOT NULL,
    created_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX uploads_user ON uploads (user_id, created_at);

CREATE INDEX messages_conversation ON messages
    (conversation_id, id, direction, kind, sender_id, created_at, received_at, follower_id);

-- ---------------------------------------------------------------- Automation

-- Time plan per account (C1, E8): the time zone, and per weekday (Monday
-- first) a JSON list of [start, end] minutes of the day; end <= start crosses
-- midnight. Off (enabled = 0): always in work hours.
CREATE TABLE time_plans (
    account_id INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    enabled    INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    timezone   TEXT    NOT NULL DEFAULT 'Asia/Shanghai',
    weekly     TEXT    NOT NULL DEFAULT '[[[540,1080]],[[540,1080]],[[540,1080]],[[540,1080]],[[540,1080]],[],[]]'
) STRICT;

-- Named date ranges (C2, C3): custom workdays with their own spans, holidays
-- with their own reply. Dates are the account's local dates, YYYY-MM-DD.
CREATE TABLE plan_days (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    kind       TEXT    NOT NULL CHECK (kind IN ('workday', 'holiday')),
    name       TEXT    NOT NULL CHECK (length(name) BETWEEN 1 AND 32),
    start_date TEXT    NOT NULL CHECK (length(start_date) = 10),
    end_date   TEXT    NOT NULL CHECK (length(end_date) = 10 AND end_date >= start_date),
    spans      TEXT    NOT NULL DEFAULT '[]',
    reply      TEXT    NOT NULL DEFAULT ''
) STRICT;

CREATE INDEX plan_days_account ON plan_days (account_id, kind, start_date);

-- Automatic replies per account (C4–C7, E7). Empty text: that reply is off.
CREATE TABLE auto_replies (
    account_id      INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    welcome         TEXT    NOT NULL DEFAULT '您好，欢迎咨询，客服马上为您服务。',
    welcome_faq     INTEGER NOT NULL DEFAULT 0 CHECK (welcome_faq IN (0, 1)),
    offhours        TEXT    NOT NULL DEFAULT '您好，现在是非工作时间，客服上班后会第一时间回复您。',
    offhours_faq    INTEGER NOT NULL DEFAULT 1 CHECK (offhours_faq IN (0, 1)),
    follow          TEXT    NOT NULL DEFAULT '感谢关注！有问题请直接发消息，回复“人工”联系客服。',
    location        TEXT    NOT NULL DEFAULT '',
    greeting        TEXT    NOT NULL DEFAULT '您好，我是客服{客服}，很高兴为您服务。',
    away            TEXT    NOT NULL DEFAULT '客服暂时离开，您的消息已收到，客服回来后会第一时间为您服务。',
    agent_comfort   TEXT    NOT NULL DEFAULT '客服正在为您处理，请稍候。',
    follower_prompt TEXT    NOT NULL DEFAULT '请问还有其他可以帮您的吗？',
    closing         TEXT    NOT NULL DEFAULT '由于您长时间未回复，本次会话已结束。如需帮助，请再次发送消息。',
    survey_on_end   INTEGER NOT NULL DEFAULT 0 CHECK (survey_on_end IN (0, 1))
, greeting_budget TEXT NOT NULL DEFAULT 'keep_one' CHECK (greeting_budget IN ('always', 'keep_one', 'never')), greeting_on_transfer INTEGER NOT NULL DEFAULT 0 CHECK (greeting_on_transfer IN (0, 1))) STRICT;

-- Keyword replies per account (C6), tried in order.
CREATE TABLE keyword_replies (
    id         INTEGER PRIMARY KEY,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    keyword    TEXT    NOT NULL CHECK (length(keyword) BETWEEN 1 AND 30),
    exact      INTEGER NOT NULL DEFAULT 0 CHECK (exact IN (0, 1)),
    reply      TEXT    NOT NULL CHECK (length(reply) BETWEEN 1 AND 2000),
    position   INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX keyword_replies_account ON keyword_replies (account_id, position, id);

-- Timeouts per group (C8), within SPEC's ranges; NULL: that timeout is off.
CREATE TABLE timeout_settings (
    group_id             INTEGER PRIMARY KEY REFERENCES groups (id) ON DELETE CASCADE,
    agent_comfort_mins   INTEGER CHECK (agent_comfort_mins IS NULL OR agent_comfort_mins BETWEEN 1 AND 30),
    agent_remind_secs    INTEGER CHECK (agent_remind_secs IS NULL OR agent_remind_secs BETWEEN 10 AND 600),
    agent_transfer_mins  INTEGER CHECK (agent_transfer_mins IS NULL OR agent_transfer_mins BETWEEN 1 AND 9),
    follower_prompt_mins INTEGER CHECK (follower_prompt_mins IS NULL OR follower_prompt_mins BETWEEN 1 AND 20),
    follower_close_mins  INTEGER CHECK (follower_close_mins IS NULL OR follower_close_mins BETWEEN 2 AND 120),
    reception_mins       INTEGER CHECK (reception_mins IS NULL OR reception_mins BETWEEN 1 AND 60)
) STRICT;

-- Each timeout action once per silence: `anchor` is the time of the message
-- that began it, so a restart neither loses nor repeats an action.
CREATE TABLE timeout_actions (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CHECK (kind IN ('agent_comfort', 'agent_remind', 'agent_transfer',
                                                     'follower_prompt', 'follower_close', 'reception')),
    anchor          INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    outcome         TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (conversation_id, kind, anchor)
) STRICT, WITHOUT ROWID;

-- Satisfaction survey (B13): sent or not (with why), and the last answer.
CREATE TABLE surveys (
    conversation_id INTEGER PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
    state           TEXT    NOT NULL CHECK (state IN ('sent', 'not_sent', 'answered')),
    reason          TEXT    NOT NULL DEFAULT '',
    score           INTEGER CHECK (score IS NULL OR score BETWEEN 1 AND 5),
    solved          INTEGER CHECK (solved IS NULL OR solved IN (0, 1)),
    sent_at         INTEGER NOT NULL,
    answered_at     INTEGER
) STRICT;

-- Per agent: own auto reply (工号自动回复, C7) and the WeChat binding for
-- notifications (C10): a one-time code sent to the Official Account binds it.
CREATE TABLE agent_profiles (
    user_id           INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    auto_reply        TEXT    NOT NULL DEFAULT '',
    wx_account_id     INTEGER REFERENCES accounts (id) ON DELETE SET NULL,
    wx_openid         TEXT    NOT NULL DEFAULT '',
    bind_code         TEXT    NOT NULL DEFAULT '',
    bind_expires_at   INTEGER NOT NULL DEFAULT 0,
    notify_offhours   INTEGER NOT NULL DEFAULT 0 CHECK (notify_offhours IN (0, 1))
) STRICT;

-- Template-message notifications per account (C10, A13).
CREATE TABLE notify_settings (
    account_id  INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    enabled     INTEGER NOT NULL DEFAULT 0 CHECK (enabled IN (0, 1)),
    template_id TEXT    NOT NULL DEFAULT '',
    fields      TEXT    NOT NULL DEFAULT '{}',
    every_mins  INTEGER NOT NULL DEFAULT 5 CHECK (every_mins BETWEEN 1 AND 120)
) STRICT;

CREATE TABLE notifications (
    id              INTEGER PRIMARY KEY,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    conversation_id INTEGER REFERENCES conversations (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CHECK (kind IN ('queue', 'unread')),
    state           TEXT    NOT NULL CHECK (state IN ('sent', 'failed', 'skipped')),
    reason          TEXT    NOT NULL DEFAULT '',
    at              INTEGER NOT NULL
) STRICT;

CREATE INDEX notifications_user ON notifications (user_id, at);

-- Custom menu (A12): the draft being edited and when it was last published;
-- replies to CLICK keys.
CREATE TABLE menus (
    account_id   INTEGER PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    draft        TEXT    NOT NULL DEFAULT '{"button":[]}',
    published_at INTEGER
) STRICT;

CREATE TABLE menu_replies (
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    key        TEXT    NOT NULL CHECK (length(key) BETWEEN 1 AND 128),
    reply      TEXT    NOT NULL CHECK (length(reply) BETWEEN 1 AND 2000),
    PRIMARY KEY (account_id, key)
) STRICT, WITHOUT ROWID;

-- 消息管理 (issue 12): a full-text index of message text, terms made in Rust
-- (engine::search: CJK unigrams and bigrams, Latin and digit words, lowered)
-- and split only at spaces (`ascii` tokenizer); contentless, no positions.
-- Filled off the push's transaction by a background job (db::search_index)
-- up to `search_cursor.message_id`, which moves with each batch; a search
-- scans the few messages after the cursor.
CREATE VIRTUAL TABLE message_terms USING fts5 (terms, content = '', detail = none, tokenize = 'ascii');

CREATE TABLE search_cursor (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    message_id INTEGER NOT NULL
) STRICT;

INSERT INTO search_cursor (id, message_id) VALUES (1, 0);
