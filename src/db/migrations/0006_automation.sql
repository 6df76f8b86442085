-- Migration 6: time plans and automation (issue 5).

-- The outbox also sends menu messages (msgmenu: the satisfaction survey, B13).
CREATE TABLE outbox_v6 (
    id              INTEGER PRIMARY KEY,
    message_id      INTEGER NOT NULL UNIQUE REFERENCES messages (id) ON DELETE CASCADE,
    account_id      INTEGER NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    follower_id     INTEGER NOT NULL REFERENCES followers (id) ON DELETE CASCADE,
    kind            TEXT    NOT NULL CHECK (kind IN ('text', 'image', 'voice', 'msgmenu')),
    payload         TEXT    NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    error_code      INTEGER,
    error_reason    TEXT    NOT NULL DEFAULT '',
    created_at      INTEGER NOT NULL,
    sent_at         INTEGER
) STRICT;
INSERT INTO outbox_v6 SELECT * FROM outbox;
DROP TABLE outbox;
ALTER TABLE outbox_v6 RENAME TO outbox;
CREATE INDEX outbox_due ON outbox (next_attempt_at) WHERE state = 'pending';
CREATE INDEX outbox_follower ON outbox (follower_id, id);

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
) STRICT;

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

-- FAQ for self-service per group (C9): a numbered list, answered by number or keyword.
CREATE TABLE faq_entries (
    id       INTEGER PRIMARY KEY,
    group_id INTEGER NOT NULL REFERENCES groups (id) ON DELETE CASCADE,
    question TEXT    NOT NULL CHECK (length(question) BETWEEN 1 AND 100),
    answer   TEXT    NOT NULL CHECK (length(answer) BETWEEN 1 AND 2000),
    keywords TEXT    NOT NULL DEFAULT '',
    position INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX faq_entries_group ON faq_entries (group_id, position, id);

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
