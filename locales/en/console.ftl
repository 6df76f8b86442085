# The agent console, its chat, lists and side pane, the follower's history,
# Served, Conversation tags, Marks, My replies and the read-only knowledge base / FAQ pages.


# The chat
console-chat-back-to-list = Back to list
console-served-by = Served by { $name }
console-budget-hint = WeChat reply budget: a limited number of replies within 48 hours of the follower's last message
console-budget-left = { $n ->
    [one] { $time } left · 1 reply
   *[other] { $time } left · { $n } replies
}
console-budget-none = Cannot reply
console-accept = Accept
console-reopen = Start a new conversation
console-more-actions = More actions
console-remove = Remove from queue
console-remove-confirm = Remove this customer from the queue?
console-transfer = Transfer
console-end = End
console-survey = Ask for a rating
console-mark = Mark
console-tag = Tag
console-history = History
console-profile = Profile
console-recent-images = Recent images
console-note = Internal note
console-emoji = Emoji
console-send-image = Send image
console-send-image-hint = Send an image (or paste or drop one)
console-image-button = Img
console-enter-hint = Enter sends, Ctrl+Enter starts a new line
console-reply-placeholder = Type a reply…
console-reply-label = Reply
console-send = Send
console-note-free = Internal notes do not use the WeChat reply budget
console-reply-unavailable = Reply (unavailable)
console-cannot-reply = Cannot reply: { $reason }
console-queued-hint = This customer is waiting in the queue: accept to reply.
console-ended = The conversation has ended.
console-ended-reopen = {" "}Start a new conversation to continue.
console-held-by = { $name } is serving this conversation: only they can reply.
console-transfer-pending = Transfer to { $name } requested, waiting for them to accept ({ $secs } s left)
console-transfer-title = Transfer conversation
console-transfer-to = Transfer to
console-choose = Choose…
console-transfer-agents = Agents of this group (they must accept)
console-transfer-agent = { $name } ({ $status })
console-transfer-groups = Other groups (joins their queue)
console-transfer-note = Note
console-transfer-note-example = e.g. Customer wants a refund, order number…
console-end-title = End conversation
console-end-categories-required = Categories (choose at least one)
console-end-categories-optional = Categories (optional)
console-end-no-categories = This group requires a category, but none are set up. Please contact an admin.
console-end-need-category = Choose at least one category
console-end-remark = Remark
console-mark-title = Mark conversation
console-mark-note = Follow-up
console-mark-example = e.g. Call back tomorrow about the delivery
console-tag-title = Add a conversation tag
console-tag-none = No conversation tags yet: ask an admin to add them under Categories & tags.
console-tag-whole = Tags the whole conversation (right-click a message to tag only that message)
console-tag-remark = Remark
console-note-private = Only agents see it: it is not sent to the follower.
console-note-save = Save note
console-note-head = Internal note · { $author } (not shown to the follower)

# Rows of the timeline
console-image-alt = Image
console-voice-download = Download voice
console-voice-recognition = Transcription: { $text }
console-location = Location
console-lat-lng = Latitude { $lat }, longitude { $lng }
console-view-map = View map
console-unsupported-message = {"["}Message type not supported]
console-retry-now = Retry now
console-resend = Resend
console-ignore = Ignore
console-unknown-caution = WeChat does not guard against duplicates: if the follower did receive it, resending delivers it twice.
console-media-pending = Downloading the file…
console-media-failed = The file could not be downloaded: { $error }
console-delivery-passive = Passive reply
console-delivery-sending = Sending
console-delivery-retrying = Retrying
console-delivery-sent = Delivered
console-delivery-failed = Failed
console-delivery-unknown = Outcome unknown
console-delivery-ignored = Outcome unknown (ignored)
console-auto-reply = Automatic reply

# Steps of a conversation in the timeline (the words of the PDF transcript)
console-step-agent = Agent
console-step-open = Conversation started
console-step-route = Assigned to { $to }
console-step-accept = { $actor } accepted the conversation
console-step-transfer = Transfer: { $actor } → { $to }
console-step-back-to-queue = { $actor }'s conversation went back to the queue
console-step-transfer-group = { $actor } transferred it to { $group }
console-step-end = { $actor } ended the conversation
console-step-timeout = The conversation timed out
console-step-abandon = The customer left the queue
console-step-expire = The queue timed out: conversation ended
console-step-remove = { $actor } removed the conversation
console-step-note = {" "}({ $note })
console-step-categories = , categories: { $list }
console-step-remark = , remark: { $remark }
console-list-separator = {", "}

