# Exports — PDF transcripts and lists, workbooks and their file names, drawn in
# the language of whoever exports (issue 13). Conversation steps use the
# console's console-step-* words.

## Who said it, in a transcript
exp-who-follower = Customer
exp-who-agent = Agent { $name }
exp-who-auto = Automatic reply
exp-who-note = [Internal note] { $name }
exp-who-step = Conversation

## The header of a PDF
exp-field = { $name }: { $value }
exp-field-account = Official account
exp-field-follower = Customer
exp-field-agents = Agents
exp-field-period = Period
exp-field-exported-at = Exported at
exp-field-exported-by = Exported by
exp-field-filters = Filters
exp-field-count = Rows
exp-exporter = { $name } ({ $username })
exp-none = None
exp-all = All
exp-yes = Yes
exp-no = No
exp-rows = { $n ->
    [one] { $n } row
   *[other] { $n } rows
}
exp-filter-separator = {"; "}
exp-list-item = { $n }. { $head }
exp-page-foot = Page { $n } of { $total }
exp-no-messages = No messages in this period.
exp-no-rows = No records match the filters.
exp-image-unshown = [Image cannot be shown]

## A transcript's period and title
exp-period = { $from } to { $to }
exp-ongoing = ongoing
exp-earliest = earliest
exp-latest = latest
exp-title-conversation = Conversation #{ $id }
exp-title-history = Message history
exp-follower-remark = { $name } ({ $remark })

## Messages that are not plain text
exp-with-reason = { $label } ({ $reason })
exp-image = [Image]
exp-voice = [Voice]
exp-video = [Video]
exp-location = [Location] { $label } (latitude { $lat }, longitude { $lng })
exp-link = [Link] { $title }
exp-unsupported = [Unsupported message]
exp-face = [Emoji]
exp-no-recognition = no recognised text
exp-unnamed-place = Unnamed place
exp-send-failed = (sending failed: { $reason })
exp-not-downloaded = not downloaded yet
exp-file-missing = file missing

## Marks and tagged conversations
exp-marks-title = Marks
exp-marks-follower = Customer
exp-marks-agent = Marked by
exp-marks-note = Note
exp-marks-created = Marked at
exp-marks-handled = Handled at
exp-marks-state = State
exp-tagged-sheet = Tagged conversations
exp-tagged-title = Tagged conversations
exp-tagged-tag = Tag
exp-tagged-follower = Customer
exp-tagged-message = Tagged message
exp-tagged-whole = Whole conversation
exp-tagged-remark = Remark
exp-tagged-agent = Agent
exp-tagged-time = Time
exp-tagged-from = From
exp-tagged-to = To
exp-tagged-search-follower = Follower

## Messages
exp-msgs-sheet = Messages
exp-msgs-title = Messages ({ $n } in all)
exp-msgs-group = Group
exp-msgs-sender = Sender
exp-msgs-role = Role
exp-msgs-content = Message
exp-msgs-time = Time
exp-msgs-filter-days = Dates
exp-msgs-filter-search = Search
exp-msgs-filter-role = Role
exp-day = { $day }
exp-days = { $from } to { $to }

## Knowledge base and FAQ
exp-kb-new-tag = NEW tag

## File names (without the extension)
exp-file-days = { $from }_to_{ $to }
exp-file-conversation = conversation-{ $id }-{ $day }
exp-file-history = history-{ $name }
exp-file-history-days = history-{ $name }-{ $from }_to_{ $to }
exp-file-marks = marks
exp-file-tagged = tagged-conversations
exp-file-messages-days = messages_{ $days }
exp-file-workload = workload_{ $days }
exp-file-categories = categories_{ $days }
exp-file-hourly = by-hour_{ $days }
exp-file-quality = quality-details_{ $days }
exp-file-service = service-level_{ $days }
