# Reports: tabs, filters, column names, chart labels and notes. A workbook is
# drawn in the same language as its page (sheet names and headers from here,
# file names from exports.ftl).

rep-tab-workload = Workload
rep-tab-categories = Categories
rep-tab-hourly = By hour
rep-tab-quality = Quality overview
rep-tab-service = Service level
rep-quality-detail = Quality details
rep-service-groups = Service level (groups)
rep-service-agents = Service level (agents)

rep-agent = Agent
rep-agent-option = { $name } ({ $username })
rep-show-idle = Show agents without replies
rep-category = Category
rep-query = Apply
rep-export = Export
rep-none = No data matches
rep-total = Total
rep-group-path = { $group }: { $path }

rep-col-date = Date
rep-col-group = Group
rep-col-agent-name = Agent
rep-col-agent-username = Username
rep-col-followers = Followers served
rep-col-taken = Conversations taken
rep-col-in-group = Transfers within group
rep-col-cross-group = Transfers to other groups
rep-col-inbound = Follower messages
rep-col-replies = Replies
rep-col-hour = Hour
rep-col-queued = Queued
rep-col-askers = Followers asking
rep-col-online = Online time
rep-col-busy = Busy time
rep-col-away = Away time
rep-col-first-median = First response (median)
rep-col-first-p90 = First response (P90)
rep-col-sla = Within SLA
rep-col-handling = Avg. handling time
rep-col-abandoned = Abandoned
rep-col-abandon-rate = Abandon rate
rep-col-ratings = Ratings
rep-col-avg-score = Avg. satisfaction
rep-col-satisfied = Satisfied
rep-col-solved = Solved

rep-chart-hourly = By hour
rep-hour-tip = { $hour }:00 { $series }: { $value }
rep-chart-queue = Queue length (all day)
rep-chart-status = Agent status (all day)

rep-note-workload = Followers served: different followers an agent served in the period; conversations taken: taken from the queue (by hand or assigned) plus transfers accepted; transfers within group: transfers to an agent of the same group that were accepted; transfers to other groups: transfers to another group; follower messages: messages followers sent while the agent served them; replies: messages the agent sent (not auto-replies, internal notes or failed messages).
rep-note-hourly = Queued: conversations that entered the queue (not those assigned at once); followers asking: different followers who wrote in that hour (over several days, counted once per hour); follower messages: messages followers sent.
rep-note-quality = Statuses count from when kefu began recording them; earlier times show as offline. Online, busy and away times are for the chosen day (today: until now).
rep-note-service = First response: from taking a conversation (by hand or assigned) to the agent's first reply; within SLA: the share of conversations taken whose first response came within the group's setting “A first reply counts as on time within (seconds)” (60 seconds by default; conversations without a reply miss it); avg. handling time: from first taken to ended; abandon rate: the share of queued conversations whose follower left the queue or timed out; satisfaction counts on the day the conversation ended, for the last agent, and "satisfied" is the share of 4–5 ratings.
rep-note-categories = A conversation counts on the day it ended; a conversation with several categories counts once for each, and the total is the sum over categories; choosing a category includes its subcategories.

rep-bad-date = Invalid date (use YYYY-MM-DD): { $date }
rep-date-range = The date is out of range
rep-reversed = The start date cannot be after the end date
rep-too-long = A report can cover at most { $days } days
rep-bad-group = Invalid group
rep-bad-agent = Invalid agent
rep-bad-category = Invalid category
rep-no-category = No such category
