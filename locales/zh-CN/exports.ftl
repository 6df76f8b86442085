# 导出 — PDF transcripts and lists, workbooks and their file names, drawn in
# the language of whoever exports (issue 13). Conversation steps use the
# console's console-step-* words.

## Who said it, in a transcript
exp-who-follower = 客户
exp-who-agent = 客服 { $name }
exp-who-auto = 自动回复
exp-who-note = 【内部备注】{ $name }
exp-who-step = 会话记录

## The header of a PDF
exp-field = { $name }：{ $value }
exp-field-account = 公众号
exp-field-follower = 客户
exp-field-agents = 接待客服
exp-field-period = 时间范围
exp-field-exported-at = 导出时间
exp-field-exported-by = 导出人
exp-field-filters = 筛选条件
exp-field-count = 条数
exp-exporter = { $name }（{ $username }）
exp-none = 无
exp-all = 全部
exp-yes = 是
exp-no = 否
exp-rows = { $n } 条
exp-filter-separator = ；
exp-list-item = { $n }．{ $head }
exp-page-foot = 第 { $n } 页 / 共 { $total } 页
exp-no-messages = 该时间段没有消息。
exp-no-rows = 没有符合条件的记录。
exp-image-unshown = [图片无法显示]

## A transcript's period and title
exp-period = { $from } 至 { $to }
exp-ongoing = 进行中
exp-earliest = 最早
exp-latest = 最近
exp-title-conversation = 会话记录 #{ $id }
exp-title-history = 历史消息
exp-follower-remark = { $name }（{ $remark }）

## Messages that are not plain text
exp-with-reason = { $label }（{ $reason }）
exp-image = [图片]
exp-voice = [语音]
exp-video = [视频]
exp-location = [位置] { $label }（纬度 { $lat }，经度 { $lng }）
exp-link = [链接] { $title }
exp-unsupported = [暂不支持的消息]
exp-face = [表情]
exp-no-recognition = 无识别文字
exp-unnamed-place = 未命名地点
exp-send-failed = （发送失败：{ $reason }）
exp-not-downloaded = 尚未下载
exp-file-missing = 文件缺失

## 标注列表 and 会话标签
exp-marks-title = 标注列表
exp-marks-follower = 客户
exp-marks-agent = 标注客服
exp-marks-note = 备注
exp-marks-created = 标注时间
exp-marks-handled = 处理时间
exp-marks-state = 状态
exp-tagged-sheet = 会话标签
exp-tagged-title = 会话标签列表
exp-tagged-tag = 标签
exp-tagged-follower = 客户
exp-tagged-message = 标注的消息
exp-tagged-whole = 整个会话
exp-tagged-remark = 备注
exp-tagged-agent = 客服
exp-tagged-time = 时间
exp-tagged-from = 开始日期
exp-tagged-to = 结束日期
exp-tagged-search-follower = 粉丝

## 消息管理
exp-msgs-sheet = 消息管理
exp-msgs-title = 消息管理（共 { $n } 条）
exp-msgs-group = 客服组
exp-msgs-sender = 发送者
exp-msgs-role = 角色类型
exp-msgs-content = 消息内容
exp-msgs-time = 消息时间
exp-msgs-filter-days = 日期
exp-msgs-filter-search = 搜索
exp-msgs-filter-role = 角色
exp-day = { $day }
exp-days = { $from } 至 { $to }

## 知识库 and 常见问题
exp-kb-new-tag = NEW标签

## File names (without the extension)
exp-file-days = { $from }至{ $to }
exp-file-conversation = 会话记录-{ $id }-{ $day }
exp-file-history = 历史消息-{ $name }
exp-file-history-days = 历史消息-{ $name }-{ $from }至{ $to }
exp-file-marks = 标注列表
exp-file-tagged = 会话标签
exp-file-messages-days = 消息管理_{ $days }
exp-file-workload = 工作量统计_{ $days }
exp-file-categories = 咨询分类统计_{ $days }
exp-file-hourly = 分时统计_{ $days }
exp-file-quality = 工作质量详情_{ $days }
exp-file-service = 服务水平_{ $days }
