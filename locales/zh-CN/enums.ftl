# Labels of stored enums (model.rs db_enum!): enum-<Type>-<stored value>.

enum-Role-agent = 普通客服
enum-Role-admin = 管理员
enum-Role-super_admin = 超级管理员

enum-UserStatus-active = 启用
enum-UserStatus-disabled = 禁用

enum-Theme-light = 浅色
enum-Theme-dark = 深色

enum-AuditAction-setup = 首次设置
enum-AuditAction-login = 登录
enum-AuditAction-login_failed = 登录失败
enum-AuditAction-logout = 退出登录
enum-AuditAction-user_create = 添加用户
enum-AuditAction-user_update = 修改用户
enum-AuditAction-user_enable = 启用用户
enum-AuditAction-user_disable = 禁用用户
enum-AuditAction-user_reset_password = 重置密码
enum-AuditAction-user_groups = 修改所属客服组
enum-AuditAction-group_create = 添加客服组
enum-AuditAction-group_update = 修改客服组信息
enum-AuditAction-group_delete = 删除客服组
enum-AuditAction-profile_update = 修改个人信息
enum-AuditAction-password_change = 修改密码
enum-AuditAction-theme_change = 切换主题
enum-AuditAction-locale_change = 切换界面语言
enum-AuditAction-account_create = 添加公众号
enum-AuditAction-account_update = 修改公众号
enum-AuditAction-follower_sync = 同步粉丝
enum-AuditAction-follower_remark = 修改粉丝备注
enum-AuditAction-category_create = 添加咨询分类
enum-AuditAction-category_update = 修改咨询分类
enum-AuditAction-category_delete = 删除咨询分类
enum-AuditAction-tag_create = 添加会话标签
enum-AuditAction-tag_update = 修改会话标签
enum-AuditAction-tag_delete = 删除会话标签
enum-AuditAction-kb_create = 添加知识库条目
enum-AuditAction-kb_update = 修改知识库条目
enum-AuditAction-kb_delete = 删除知识库条目
enum-AuditAction-group_settings = 修改接待设置
enum-AuditAction-account_trigger = 修改会话触发方式
enum-AuditAction-auto_replies_update = 修改自动回复
enum-AuditAction-keyword_reply_create = 添加关键词回复
enum-AuditAction-keyword_reply_update = 修改关键词回复
enum-AuditAction-keyword_reply_delete = 删除关键词回复
enum-AuditAction-faq_create = 添加常见问题
enum-AuditAction-faq_update = 修改常见问题
enum-AuditAction-faq_delete = 删除常见问题
enum-AuditAction-timeouts_update = 修改超时设置
enum-AuditAction-agent_auto_reply = 修改工号自动回复
enum-AuditAction-menu_draft = 保存自定义菜单草稿
enum-AuditAction-menu_publish = 发布自定义菜单
enum-AuditAction-menu_load = 载入线上自定义菜单
enum-AuditAction-notify_settings = 修改消息提醒设置
enum-AuditAction-timeplan_update = 修改工作时间
enum-AuditAction-plan_day_create = 添加自定义工作日或节假日
enum-AuditAction-plan_day_delete = 删除自定义工作日或节假日
enum-AuditAction-report_export = 导出报表
enum-AuditAction-transcript_export = 导出会话记录 PDF

enum-AccountMode-plain = 明文模式
enum-AccountMode-compat = 兼容模式
enum-AccountMode-safe = 安全模式（推荐）

enum-Direction-in = 粉丝
enum-Direction-out = 客服

enum-MessageKind-text = 文本
enum-MessageKind-image = 图片
enum-MessageKind-voice = 语音
enum-MessageKind-video = 视频
enum-MessageKind-shortvideo = 小视频
enum-MessageKind-location = 位置
enum-MessageKind-link = 链接
enum-MessageKind-event = 事件
enum-MessageKind-unknown = 暂不支持的消息类型

enum-OutboxState-pending = 发送中
enum-OutboxState-sending = 发送中
enum-OutboxState-sent = 已送达微信
enum-OutboxState-failed = 发送失败
enum-OutboxState-unknown = 结果未知
enum-OutboxState-ignored = 结果未知（已忽略）

enum-OutboundKind-text = 文本
enum-OutboundKind-image = 图片
enum-OutboundKind-voice = 语音
enum-OutboundKind-msgmenu = 菜单消息

enum-MediaState-pending = 下载中
enum-MediaState-stored = 已保存
enum-MediaState-failed = 下载失败

enum-MediaKind-image = 图片
enum-MediaKind-voice = 语音
enum-MediaKind-video = 视频
enum-MediaKind-thumb = 缩略图

enum-InteractionKind-message = 粉丝发消息
enum-InteractionKind-event = 点击菜单、关注或扫码

enum-AgentStatus-online = 在线
enum-AgentStatus-busy = 忙碌
enum-AgentStatus-away = 离开
enum-AgentStatus-offline = 离线

enum-RoutingStrategy-round_robin = 轮流分配
enum-RoutingStrategy-least_busy = 空闲优先
enum-RoutingStrategy-random = 随机分配

enum-TriggerMode-any = 任意消息
enum-TriggerMode-keywords = 关键词
enum-TriggerMode-menu = 菜单点击

enum-ConversationState-queued = 排队中
enum-ConversationState-active = 会话中
enum-ConversationState-ended = 已接待

enum-TransferState-pending = 等待回应
enum-TransferState-accepted = 已接受
enum-TransferState-declined = 已拒绝
enum-TransferState-expired = 已超时
enum-TransferState-cancelled = 已取消

enum-TimeoutKind-agent_comfort = 安抚语
enum-TimeoutKind-agent_remind = 客服回复提醒
enum-TimeoutKind-agent_transfer = 超时自动转接
enum-TimeoutKind-follower_prompt = 提醒语
enum-TimeoutKind-follower_close = 超时结束
enum-TimeoutKind-reception = 接待超时
