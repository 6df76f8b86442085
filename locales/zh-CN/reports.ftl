# 工作报表 — tabs, filters, column names, chart labels and notes. A workbook is
# drawn in the same language as its page (sheet names and headers from here,
# file names from exports.ftl).

rep-tab-workload = 工作量统计
rep-tab-categories = 咨询分类统计
rep-tab-hourly = 分时统计
rep-tab-quality = 工作质量概览
rep-tab-service = 服务水平
rep-quality-detail = 工作质量详情
rep-service-groups = 服务水平（客服组）
rep-service-agents = 服务水平（客服）

rep-agent = 客服
rep-agent-option = { $name }（{ $username }）
rep-show-idle = 显示未回复客服
rep-category = 咨询分类
rep-query = 查询
rep-export = 导出
rep-none = 没有符合条件的数据
rep-total = 合计
rep-group-path = { $group }：{ $path }

rep-col-date = 日期
rep-col-group = 客服组
rep-col-agent-name = 客服昵称
rep-col-agent-username = 客服账号
rep-col-followers = 个人接待人数
rep-col-taken = 接入会话量
rep-col-in-group = 组内转接量
rep-col-cross-group = 跨组转接量
rep-col-inbound = 咨询消息数
rep-col-replies = 回复消息数
rep-col-hour = 时段
rep-col-queued = 排队量
rep-col-askers = 咨询人数
rep-col-online = 在线时长
rep-col-busy = 忙碌时长
rep-col-away = 离开时长
rep-col-first-median = 首次响应中位数
rep-col-first-p90 = 首次响应P90
rep-col-sla = SLA达标率
rep-col-handling = 平均处理时长
rep-col-abandoned = 放弃量
rep-col-abandon-rate = 放弃率
rep-col-ratings = 评价数
rep-col-avg-score = 平均满意度
rep-col-satisfied = 满意率
rep-col-solved = 已解决率

rep-chart-hourly = 分时统计（按小时）
rep-hour-tip = { $hour } 时 { $series }：{ $value }
rep-chart-queue = 排队人数（全天）
rep-chart-status = 客服状态（全天）

rep-note-workload = 个人接待人数：期间内接待过的不同粉丝数；接入会话量：从排队接入（手动或自动分配）及接受转接的次数；组内转接量：转给本组客服且被接受的次数；跨组转接量：转到其他客服组的次数；咨询消息数：客服接待期间收到的粉丝消息；回复消息数：客服发送的消息（不含自动回复、内部备注和发送失败的消息）。
rep-note-hourly = 排队量：进入排队的会话次数（立即分配给客服的不计）；咨询人数：该时段发过消息的不同粉丝数（多天合并按时段去重）；咨询消息数：粉丝发送的消息数。
rep-note-quality = 状态从 kefu 开始记录时起统计，此前的时段按离线显示。在线、忙碌、离开时长按所选日期计算（当天截至现在）。
rep-note-service = 首次响应：从接入会话（手动或自动分配）到该客服第一条回复的时间；SLA达标率：在客服组接待设置的「首次回复多快算达标（秒）」（默认 60 秒）内首次响应的会话占接入会话的比例（未回复的会话算未达标）；平均处理时长：从首次接入到会话结束；放弃率：排队期间粉丝放弃排队或排队超时的占进入排队的比例；满意度按会话结束的日期计入最后接待的客服，满意率为 4–5 分的占比。
rep-note-categories = 会话按结束的日期计入；一个会话有多个分类时，每个分类各计一次，合计为各分类之和；选择分类时包含其下级分类。

rep-bad-date = 日期格式不正确（应为 YYYY-MM-DD）：{ $date }
rep-date-range = 日期超出范围
rep-reversed = 开始日期不能晚于结束日期
rep-too-long = 查询范围不能超过 { $days } 天
rep-bad-group = 客服组参数不正确
rep-bad-agent = 客服参数不正确
rep-bad-category = 咨询分类参数不正确
rep-no-category = 没有这个咨询分类
