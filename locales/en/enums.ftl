# Labels of stored enums (model.rs db_enum!): enum-<Type>-<stored value>.

enum-Role-agent = Agent
enum-Role-admin = Admin
enum-Role-super_admin = Super admin

enum-UserStatus-active = Active
enum-UserStatus-disabled = Disabled

enum-Theme-light = Light
enum-Theme-dark = Dark

enum-AuditAction-setup = First-run setup
enum-AuditAction-login = Sign in
enum-AuditAction-login_failed = Failed sign-in
enum-AuditAction-logout = Sign out
enum-AuditAction-user_create = Add user
enum-AuditAction-user_update = Edit user
enum-AuditAction-user_enable = Enable user
enum-AuditAction-user_disable = Disable user
enum-AuditAction-user_reset_password = Reset password
enum-AuditAction-user_groups = Change user's groups
enum-AuditAction-group_create = Add group
enum-AuditAction-group_update = Edit group
enum-AuditAction-group_delete = Delete group
enum-AuditAction-profile_update = Edit profile
enum-AuditAction-password_change = Change password
enum-AuditAction-theme_change = Switch theme
enum-AuditAction-locale_change = Switch interface language
enum-AuditAction-account_create = Add official account
enum-AuditAction-account_update = Edit official account
enum-AuditAction-follower_sync = Sync followers
enum-AuditAction-follower_remark = Edit follower remark
enum-AuditAction-category_create = Add category
enum-AuditAction-category_update = Edit category
enum-AuditAction-category_delete = Delete category
enum-AuditAction-tag_create = Add conversation tag
enum-AuditAction-tag_update = Edit conversation tag
enum-AuditAction-tag_delete = Delete conversation tag
enum-AuditAction-kb_create = Add knowledge entry
enum-AuditAction-kb_update = Edit knowledge entry
enum-AuditAction-kb_delete = Delete knowledge entry
enum-AuditAction-group_settings = Edit reception settings
enum-AuditAction-account_trigger = Edit conversation trigger
enum-AuditAction-auto_replies_update = Edit automatic replies
enum-AuditAction-keyword_reply_create = Add keyword reply
enum-AuditAction-keyword_reply_update = Edit keyword reply
enum-AuditAction-keyword_reply_delete = Delete keyword reply
enum-AuditAction-faq_create = Add FAQ
enum-AuditAction-faq_update = Edit FAQ
enum-AuditAction-faq_delete = Delete FAQ
enum-AuditAction-timeouts_update = Edit timeouts
enum-AuditAction-agent_auto_reply = Edit agent auto-reply
enum-AuditAction-menu_draft = Save custom menu draft
enum-AuditAction-menu_publish = Publish custom menu
enum-AuditAction-menu_load = Load live custom menu
enum-AuditAction-notify_settings = Edit notification settings
enum-AuditAction-timeplan_update = Edit work hours
enum-AuditAction-plan_day_create = Add special workday or holiday
enum-AuditAction-plan_day_delete = Delete special workday or holiday
enum-AuditAction-report_export = Export report
enum-AuditAction-transcript_export = Export transcript PDF

enum-AccountMode-plain = Plaintext mode
enum-AccountMode-compat = Compatible mode
enum-AccountMode-safe = Safe mode (recommended)

enum-Direction-in = Follower
enum-Direction-out = Agent

enum-MessageKind-text = Text
enum-MessageKind-image = Image
enum-MessageKind-voice = Voice
enum-MessageKind-video = Video
enum-MessageKind-shortvideo = Short video
enum-MessageKind-location = Location
enum-MessageKind-link = Link
enum-MessageKind-event = Event
enum-MessageKind-unknown = Unsupported message type

enum-OutboxState-pending = Sending
enum-OutboxState-sending = Sending
enum-OutboxState-sent = Delivered to WeChat
enum-OutboxState-failed = Failed
enum-OutboxState-unknown = Outcome unknown
enum-OutboxState-ignored = Outcome unknown (ignored)

enum-OutboundKind-text = Text
enum-OutboundKind-image = Image
enum-OutboundKind-voice = Voice
enum-OutboundKind-msgmenu = Menu message

enum-MediaState-pending = Downloading
enum-MediaState-stored = Saved
enum-MediaState-failed = Download failed

enum-MediaKind-image = Image
enum-MediaKind-voice = Voice
enum-MediaKind-video = Video
enum-MediaKind-thumb = Thumbnail

enum-InteractionKind-message = Follower sends a message
enum-InteractionKind-event = Menu click, follow or scan

enum-AgentStatus-online = Online
enum-AgentStatus-busy = Busy
enum-AgentStatus-away = Away
enum-AgentStatus-offline = Offline

enum-RoutingStrategy-round_robin = Round robin
enum-RoutingStrategy-least_busy = Least busy first
enum-RoutingStrategy-random = Random

enum-TriggerMode-any = Any message
enum-TriggerMode-keywords = Keywords
enum-TriggerMode-menu = Menu click

enum-ConversationState-queued = Queued
enum-ConversationState-active = In conversation
enum-ConversationState-ended = Served

enum-TransferState-pending = Awaiting answer
enum-TransferState-accepted = Accepted
enum-TransferState-declined = Declined
enum-TransferState-expired = Timed out
enum-TransferState-cancelled = Cancelled

enum-TimeoutKind-agent_comfort = Comfort message
enum-TimeoutKind-agent_remind = Agent reply reminder
enum-TimeoutKind-agent_transfer = Auto-transfer on timeout
enum-TimeoutKind-follower_prompt = Reminder
enum-TimeoutKind-follower_close = End on timeout
enum-TimeoutKind-reception = Reception timeout
