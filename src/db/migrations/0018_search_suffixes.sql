-- The 消息管理 search: letter and digit runs are indexed with their suffixes now
-- (engine::search), so an order number's or a phone number's last digits find
-- it. The index is emptied and the background job (db::search_index) builds it
-- again from the first message; until it has caught up, a search scans the
-- messages after the cursor with the new terms, so it misses nothing, only
-- takes longer.
INSERT INTO message_terms (message_terms) VALUES ('delete-all');
UPDATE search_cursor SET message_id = 0 WHERE id = 1;
