# The frame of every page, sign-in, first-run setup, errors, 个人中心 and the
# messages assets/app.js shows.

brand-name = 客服

nav-menu = 菜单
nav-main = 主导航
nav-console = 会话
nav-kb = 知识库
nav-faq = 常见问题
nav-served = 已接待
nav-tagged = 会话标签
nav-marks = 标注
nav-settings = 设置
nav-users = 用户管理
nav-groups = 客服组管理
nav-accounts = 公众号
nav-menu-editor = 自定义菜单
nav-notify = 消息提醒
nav-timeplan = 工作时间
nav-taxonomy = 分类与标签
nav-automation = 自动回复
nav-manage = 管理
nav-followers = 粉丝
nav-messages = 消息管理
nav-audit = 操作日志
nav-simulator = 模拟器
nav-reports = 工作报表
nav-me = 个人中心
nav-logout = 退出登录

error-back-console = 返回会话
error-back-home = 返回首页

error-not-found = 页面不存在
error-unauthorized = 请先登录
error-forbidden = 您没有权限访问此页面
error-csrf = 页面已过期或请求来源不正确，请刷新页面后重试
error-too-large = 提交的内容过大
error-internal = 服务器内部错误，请稍后重试
error-query-too-long = 查询字符串过长

form-control-chars = 提交的内容含有不允许的控制字符（如 NUL 或单独的回车符），请删除后重试
form-invalid = 提交的表单内容无效，请检查后重试
form-query-invalid = 查询条件无效，请检查后重试

auth-bad-credentials = 账号或密码错误
auth-disabled = 该账号已被禁用，请联系管理员
auth-locked = 登录失败次数过多，该账号在此 IP 已被锁定，请 { $minutes } 分钟后再试
auth-too-fast = 此 IP 的登录尝试过于频繁，请 { $seconds } 秒后再试
auth-busy = 登录请求过多，服务器正忙，请稍后再试
auth-password-short = 密码至少需要 8 个字符
auth-password-long = 密码不能超过 128 个字符
auth-password-mismatch = 两次输入的密码不一致

login-missing = 请输入账号和密码
login-welcome-back = 登录成功。上次登录：{ $when }，IP { $ip }
login-welcome-first = 登录成功。这是您的首次登录。
logout-done = 您已退出登录

setup-wrong-code = 设置码不正确。设置码显示在启动 kefu 的终端或日志中，也保存在数据目录的 setup-code.txt 文件里。
setup-done-signed-in = 超级管理员已创建，您已登录。下一步：在「设置」中添加客服组和公众号。
setup-done-login = 超级管理员已创建，请登录

me-profile-saved = 个人信息已保存
me-password-changed = 密码已修改，其他设备上的登录已退出
me-theme-unknown = 未知的主题
me-bind-code-made = 绑定码已生成，10 分钟内有效
me-unbound = 已解除微信绑定
me-offhours-on = 非工作时间也会提醒您
me-offhours-off = 非工作时间不再提醒您

budget-never-interacted = 该粉丝还没有与公众号互动过，微信不允许主动发送客服消息
budget-quota-spent = 本次互动后的客服消息额度已用完（发消息后 { $after_message } 条，点击菜单、关注或扫码后 { $after_event } 条），粉丝再次发消息后恢复
budget-window-closed = 粉丝最后一次发消息已超过 { $hours } 小时（或点击菜单后的 { $secs } 秒时限已过），微信不允许再发送客服消息，需等粉丝再次发消息

login-title = 登录
login-username = 账号
login-password = 密码
login-submit = 登录
login-idle-hint = 24 小时内没有任何操作将自动退出登录。

setup-title = 首次设置
setup-intro = 欢迎使用 kefu。请创建超级管理员账号，之后所有人都需登录使用。
setup-code = 设置码
setup-code-example = 例如 K7QM-3XPA-9TRB
setup-code-hint = 启动 kefu 时显示在终端或日志中，也保存在数据目录的 setup-code.txt 文件里。
setup-username = 账号
setup-username-hint = 字母、数字和 . _ - @
setup-display-name = 显示名
setup-display-name-hint = 客服界面中显示的名字
setup-password = 密码
setup-confirm = 确认密码
setup-submit = 创建超级管理员

me-profile = 个人信息
me-username = 账号
me-role = 角色
me-groups = 客服组
me-no-group = 未加入客服组
me-display-name = 显示名
me-real-name = 姓名
me-phone = 手机号
me-password = 修改密码
me-current-password = 当前密码
me-new-password = 新密码
me-confirm-password = 确认新密码
me-password-submit = 修改密码
me-theme = 界面主题
me-theme-hint = 主题保存在您的账号中，换设备登录也会保持。
me-language = 界面语言
me-language-label = 语言
me-language-hint = 界面语言保存在您的账号中；发给粉丝的文字不受影响，仍是您设置的原文。
me-locale-unknown = 未知的界面语言
me-locale-saved = 界面语言已切换为简体中文
me-wechat-notify = 微信消息提醒
me-wechat-bound = 已绑定公众号“{ $account }”的微信，新排队客户和超过 3 分钟未读的消息会通过模板消息提醒您。
me-notify-offhours = 非工作时间也提醒我
me-unbind = 解除绑定
me-bind-code-before = 请用您的微信向公众号发送绑定码
me-bind-code-after = （有效至 { $until }）。
me-bind-hint = 绑定后，离开电脑时也能在微信里收到新消息提醒。
me-bind-get-code = 获取绑定码
me-auto-reply = 工号自动回复
me-auto-reply-hint = 您不在线（忙碌、离开或离线）时，正在与您会话的客户发来消息会收到您设置的自动回复。
me-auto-reply-link = 设置工号自动回复
me-recent-logins = 最近登录
me-login-time = 时间
me-login-browser = 浏览器

common-save = 保存
common-cancel = 取消
common-delete = 删除
common-edit = 编辑
common-add = 添加
common-search = 搜索
common-reset = 重置
common-back = 返回
common-close = 关闭
common-confirm = 确定
common-yes = 是
common-no = 否
common-on = 开启
common-off = 关闭
common-enabled = 启用
common-disabled = 停用
common-actions = 操作
common-all = 全部
common-none = 无
common-name = 名称
common-time = 时间
common-from = 开始日期
common-to = 结束日期
common-prev-page = 上一页
common-next-page = 下一页
common-page-of = 第 { $page } 页
common-export-xlsx = 导出 Excel
common-export-pdf = 导出 PDF
common-copy = 复制
common-password-min = 至少 8 个字符
common-rows = { $n } 条

js-notify-title = kefu 客服
js-new-message = 新消息
js-open-chat-first = 请先打开一个您正在接待的会话
js-notify-requested = 已请求通知权限
js-copied = 已复制：{ $x }
js-accept = 接入
js-copy-name = 复制名称
js-copy-id = 复制 ID
js-tag-message = 给这条消息加标签
js-tag-this = 标记这条消息：{ $x }
js-media-message = [媒体消息]
js-copy-text = 复制内容
js-images-only = 只能发送图片
js-image-too-large = 图片不能超过 10 MB
js-image-network = 网络连接失败，图片未发送
js-network-failed = 网络连接失败，请检查网络后重试
