# Messages the server's checks give (accounts, work hours, menus, groups).

channel-name-required = Enter the official account name (at most 64 characters)
channel-appid-invalid = The AppID is not valid (it looks like wx0123456789abcdef)
channel-secret-required = Enter the AppSecret
channel-secret-invalid = The AppSecret is not valid
channel-token-invalid = The Token must be 3–32 letters or digits
channel-mode-required = Choose the message encryption mode
channel-aes-invalid = The EncodingAESKey must be 43 letters and digits (generated under Basic configuration in the WeChat Official Accounts Platform)
channel-aes-required = Compatible and safe mode need the EncodingAESKey
channel-api-base-invalid = The API address must start with https:// (http:// only for this machine)
channel-rules-range = Reply window and quota out of range: window 1–720 hours, quota 0–1000, menu window 1–172800 seconds
channel-groups-required = Choose at least one group to serve this official account
channel-group-missing = The chosen group does not exist
channel-appid-taken = The AppID { $app_id } is already bound
channel-test-ok = Connected: WeChat issued an access_token
channel-test-failed = Connection failed: { $reason }
channel-reason-40001 = Wrong AppSecret, or it belongs to another official account than this AppID
channel-reason-41002 = AppID missing
channel-reason-41004 = AppSecret missing
channel-reason-coded = { $reason } (error code { $code })
channel-fix-whitelist = In the WeChat Official Accounts Platform, add this server's public outgoing IP under Settings & Development → Basic configuration → IP whitelist (run curl ifconfig.me on this machine to see it), wait about 10 minutes, then click Test connection again.
channel-fix-confirm = The account's administrator gets a confirmation request in WeChat: confirm it, then test again. Once this server's IP is on the IP whitelist no confirmation is needed.
channel-fix-secret = Check the AppSecret under Settings & Development → Basic configuration (resetting it invalidates the old one at once) and that it belongs to the same account as the AppID; enter the right AppSecret under Edit settings and save.
channel-fix-appid = Check the AppID (developer ID): 18 characters starting with wx, shown under Settings & Development → Basic configuration; not the original ID starting with gh_.
channel-fix-quota = Today's access_token quota is used up; try again tomorrow. The call counts are under API permissions in the WeChat Official Accounts Platform.
channel-fix-busy = WeChat is busy; click Test connection again in a moment.
channel-fix-other = Check the account settings against WeChat's list of global return codes.
channel-fix-network = Make sure this server can reach api.weixin.qq.com (firewall, proxy, DNS); if you set an API address under Advanced, check it.
channel-fix-api-base = Check the WeChat API address under Edit settings → Advanced; leave it empty for WeChat's own.
channel-fix-throttled = Wait 15 seconds, then click Test connection again.
channel-fix-log = See the server log.

valid-spans-too-many = { $day }: at most { $max } time spans
valid-span-format = { $day } span “{ $piece }” is not valid: write it like 09:00-18:00
valid-span-range = { $day } span “{ $piece }”: times must lie between 00:00 and 24:00
valid-span-empty = { $day } span “{ $piece }” starts and ends at the same time; for the whole day write 00:00-24:00
valid-timezone = Unknown time zone “{ $name }”: write a name such as Asia/Shanghai
valid-date-required = Enter the { $what }
valid-date-format = { $what } “{ $raw }” is not valid: write it like 2026-10-01
valid-name-required = Enter a name
valid-name-long = The name may have at most { $max } characters
valid-start-date = start date
valid-end-before-start = The end date cannot be before the start date
valid-range-long = The date range may span at most { $max } days
valid-workday-spans = Enter the special workday's hours, e.g. 09:00-18:00
valid-holiday-reply = Enter the holiday auto-reply
valid-holiday-reply-long = The holiday auto-reply may have at most { $max } characters
valid-end-date = end date
plan-kind-workday = Special workday
plan-kind-holiday = Holiday

