-- The interface language each user chose in 个人中心 (zh-CN by default).
ALTER TABLE users ADD COLUMN locale TEXT NOT NULL DEFAULT 'zh-CN' CHECK (locale IN ('zh-CN', 'en'));

-- Issue 13: the default texts sent to followers now use full-width punctuation.
-- Texts equal to the old defaults but for the width of their commas, exclamation
-- and question marks (never edited by the merchant) follow.
UPDATE auto_replies SET welcome = '您好，欢迎咨询，客服马上为您服务。'
    WHERE replace(replace(replace(welcome, ',', '，'), '!', '！'), '?', '？') = '您好，欢迎咨询，客服马上为您服务。';
UPDATE auto_replies SET offhours = '您好，现在是非工作时间，客服上班后会第一时间回复您。'
    WHERE replace(replace(replace(offhours, ',', '，'), '!', '！'), '?', '？') = '您好，现在是非工作时间，客服上班后会第一时间回复您。';
UPDATE auto_replies SET follow = '感谢关注！有问题请直接发消息，回复“人工”联系客服。'
    WHERE replace(replace(replace(follow, ',', '，'), '!', '！'), '?', '？') = '感谢关注！有问题请直接发消息，回复“人工”联系客服。';
UPDATE auto_replies SET greeting = '您好，我是客服{客服}，很高兴为您服务。'
    WHERE replace(replace(replace(greeting, ',', '，'), '!', '！'), '?', '？') = '您好，我是客服{客服}，很高兴为您服务。';
UPDATE auto_replies SET away = '客服暂时离开，您的消息已收到，客服回来后会第一时间为您服务。'
    WHERE replace(replace(replace(away, ',', '，'), '!', '！'), '?', '？') = '客服暂时离开，您的消息已收到，客服回来后会第一时间为您服务。';
UPDATE auto_replies SET agent_comfort = '客服正在为您处理，请稍候。'
    WHERE replace(replace(replace(agent_comfort, ',', '，'), '!', '！'), '?', '？') = '客服正在为您处理，请稍候。';
UPDATE auto_replies SET follower_prompt = '请问还有其他可以帮您的吗？'
    WHERE replace(replace(replace(follower_prompt, ',', '，'), '!', '！'), '?', '？') = '请问还有其他可以帮您的吗？';
UPDATE auto_replies SET closing = '由于您长时间未回复，本次会话已结束。如需帮助，请再次发送消息。'
    WHERE replace(replace(replace(closing, ',', '，'), '!', '！'), '?', '？') = '由于您长时间未回复，本次会话已结束。如需帮助，请再次发送消息。';
UPDATE account_settings SET keywords = '人工，转人工，客服，在吗'
    WHERE replace(replace(replace(keywords, ',', '，'), '!', '！'), '?', '？') = '人工，转人工，客服，在吗';
