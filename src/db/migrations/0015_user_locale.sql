-- The interface language each user chose in 个人中心 (zh-CN by default).
ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT 'zh-CN' CHECK (locale IN ('zh-CN', 'en'));