# Answers to actions
console-queue-empty = Nobody is waiting in the queue
console-accepted-many = { $n ->
    [one] Accepted 1 customer
   *[other] Accepted { $n } customers
}
console-resent = Sent again
console-ignored = Ignored: it will not be resent
console-retrying = Retrying
console-transfer-note-too-long = The note can be at most 200 characters
console-transfer-choose = Choose whom to transfer to
console-transferred-away = The conversation went to another group: its agents will take it.
console-transfer-declined = Transfer declined
console-removed = Removed from the queue
console-marked = Marked: follow it up under Marks
console-tag-choose = Choose a tag
console-tagged = Tag added
console-status-unknown = Unknown status
console-auto-accept-invalid = The auto-accept limit must be 10, 20, 30, 40 or 50
console-status-set = Status set to { $status }
console-survey-denied = Only the agent serving this conversation can ask for a rating
console-survey-not-sent = Rating request not sent: { $why }
console-date-format = Dates are written like 2026-01-31
console-date-order = The start date cannot be after the end date
console-upload-incomplete = The upload was incomplete, please try again
console-upload-choose = Choose an image
console-upload-type = Only JPG, PNG or GIF images can be sent
console-upload-denied = Only the agent serving this conversation can reply
console-uploads-none = No images uploaded yet

# The page: status bar, panes, lists
console-status-bar = Reception status
console-status = Status
console-auto-accept = Auto-accept
console-auto-accept-hint = Auto-accept: while you are online, conversations are assigned to you up to the limit; when off, you accept from the queue yourself
console-auto-accept-limit = Auto-accept limit
console-auto-accept-n = Up to { $n }
console-pane-list = Customer list
console-pane-chat = Chat
console-pick-chat = Pick a conversation to start serving
console-follower-elsewhere = This customer's conversations are not in your groups, so they cannot be opened here.
console-no-group-super-1 = Agents serve customers through groups. Use
console-no-group-super-2 = to add groups and
console-no-group-super-3 = to put agents in them.
console-no-group = You are in no group yet. Ask an admin to add you to a group to start serving customers.
console-enable-notifications = Turn on desktop notifications
console-unread = Unread messages
console-queued-count = Waiting in the queue
console-transfer-request-2 = asks to transfer
console-transfer-request-3 = to you
console-transfer-request-note = : { $note }
console-transfer-request-left = (valid for { $secs } s)
console-transfer-accept = Accept
console-transfer-decline = Decline
console-list-active = In conversation ({ $n })
console-only-mine = Only mine
console-no-active = No conversations
console-list-queued = Queue ({ $n })
console-no-queued = Nobody is waiting
console-queue-hidden = { $n ->
    [one] 1 customer is waiting
   *[other] { $n } customers are waiting
}
console-accept-next = Accept the next one
console-queue-more = { $n } more waiting (the first { $shown } are shown, in order)
console-accept-selected = Accept selected
console-list-ended-today = Ended today ({ $n })
console-list-recent = Recent ({ $n })
console-no-recent = No conversations ended in the last 7 days
console-pick = Select { $name }
console-vip = VIP customer
console-item-source = Source: { $account } · { $source }
console-item-first-contact = First contact: { $time }
console-visitor = Visitor { $tail }
console-preview-image = {"["}Image]
console-preview-voice = {"["}Voice]
console-preview-video = {"["}Video]
console-preview-location = {"["}Location]
console-preview-link = {"["}Link]
console-preview-message = {"["}Message]
console-source-message = Official account message
console-source-scene = Followed via { $scene }
console-pager = Pages
console-first-page = First
console-last-page = Last

# The side pane
console-side-title = Customer profile
console-side-empty = Pick a conversation to see the customer's profile and quick replies
console-side-back = Back to chat
console-side-saved = Profile saved
console-side-account = Official account
console-side-scene = Followed via
console-first-contact = First contact
console-side-last-contact = Last contact
console-side-served-by = Served by
console-side-remark = Remark name
console-side-labels = Note labels (comma-separated)
console-side-vip = VIP customer (first in the queue)
console-side-owner = Owner
console-side-save = Save profile
console-side-remark-too-long = The remark name can be at most 30 characters
console-side-labels-too-long = Note labels can be at most 200 characters in all
console-side-owner-missing = That owner does not exist
console-side-owner-outside = The owner must be a member of the follower's group
console-today = Today's work
console-today-conversations = Conversations
console-today-rank = , rank
console-today-followers = Customers
console-today-followers-unit = served
console-today-replies = Replies
console-today-replies-unit = sent
console-quick-replies = Quick replies
console-loading = Loading…