valid-menu-nested = The sub-button “{ $name }” cannot have sub-buttons of its own
valid-menu-type = The button “{ $name }” is of the type “{ $kind }”; this page edits only click and link buttons
valid-menu-too-many = At most { $max } top-level buttons; there are { $n }
menu-at-top = Top-level button { $n }
valid-menu-no-subs = { $at } has no sub-buttons: add some, or make it a click or link button
valid-menu-subs-too-many = { $at } may have at most { $max } sub-buttons; it has { $n }
menu-at-sub = { $at }, sub-button { $n }
valid-menu-sub-nested = { $at } cannot have sub-buttons of its own
valid-menu-key-twice = The KEY “{ $key }” is used on several buttons: each click button needs its own KEY
valid-menu-no-list = Invalid menu data: the button list is missing
valid-menu-name-missing = { $at } has no name
valid-menu-name-long = { $at }: the name “{ $name }” is too long: at most { $max } bytes ({ $hint })
valid-menu-key-missing = { $at } is a click button: enter its KEY
valid-menu-key-long = { $at }: the KEY is too long: at most { $max } bytes
valid-menu-url-missing = { $at } is a link button: enter its URL
valid-menu-url-invalid = { $at }: the URL “{ $url }” is not valid: it must start with http:// or https:// and have no spaces
valid-menu-url-long = { $at }: the URL is too long: at most { $max } bytes
valid-menu-reply-long = A click reply may have at most { $max } characters; it has { $n }
menu-at-named = { $at } “{ $name }”
menu-hint-top = about 5 Chinese characters
menu-hint-sub = about 20 Chinese characters
menu-type-scancode-push = Scan (push event)
menu-type-scancode-waitmsg = Scan with prompt
menu-type-pic-sysphoto = Take a photo
menu-type-pic-photo-or-album = Photo or album
menu-type-pic-weixin = WeChat album
menu-type-location-select = Send location
menu-type-media = Material message
menu-type-article = Published article
menu-type-miniprogram = Mini program
menu-type-unknown = Unknown

valid-group-members = This group still has { $n } members: move them out before deleting it
valid-group-open = This group still has { $n } open conversations: wait until they end before deleting it
valid-group-past = This group has { $n } past conversations that nobody could look up after deleting it, so it cannot be deleted (rename it or disable its members instead)
valid-group-sole = Only this group serves the official account “{ $accounts }”: give it another group in the account settings first

access-not-your-group = You are not in the group this conversation belongs to
access-queue-hidden = Only admins see the queue in detail; use “Accept next”
access-retry-now = Only the agent serving this conversation or an admin can retry now
access-not-follower-group = You are not in the group this follower belongs to
access-not-account-group = This official account is not served by your groups
access-not-group-admin = You are not an admin of this group
access-messages-admins = Only admins can search messages
access-served-own = You can only see conversations you served
access-agent-not-yours = This agent is not in a group you manage

# The console's refusals (desk, engine::lifecycle).
conv-open-twice = This follower already has an open conversation
conv-missing = The conversation does not exist
conv-ended = The conversation has ended
conv-taken = Another agent has already taken this conversation
conv-transfer-not-holder = Only the agent serving this conversation can transfer it
conv-transfer-self = You cannot transfer a conversation to yourself
conv-end-not-holder = Only the agent serving this conversation can end it
conv-timeout-not-active = Only conversations in progress end on a timeout
conv-queue-only = Only queued conversations can end this way
desk-reply-empty = Type a reply
desk-reply-long = A reply may have at most 2000 characters
desk-resend-only = Only failed messages or messages with an unknown outcome can be resent
desk-ignore-only = Only messages with an unknown outcome can be ignored
desk-not-waiting = This message is not waiting for a retry
desk-note-length = A note needs 1–2000 characters
desk-category-required = Choose at least one category
desk-remark-long = The remark may have at most 500 characters
desk-mark-long = A mark may have at most 500 characters
desk-tag-required = Choose a tag
desk-message-elsewhere = This message does not belong to this conversation
desk-tag-remark-long = A tag remark may have at most 200 characters
desk-transfer-group-only = You can only transfer to agents of this group
desk-transfer-pending = This conversation already has a transfer waiting for an answer
desk-transfer-stale = This transfer request is no longer valid
desk-transfer-same-group = The conversation is already in this group: choose one of its agents
act-reply = reply
act-end = end it
act-transfer = transfer it
act-resend = resend messages
act-ignore = ignore a send outcome
conv-state-refused = This conversation is { $state }: you cannot { $what }
conv-holder-only = Only the agent serving this conversation can { $what }
desk-reopen-yours = You are already serving this follower
desk-reopen-other = Another agent is serving this follower
desk-reopen-queued = This follower is queued: accept them from the queue
desk-reopen-budget = Cannot start a conversation: { $reason }

