-- Migration 9: the first-response target of the 服务水平 report (issue 10),
-- per group, in seconds (default 60, as before).
ALTER TABLE group_settings ADD COLUMN sla_secs INTEGER NOT NULL DEFAULT 60 CHECK (sla_secs BETWEEN 10 AND 3600);
