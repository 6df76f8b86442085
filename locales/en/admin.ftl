# Settings and management: users, groups, official accounts, the custom menu,
# work hours, the simulator, followers, WeChat notifications and the audit log.

## Shared by the team pages

team-added-by = Added by
team-added-at = Added on
team-back-list = Back to the list
team-switch = Switch
team-account = Official account
team-no-account-first = There is no official account yet. Add one under Settings → Official accounts first,
team-add-account = Add an official account

## Team rules (refusals shown in forms)

team-username-required = Enter a username
team-username-too-long = The username can be at most 64 characters
team-username-chars = The username may contain only letters, digits and . _ - @
team-display-name-required = Enter a display name
team-names-too-long = The display name and the name can be at most 64 characters
team-phone-invalid = The phone number is not valid
team-role-required = Choose a role
team-admin-adds-agents = Admins can add agents only
team-pick-own-group = Choose at least one of your own groups
team-group-missing = The chosen group does not exist
team-username-taken = The username { $name } is already taken
team-super-sets-roles = Only a super admin can change a user's role
team-own-role = You cannot change your own role
team-own-status = You cannot disable or enable your own account
team-own-password = Change your own password in My profile (it asks for your current password)
team-group-name-required = Enter the group name
team-group-ident-required = Enter the group ID
team-group-name-too-long = The group name can be at most 64 characters
team-public-name-too-long = The name shown to followers can be at most 64 characters
team-group-ident-chars = The group ID may contain only letters, digits, _ and -
team-group-phone-invalid = The group phone number is not valid
team-group-ident-taken = The group ID { $ident } is already in use
team-group-name-taken = The group name { $name } is already in use
team-wrong-password = The current password is wrong

## Users

users-display-name = Display name
users-real-name = Name
users-phone = Phone
users-placeholder-any = Type to filter
users-role = Role
users-groups = Groups
users-status = Status
users-new = Add user
users-username = Username
users-contact = Contact
users-edit = Edit
users-admin-only = Only a super admin can edit admins
users-none = No users match
users-role-legend = Role
users-username-hint = Letters, digits and . _ - @
users-display-name-hint = Leave empty to use the username
users-initial-password = Initial password
users-confirm-password = Confirm password
users-no-groups = No groups yet:
users-add-group-first = add one first
users-not-in-group = You are not in any group, so you cannot add agents. Ask a super admin to add you to a group.
users-edit-heading = Edit user
users-edit-title = Edit user { $name }
users-role-is = Role: { $role }
users-member-of = Member of
users-no-assignable-group = No groups you can assign
users-account-status = Account status
users-current-status = Status:
users-disable = Disable
users-disable-hint = Disabling signs the user out at once and stops them from signing in.
users-enable = Enable
users-cannot-disable-self = You cannot disable your own account.
users-reset-password = Reset password
users-new-password = New password
users-confirm-new-password = Confirm new password
users-added = User { $name } added
users-saved = User saved
users-status-unknown = Unknown status
users-enabled = User enabled
users-disabled = User disabled; their sessions have ended
users-password-reset = Password reset
users-groups-saved = Groups saved
users-groups-saved-none = Groups saved. This user is now in no group and will not receive conversations.

## Groups

groups-name = Group name
groups-name-example = e.g. After-sales
groups-ident = Group ID
groups-ident-hint = Letters, digits, _ and -, e.g. after-sales
groups-phone = Group phone
groups-public-name = Name shown to followers
groups-public-name-hint = The group name followers see in the chat
groups-public-visible = Shown to followers
groups-public-visible-switch = Show the group name to followers
groups-shown = Shown
groups-hidden = Hidden
groups-members-col = Members
groups-edit-info = Edit details
groups-delete-confirm = Delete the group "{ $name }"?
groups-empty = No groups yet. Add one below.
groups-add = Add group
groups-settings = Routing settings
groups-strategy = Assignment
groups-familiar-days = Returning followers go to their last agent within (days)
groups-familiar-hint = When the agent who served a follower within these days is online, the follower goes to that agent first; 0 turns this off.
groups-require-category = Require a category to end a conversation
groups-agents-see-queue = Agents can see queue details
groups-transfer-timeout = A transfer request waits for an answer (seconds)
groups-queue-expiry = A queued conversation with nobody taking it ends after (hours)
groups-comfort-every = Send queued followers a reassurance every (minutes)
groups-requeue-after = Conversations return to the queue when their agent is offline for (minutes)
groups-requeue-hint = Empty: conversations stay with the agent
groups-requeue-what = Minutes offline before conversations return to the queue
groups-sla = A first reply counts as on time within (seconds)
groups-sla-hint = In the service level report, a first reply within this many seconds of taking a conversation meets the target (SLA); 60 seconds by default.
groups-settings-save = Save routing settings
groups-members = Members ({ $n })
groups-no-members = No members yet. Add users to this group under Users.
groups-added = Group { $name } added
groups-range = “{ $what }” must be a whole number from { $min } to { $max }
groups-strategy-required = Choose an assignment method
groups-edit-title = Edit group { $name }
groups-saved = Group saved
groups-settings-saved = Routing settings saved
groups-deleted = Group deleted
groups-cannot-delete = Cannot delete: { $reason }