# The satisfaction survey as the console shows it.
survey-not-sent = Satisfaction survey not sent: { $reason }
survey-sent = Survey sent, waiting for the customer
survey-no-score = no score
survey-score = { $n ->
    [one] { $n } point
   *[other] { $n } points
}
survey-solved = solved
survey-unsolved = not solved
survey-solved-unknown = no answer on solved
survey-summary = Satisfaction: { $score } · { $solved }

# Toasts: drawn in the language of the console that shows them.
toast-transfer-expired = The transfer was not accepted in time; the conversation stays with you
toast-reception-timeout = Reception timeout: a customer was accepted { $mins } minutes ago without a reply
toast-remind = A customer has waited { $secs } seconds for a reply; please answer soon
toast-assigned = A new conversation was assigned to you
toast-transfer-asked = { $name } asks to transfer a conversation to you
toast-transfer-declined = { $name } declined the transfer; the conversation stays with you
toast-transfer-accepted = { $name } accepted the transfer
toast-auto-transfer-in = A conversation left without a reply was transferred to you automatically
toast-auto-transfer-out = You did not reply for { $mins } minutes; the conversation was transferred to another agent

# Texts that background jobs store (notes in a chat, why a reply or a file
# failed, conversation steps): stored as catalogue messages, drawn in the
# language of whoever reads them (i18n::Msg::stored).
budget-pending = { $pending ->
    [one] 1 message is still being sent; after it the reply quota of this interaction is used up until the follower writes again
   *[other] { $pending } messages are still being sent; after them the reply quota of this interaction is used up until the follower writes again
}
budget-spent = The reply quota of this interaction is used up
greeting-kept-for-agent = { $left ->
    [one] Only 1 reply is left in this interaction: kept for the agent
   *[other] Only { $left } replies are left in this interaction: kept for the agent
}
note-auto-not-sent = { $what } not sent: { $why }
auto-name-greeting = Greeting
auto-name-comfort = Comfort message
auto-name-prompt = Reminder
auto-name-closing = Closing message
auto-not-set = No text is set
desk-no-conversation = The conversation does not exist
note-reception-timeout = Reception timeout: no agent reply within { $mins } min of pickup
step-follower-silent = The follower did not reply for { $mins } min: ended automatically
step-agent-offline = The agent was offline for over { $mins } min: back to the queue
step-queue-expired = Queued for over { $hours } h
step-auto-transfer = No agent reply for { $mins } min: transferred automatically
step-reopened = Reopened by the agent
step-follower-left = The follower left the queue
desk-transfer-not-online = That agent is { $status } and cannot take a transfer now
desk-transfer-not-yours = This transfer request is not for you
desk-remove-admins-only = Only admins can remove queued followers
outbox-lost-by-restart = kefu restarted during the send and got no answer from WeChat: the follower may or may not have received it
outbox-unreadable = The message could not be read (written by another version?): not sent
outbox-gone = The account or the follower no longer exists
media-too-large = The file is over { $mb } MB: not saved
media-bad-type = Unsupported file type { $type }
media-disk-failed = Writing to disk failed
tree-parent-missing = The parent folder does not exist
tree-node-missing = The entry does not exist
tree-target-missing = The target folder does not exist
tree-move-into-self = A folder cannot move into itself or one of its subfolders
tax-parent-category-missing = The parent category does not exist
tax-parent-tag-missing = The parent tag does not exist
search-too-long = A search can be at most { $max } characters long
search-nothing-to-find = Enter words, letters or digits to search for

# What kefu writes to an agent's own WeChat (bound in My profile), in the
# language the agent chose.
notify-code-invalid = This binding code is not valid. Get a new one in kefu under My profile.
notify-code-expired = This binding code has expired. Get a new one in kefu under My profile.
notify-bound-reply = Bound! Agent { $name } will get new-message alerts through this official account.
notify-kind-queue = A follower is waiting in the queue
notify-kind-unread = A follower's message has been unread for over 3 minutes
