-- 消息管理 (issue 12): the search index is filled off the push's transaction.
-- A background job (db::search_index) indexes the messages after
-- `message_id` in batches and moves it forward in the same transaction; a
-- search scans the few messages after it. Every message stored so far was
-- indexed with it, so the cursor starts at the newest.
CREATE TABLE search_cursor (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    message_id INTEGER NOT NULL
) STRICT;

INSERT INTO search_cursor (id, message_id) VALUES (1, (SELECT coalesce(max(id), 0) FROM messages));