## Official accounts

acct-https-note-before = WeChat can reach only public addresses on port 80 or 443. Start kefu with
acct-https-note-after = (and set up HTTPS) so that the server URL below can be entered in the WeChat Official Accounts Platform.
acct-your-domain = your-domain
acct-col-mode = Mode
acct-col-url = Server URL
acct-col-status = Status
acct-copy-url = Copy the server URL
acct-simulation = Simulation
acct-live = Live
acct-settings = Settings
acct-empty = No official account is connected yet. You can add one with "Simulation" ticked and try it in the simulator.
acct-bind = Connect an official account
acct-bind-hint = In the WeChat Official Accounts Platform, find the AppID and AppSecret under Settings and Development → Basic configuration, and set the Token and EncodingAESKey under Server configuration; safe mode is recommended.
acct-secret-required = Required
acct-token-hint = 3–32 letters or digits
acct-key-hint = 43 characters; required for safe and compatible mode
acct-name = Account name
acct-name-example = e.g. Corner Shop
acct-app-id = AppID (developer ID)
acct-app-secret = AppSecret (developer password)
acct-token = Token
acct-aes-key = EncodingAESKey (message encryption key)
acct-mode = Message encryption mode
acct-simulation-switch = Simulation: API calls go to the WeChat simulator built into kefu (to try things in the Simulator; no real official account is contacted)
acct-advanced = Advanced
acct-api-base = WeChat API address (empty: the default https://api.weixin.qq.com)
acct-server = Server configuration
acct-server-hint = In the WeChat Official Accounts Platform open Settings and Development → Basic configuration → Server configuration, click "Modify configuration" and copy the three values below one by one:
acct-copy-x = Copy { $x }
acct-key-unset = Not set (plain-text mode needs none)
acct-original-id = Original ID
acct-original-id-later = Shown after the first message arrives
acct-https-hint-before = WeChat accepts only public addresses on port 80 or 443: start kefu with
acct-https-hint-after = so that the URL above can be entered in the WeChat Official Accounts Platform.
acct-mode-hint = Choose "{ $mode }" as the message encryption mode, submit, then click "Enable". If you clicked "Generate randomly" for the EncodingAESKey on the WeChat side, enter the new key in the EncodingAESKey field under "Edit settings" on this page and save: both sides must match.
acct-test = Test connection
acct-test-fix = How to fix:
acct-edit-settings = Edit settings
acct-keep-blank = Leave empty to keep it
acct-key-keep-hint = Leave empty to keep it; after a change the old key still decrypts for a while
acct-rules = Customer-service message rules (change them here when WeChat changes its rules)
acct-window-hours = Reply window after a follower's message (hours)
acct-quota-after-message = Messages allowed in that window
acct-event-window = Reply window after a menu click, follow or scan (seconds)
acct-quota-after-event = Messages allowed in that window
acct-groups = Groups serving this account
acct-no-groups = No groups yet
acct-trigger = Conversation trigger
acct-trigger-hint = What a follower sends to start a conversation with an agent (enter the queue); until then auto-replies answer.
acct-trigger-mode = Trigger
acct-trigger-any = Any message (default)
acct-trigger-keywords = Keywords
acct-trigger-menu = Menu click
acct-keywords = Keywords (separated by commas; a follower message containing any of them starts a conversation)
acct-menu-key = Menu KEY (the key of a "click" button in the custom menu)
acct-menu-key-example = e.g. KEFU
acct-trigger-save = Save trigger
acct-added = Official account added. Enter the server URL below in the WeChat Official Accounts Platform under Settings and Development → Basic configuration → Server configuration
acct-edit-title = Official account { $name }
acct-secret-saved = Saved { $masked }; leave empty to keep it
acct-saved = Official account settings saved
acct-keyword-too-long = Each keyword can be at most 20 characters
acct-too-many-keywords = At most 50 keywords
acct-menu-key-too-long = The menu KEY can be at most 128 bytes
acct-trigger-required = Choose a conversation trigger
acct-keyword-required = Enter at least one keyword
acct-menu-key-required = Enter the menu KEY
acct-trigger-saved = Conversation trigger saved

## Audit log

audit-actor = By
audit-action = Action
audit-target = Object
audit-before = Before
audit-after = After
audit-none = No entries match
audit-limit = Shows the latest 500 entries at most.
audit-bad-date = Invalid date: { $date }
audit-date-range = The date is out of range
audit-line = { $field }: { $value }
audit-field-name = Name
audit-field-ident = Group ID
audit-field-phone = Phone
audit-field-public-name = Name shown to followers
audit-field-public-visible = Shown to followers
audit-field-strategy = Assignment
audit-field-familiar-days = Returning-follower days
audit-field-require-category = Require a category to end a conversation
audit-field-agents-see-queue = Agents can see queue details
audit-field-transfer-timeout-secs = Transfer wait (seconds)
audit-field-queue-expiry-hours = Queue timeout (hours)
audit-field-comfort-every-mins = Queue reassurance every (minutes)
audit-field-requeue-after-mins = Minutes offline before conversations return to the queue
audit-field-sla-secs = First-response target (seconds)
audit-field-username = Username
audit-field-role = Role
audit-field-display-name = Display name
audit-field-real-name = Name
audit-field-groups = Groups
audit-field-status = Status
audit-field-enabled = Enabled
audit-field-timezone = Time zone
audit-field-days = Weekly hours
audit-field-kind = Type
audit-field-start = Start date
audit-field-end = End date
audit-field-spans = Hours
audit-field-reply = Reply
audit-field-template-id = Template ID
audit-field-every-mins = Minimum interval (minutes)
audit-field-app-id = AppID
audit-field-app-secret = AppSecret
audit-field-token = Token
audit-field-aes-key = EncodingAESKey
audit-field-mode = Message encryption mode
audit-field-api-base = WeChat API address
audit-field-secrets-changed = Secrets replaced
audit-field-attempts = Attempts
audit-field-last-attempt = Last attempt
audit-field-simulation = Simulation
audit-field-keyword = Keyword
audit-field-keywords = Keywords
audit-field-question = Question
audit-field-answer = Answer
audit-field-trigger-mode = Conversation trigger
audit-field-menu-key = Menu KEY
audit-field-rules = Reply rules

## Followers

fans-search = OpenID / remark
fans-tag-id = WeChat tag ID
fans-tag-id-example = e.g. 100
fans-subscription = Subscription
fans-subscribed = Following
fans-unsubscribed = Unfollowed
fans-sync = Sync followers: { $account }
fans-total = { $n ->
        [one] 1 follower.
       *[other] { $n } followers.
    } WeChat no longer gives follower nicknames: add a remark and agents will see it; without one a follower shows as "Visitor" plus the last four characters of the OpenID.
fans-follower = Follower
fans-tags = WeChat tags
fans-status = Status
fans-first-seen = First contact
fans-last-seen = Last contact
fans-remark = Remark
fans-remark-placeholder = Add a remark
fans-none = No followers match
fans-pages = Pages
fans-first-page = First
fans-last-page = Last
fans-sync-running = { $account }: syncing followers… { $done } / { $total } done
fans-sync-failed = { $account }: sync failed: { $error }
fans-sync-done = { $account }: sync complete, { $n } followers
fans-remark-too-long = A remark can be at most 30 characters
fans-remark-saved = Remark saved
fans-sync-started = Follower sync started; you can keep working meanwhile
fans-sync-busy = This account is already syncing

## WeChat notifications

notify-heading = WeChat notifications of { $account }
notify-intro = Once an agent gets a binding code in My profile and sends it to this official account from their own WeChat, kefu notifies them with the template message below when a follower is queuing or a conversation message has been unread for more than 3 minutes. Outside work hours only agents who chose "Notify me outside work hours too" are notified.
notify-enabled = Send WeChat notifications
notify-template-id = Template ID
notify-template-id-hint = The template ID from Template messages in the official account's admin
notify-fields = Field mapping (one "field = content" per line; you can use {"{"}type{"}"} {"{"}customer{"}"} {"{"}content{"}"} {"{"}time{"}"})
notify-every = Minimum interval per agent (minutes)
notify-bound = Agents with WeChat bound ({ $n })
notify-none-bound = No agent has bound WeChat yet.
notify-no-account-before = There is no official account yet. Add one under
notify-no-account-after = first.
notify-every-range = The interval must be a whole number of minutes from 1 to 120
notify-template-too-long = The template ID is too long
notify-template-required = Notifications need a template ID (from Template messages in the official account's admin)
notify-line-form = Line { $line } should read "field = content"
notify-line-field = The field name on line { $line } may contain only letters, digits and underscores
notify-saved = Notification settings saved

## Custom menu

menu-heading = Custom menu of { $account }
menu-rules = Up to 3 top-level buttons. Each is a "click" button (the follower gets the reply entered below), a "link" button (opens a web page), or holds up to 5 sub-buttons. Top-level names are at most 16 bytes (about 5 Chinese characters), sub-button names at most 60 bytes (about 20 Chinese characters); a KEY is at most 128 bytes and must be unique. Empty rows are not saved.
menu-never-published = No menu has been published from kefu yet.
menu-last-published = Last published: { $when }.
menu-draft-hint = Saving a draft does not change the menu on WeChat; followers see it after "Publish to WeChat".
menu-trigger-before = The conversation trigger is "Menu click": a follower who clicks the button with KEY
menu-trigger-after = is transferred to an agent.
menu-trigger-unused-before = The menu has no click button with KEY
menu-trigger-unused-after = so followers cannot reach an agent through the menu.
menu-no-trigger = The conversation trigger is not "Menu click", so buttons only send their reply; change it under
menu-trigger-link = Official account settings → Conversation trigger.
menu-top = Top-level button { $n }
menu-name-example = e.g. Contact us
menu-type = Type
menu-type-click-long = Click (sends a reply or transfers to an agent)
menu-type-view-long = Link (opens a web page)
menu-type-parent-long = Sub-menu (fill in the sub-buttons below)
menu-type-click = Click
menu-type-view = Link
menu-key-click = KEY (click buttons)
menu-to-agent = Clicking this button transfers to an agent
menu-url-view = URL (link buttons)
menu-reply-click = Click reply (click buttons, optional)
menu-sub = Sub-button
menu-url = URL
menu-reply = Click reply
menu-sub-field = Sub-button { $n } { $field }
menu-save-draft = Save draft
menu-publish = Publish to WeChat
menu-read-online = Read from WeChat
menu-online = The menu on WeChat
menu-load-confirm = Replace the current draft with the menu on WeChat?
menu-load = Load into draft
menu-raw = Data returned by WeChat
menu-then = then set up the custom menu.
menu-slot-sub = { $at }, sub-button { $n }
menu-slot-top = Top-level button { $n }
menu-subs-need-parent = { $at } has sub-buttons: set its type to "Sub-menu" or clear the sub-buttons
menu-describe-trigger = Click, KEY { $key } (to an agent)
menu-describe-click = Click, KEY { $key }
menu-describe-view = Link { $url }
menu-describe-parent = { $n ->
        [one] 1 sub-button
       *[other] { $n } sub-buttons
    }
menu-cannot-load = { $reason }; the draft cannot be loaded
menu-none-online = This official account has no custom menu on WeChat yet
menu-none-online-kept = This official account has no custom menu on WeChat yet; the draft is unchanged
menu-read-failed = Reading failed: { $reason }
menu-publish-failed = Publishing failed: { $reason }; the draft is saved
menu-pick-account = Choose an official account
menu-draft-saved = Draft saved; followers see it after "Publish to WeChat"
menu-empty = The menu is empty: add at least one button before publishing
menu-published = Menu published to WeChat
menu-loaded = Loaded the menu on WeChat into the draft

## Work hours

plan-mon = Mon
plan-tue = Tue
plan-wed = Wed
plan-thu = Thu
plan-fri = Fri
plan-sat = Sat
plan-sun = Sun
plan-day-workday = Special workday
plan-day-holiday = Holiday
plan-next = Next change: { $next }
plan-precedence = Precedence: holidays > special workdays > weekly hours. A span across midnight (e.g. 22:00-02:00) belongs to the day it starts: Friday 22:00-02:00 is still work hours early on Saturday, even if Saturday is a holiday; no span starts on a holiday.
plan-weekly = Weekly hours
plan-enable = Use work hours
plan-enable-hint = When off, it is always treated as work hours.
plan-timezone = Time zone
plan-rest = Closed
plan-spans-hint = Each day can have several spans separated by commas, e.g. "09:00-12:00, 13:30-18:00"; empty means closed; "22:00-02:00" runs into the next morning; all day is "00:00-24:00".
plan-weekly-save = Save work hours
plan-workdays = Special workdays
plan-workdays-hint = For example a Saturday worked in exchange for a holiday: on these dates the hours here apply instead of the weekly hours.
plan-dates = Dates
plan-spans = Hours
plan-workday-delete-confirm = Delete the special workday "{ $name }"?
plan-no-workdays = No special workdays
plan-workday-add = Add special workday
plan-workday-example = e.g. Make-up workday
plan-holidays = Holidays
plan-holidays-hint = A holiday is outside work hours all day; followers who write get the holiday's auto-reply.
plan-holiday-reply = Holiday auto-reply
plan-holiday-delete-confirm = Delete the holiday "{ $name }"?
plan-no-holidays = No holidays
plan-holiday-add = Add holiday
plan-holiday-example = e.g. National Day
plan-holiday-reply-example = e.g. Our service is closed for the National Day holiday and reopens on 8 October. Leave a message and we will reply as soon as we can.
plan-then = then set the work hours.
plan-date-range = { $from } to { $to }
plan-now-open-always = Now: work hours (work hours are off: always treated as work hours)
plan-now-open = Now: work hours
plan-now-closed = Now: outside work hours
plan-now-holiday = Now: holiday ({ $name })
plan-opens = opens
plan-closes = closes
plan-no-change = No change in the next 400 days
plan-saved = Work hours saved
plan-bad-form = The form is not valid; check it and try again
plan-day-added = { $kind } "{ $name }" added
plan-day-deleted = { $kind } "{ $name }" deleted

## Simulator

sim-intro = The simulator lets you play a follower and send messages and events to the official account. They take exactly the path real WeChat messages take (signature, safe-mode encryption, the message endpoint), and kefu's replies show up here.
sim-needs-account = It needs an official account in simulation mode: its API calls go to the WeChat simulator built into kefu, never to a real official account.
sim-create-account = Create a simulated account
sim-ask-super = Ask a super admin to create a simulated account.
sim-accounts = Simulated accounts
sim-account-name = Simulated account
sim-account-option = { $name } · { $mode }
sim-followers = Simulated followers
sim-not-following = Not following
sim-no-followers = No followers yet
sim-new-follower = A new follower follows the account
sim-chat = Simulated chat
sim-i-am = I am { $name }
sim-input-placeholder = Type a message as the follower, or a menu key
sim-send = Send
sim-act-image = Image
sim-act-location = Location
sim-act-link = Link
sim-act-click = Click menu
sim-act-subscribe = Follow
sim-act-unsubscribe = Unfollow
sim-act-reply = Reply as an agent
sim-act-reply-hint = Sends the text in the box to this follower as a customer-service message, to test the sending path
sim-start = Click "A new follower follows the account" on the left to start.
sim-image-alt = Image
sim-delivery = { $state }: { $reason }
sim-empty = No messages yet. Use the buttons below to send one as the follower.
sim-image = [Image]
sim-voice = [Voice] { $text }
sim-video = [Video]
sim-location = [Location] { $text }
sim-link = [Link] { $text }
sim-subscribed = [Followed the account]
sim-unsubscribed = [Unfollowed]
sim-clicked = [Clicked menu] { $key }
sim-event = [Event] { $event }
sim-unsupported = [Unsupported message type]
sim-account-created = Simulated account created (safe mode)
sim-simulation-only = Only simulation-mode accounts can be used in the simulator
sim-text-required = Enter a message
sim-reply-required = Enter a reply
sim-pick-follower = Choose a simulated follower first
sim-unknown-action = Unknown action
sim-push-failed = Cannot reach this server's message endpoint: { $error }
sim-push-status = The message endpoint answered { $status }: { $body }

## WeChat API errors (src/wechat/api.rs), shown on pages and as delivery failure reasons

acct-wx-known = { $text } (error code { $code })
acct-wx-other = WeChat returned error { $code }: { $message }
acct-wx-http-busy = The WeChat server is unavailable for now (HTTP { $status }); retrying automatically
acct-wx-http = The WeChat API answered HTTP { $status }; check the account's API address setting
acct-wx-network = Cannot reach the WeChat server; retrying automatically
acct-wx-lost = The request was sent but WeChat did not answer (timeout or dropped connection); it is unknown whether the follower got it
acct-wx-throttled = access_token requested too often; retrying automatically
acct-wx-decode = WeChat returned something that cannot be read
acct-wx-db = Internal storage error; retrying automatically
acct-wx-local = The file to send no longer exists or cannot be read
acct-wx-busy = WeChat is busy; retrying automatically
acct-wx-token-invalid = The access_token is invalid or expired
acct-wx-openid-invalid = The follower's OpenID is invalid; the follower may not belong to this official account
acct-wx-appid-invalid = The AppID is invalid; check the AppID in the account settings
acct-wx-secret-wrong = Wrong AppSecret; check or reset it in the WeChat Official Accounts Platform under Settings and Development → Basic configuration
acct-wx-ip-whitelist = This server's IP is not on the official account's IP whitelist; add this server's public IP in the WeChat Official Accounts Platform under Settings and Development → Basic configuration → IP whitelist
acct-wx-token-missing = The access_token is missing
acct-wx-unsubscribed = The follower has unfollowed the official account; cannot send
acct-wx-daily-limit = Today's API call limit is reached; try again tomorrow or contact an admin
acct-wx-window-over = The 48-hour reply window is over: the follower last interacted more than 48 hours ago; wait until they write again
acct-wx-quota-over = The customer-service message limit is reached: you can reply again after the follower writes
acct-wx-bad-data = The data sent is not in the right format
acct-wx-no-permission = The official account has no permission for this API (customer-service messages need a verified service or subscription account)

## Audit log objects and actors (stored summaries stay; their first word is translated for display)

audit-target-user = User
audit-target-group = Group
audit-target-account = Official account
audit-target-follower = Follower
audit-target-super = Super admin
audit-shell = Command line

# What an audit row is about, as stored (db::audit::about): drawn in the
# reader's language.
audit-t-user = User { $name }
audit-t-group = Group { $name }
audit-t-account = Official account { $name }
audit-t-follower = Follower { $name }
audit-t-super = Super admin { $name }
audit-t-login = Sign-in name { $name }
audit-t-login-disabled = Sign-in name { $name } (disabled)
audit-t-agent-no = Agent { $name }
audit-t-faq = FAQ { $name }
audit-t-keyword = Keyword reply { $name }
audit-t-category = Category { $name }
audit-t-tag = Conversation tag { $name }
audit-t-kb = Knowledge base { $name }
audit-t-work-hours = Work hours of official account { $name }
audit-t-plan-day = { $kind } “{ $day }” of official account { $name }
audit-t-group-tree = { $tree } of group { $name } ({ $n ->
    [one] 1 node
   *[other] { $n } nodes
})
audit-reordered = { $what } (reordered)
audit-moved = { $what } (moved)
audit-image = { $what } (image)
audit-enabled = { $what } (enabled)
audit-disabled = { $what } (disabled)
audit-export-report = { $report } { $days }
audit-export-marks = Marks ({ $n ->
    [one] 1 row
   *[other] { $n } rows
})
audit-export-tagged = Tagged conversations ({ $n ->
    [one] 1 row
   *[other] { $n } rows
})
audit-export-messages = Messages { $days } ({ $n ->
    [one] 1 row
   *[other] { $n } rows
})
audit-export-tree = { $tree }, PDF, { $n ->
    [one] 1 row
   *[other] { $n } rows
}
audit-export-conversation = Conversation #{ $id }
audit-export-history = History of follower #{ $id } { $from } to { $to }
audit-export-pdf = { $what }, PDF
audit-plan-weekday = { $day } { $spans }
audit-plain = { $text }