# WeChat's classic faces (their names in the emoji picker and the chat)
console-face-smile = Smile
console-face-grimace = Grimace
console-face-drool = Drool
console-face-stare = Blank stare
console-face-cool = Cool
console-face-tears = Tears
console-face-shy = Shy
console-face-silent = Silent
console-face-sleep = Sleep
console-face-cry = Cry
console-face-awkward = Awkward
console-face-angry = Angry
console-face-tongue = Cheeky
console-face-grin = Grin
console-face-surprised = Surprised
console-face-sad = Sad
console-face-happy = Happy
console-face-eye-roll = Eye roll
console-face-sweat = Sweat
console-face-scared = Scared
console-face-applause = Applause
console-face-thumbs-up = Thumbs up
console-face-thumbs-down = Thumbs down
console-face-handshake = Handshake
console-face-victory = Victory
console-face-ok = OK
console-face-rose = Rose
console-face-heart = Heart
console-face-hug = Hug
console-face-sun = Sun

# A follower's history
history-page-title = History
history-title = History of { $name }
history-from = From
history-to = To
history-query = Show
history-started = Started
history-state = Status
history-agent = Agent
history-categories = Categories
history-survey = Rating
history-older = Older messages ›
history-newest = Newest messages ›
history-empty = No messages in this period

# 标注 (Marks)
marks-title = Marks
marks-filter = Filter
marks-follower = Follower
marks-note = Note
marks-agent = Marked by
marks-time = Marked at
marks-state = Status
marks-handled = Handled
marks-open = Open
marks-reopen = Reopen
marks-handle = Mark handled
marks-delete-confirm = Delete this mark?
marks-empty = No marked conversations. Click Mark in a conversation to keep it here for follow-up.
marks-handled-done = Marked as handled
marks-deleted = Mark deleted

# Quick replies, 我的回复 and the read-only knowledge base and FAQ
replies-search = Search quick replies
replies-kb-none = Your groups have no knowledge base yet
replies-kb-no-match = Nothing for “{ $q }” in the knowledge base
replies-insert = Insert
replies-mine = My replies
replies-manage = Manage
replies-mine-none = No replies of your own yet: click Manage to add greetings, closings and phrases you use often
replies-mine-no-match = Nothing for “{ $q }” in my replies
replies-group-count = { $name } ({ $n })
replies-faq-intro = Your groups' FAQ: followers reply with a number or a keyword to read an answer themselves.
replies-kb-intro = Your groups' knowledge base: insert or send its entries from the quick replies beside a conversation.
replies-read-only = {" "}Read only.
replies-keywords = Keywords: { $list }
replies-faq-empty = Your groups have no FAQ yet
replies-kb-empty = Your groups have no knowledge base yet
replies-intro = Only you see and use these. Insert or send them from the quick replies beside a conversation.
replies-group-delete-confirm = Delete the group “{ $name }” and its replies?
replies-group-delete = Delete group
replies-none = No replies yet
replies-add-to = Add to “{ $name }”
replies-body-example = e.g. Hello, happy to help
replies-add = Add reply
replies-group-new = New group
replies-group-name = Group name
replies-group-example = e.g. Phrases, Greetings, Closings
replies-kb-choose = Choose a knowledge base entry to send
replies-group-name-missing = Enter a group name
replies-group-name-too-long = The group name can be at most 32 characters
replies-group-choose = Choose a group
replies-body-missing = Enter the reply
replies-body-too-long = The reply can be at most 2000 characters
replies-added = Added
replies-deleted = Deleted
replies-group-deleted = Group deleted

# 已接待 (Served)
served-follower = Follower
served-follower-hint = Remark, WeChat remark or OpenID
served-category = Category
served-agent = Agent
served-myself = Myself
served-summary = { $n ->
        [one] 1 conversation
       *[other] { $n } conversations
    } ended by { $name }, newest first. The dates filter by the end time.
served-group = Group
served-opened = Started
served-ended = Ended
served-messages = Messages
served-view = View
served-empty = No matching conversations
served-category-invalid = Invalid category
served-agent-invalid = Invalid agent

# 会话标签 (Conversation tags)
tagged-title = Conversation tags
tagged-tag = Tag
tagged-remark = Remark
tagged-summary = { $n ->
    [one] 1 row.
   *[other] { $n } rows.
} A parent tag includes its child tags.
tagged-message = Message
tagged-whole = Whole conversation
tagged-open = Open
tagged-empty = No matching tags
tagged-export-too-many = { $n } rows: more than one export holds ({ $max }). Narrow the dates or pick a tag.
