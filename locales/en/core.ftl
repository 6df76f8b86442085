# The frame of every page, sign-in, first-run setup, errors, profile and the
# messages assets/app.js shows.

brand-name = Customer Service

nav-menu = Menu
nav-main = Main navigation
nav-console = Conversations
nav-kb = Knowledge base
nav-faq = FAQ
nav-served = Served
nav-tagged = Conversation tags
nav-marks = Marks
nav-settings = Settings
nav-users = Users
nav-groups = Groups
nav-accounts = Official accounts
nav-menu-editor = Custom menu
nav-notify = Notifications
nav-timeplan = Work hours
nav-taxonomy = Categories & tags
nav-automation = Automatic replies
nav-manage = Manage
nav-followers = Followers
nav-messages = Messages
nav-audit = Audit log
nav-simulator = Simulator
nav-reports = Reports
nav-me = My profile
nav-logout = Sign out

error-back-console = Back to conversations
error-back-home = Back to the start page

error-not-found = Page not found
error-unauthorized = Please sign in first
error-forbidden = You are not allowed to open this page
error-csrf = The page has expired or the request came from elsewhere. Reload the page and try again
error-too-large = What you sent is too large
error-internal = Internal server error. Please try again later
error-query-too-long = Query string too long

form-control-chars = What you sent contains control characters that are not allowed (such as NUL or a lone carriage return). Remove them and try again
form-invalid = The form is not valid. Check it and try again
form-query-invalid = The search conditions are not valid. Check them and try again

auth-bad-credentials = Wrong username or password
auth-disabled = This account is disabled. Contact your administrator
auth-locked = Too many failed sign-ins: this account is locked for this IP. Try again in { $minutes } minutes
auth-too-fast = Too many sign-in attempts from this IP. Try again in { $seconds } seconds
auth-busy = Too many sign-ins at once; the server is busy. Try again shortly
auth-password-short = The password needs at least 8 characters
auth-password-long = The password may have at most 128 characters
auth-password-mismatch = The two passwords differ

login-missing = Enter your username and password
login-welcome-back = Signed in. Last sign-in: { $when }, IP { $ip }
login-welcome-first = Signed in. This is your first sign-in.
logout-done = You are signed out

setup-wrong-code = Wrong setup code. It is shown in the terminal or log where kefu started, and saved as setup-code.txt in the data folder.
setup-done-signed-in = Super admin created and signed in. Next: add groups and official accounts under Settings.
setup-done-login = Super admin created. Please sign in

me-profile-saved = Profile saved
me-password-changed = Password changed; sign-ins on other devices were ended
me-theme-unknown = Unknown theme
me-bind-code-made = Binding code created, valid for 10 minutes
me-unbound = WeChat unbound
me-offhours-on = You will be notified outside work hours too
me-offhours-off = You will no longer be notified outside work hours

budget-never-interacted = This follower has never interacted with the official account: WeChat does not allow sending them customer-service messages
budget-quota-spent = The reply quota after this interaction is used up ({ $after_message } after a message, { $after_event } after a menu click, follow or scan); it returns when the follower writes again
budget-window-closed = The follower's last message is over { $hours } hours old (or the { $secs }-second window after a menu click has passed): WeChat allows no more customer-service messages until the follower writes again

login-title = Sign in
login-username = Username
login-password = Password
login-submit = Sign in
login-idle-hint = You are signed out after 24 hours without any activity.

setup-title = First-run setup
setup-intro = Welcome to kefu. Create the super admin account; after that everyone signs in.
setup-code = Setup code
setup-code-example = e.g. K7QM-3XPA-9TRB
setup-code-hint = Shown in the terminal or log when kefu starts, and saved as setup-code.txt in the data folder.
setup-username = Username
setup-username-hint = Letters, digits and . _ - @
setup-display-name = Display name
setup-display-name-hint = The name shown in the console
setup-password = Password
setup-confirm = Confirm password
setup-submit = Create super admin

me-profile = Profile
me-username = Username
me-role = Role
me-groups = Groups
me-no-group = In no group
me-display-name = Display name
me-real-name = Full name
me-phone = Mobile
me-password = Change password
me-current-password = Current password
me-new-password = New password
me-confirm-password = Confirm new password
me-password-submit = Change password
me-theme = Theme
me-theme-hint = The theme is saved in your account and follows you to other devices.
me-language = Language
me-language-label = Interface language
me-language-hint = Saved in your account. Texts sent to followers are not translated: they stay as you wrote them.
me-locale-unknown = Unknown interface language
me-locale-saved = The interface is now in English
me-wechat-notify = WeChat notifications
me-wechat-bound = Your WeChat is bound to the official account “{ $account }”: new queued customers and messages unread for over 3 minutes are sent to you as template messages.
me-notify-offhours = Notify me outside work hours too
me-unbind = Unbind
me-bind-code-before = From your WeChat, send this binding code to the official account:
me-bind-code-after = (valid until { $until }).
me-bind-hint = Once bound, you get new-message notifications in WeChat when you are away from the computer.
me-bind-get-code = Get a binding code
me-auto-reply = Agent auto-reply
me-auto-reply-hint = While you are not online (busy, away or offline), customers in conversation with you get the auto-reply you set.
me-auto-reply-link = Set the agent auto-reply
me-recent-logins = Recent sign-ins
me-login-time = Time
me-login-browser = Browser

common-save = Save
common-cancel = Cancel
common-delete = Delete
common-edit = Edit
common-add = Add
common-search = Search
common-reset = Reset
common-back = Back
common-close = Close
common-confirm = OK
common-yes = Yes
common-no = No
common-on = On
common-off = Off
common-enabled = Enabled
common-disabled = Disabled
common-actions = Actions
common-all = All
common-none = None
common-name = Name
common-time = Time
common-from = From
common-to = To
common-prev-page = Previous
common-next-page = Next
common-page-of = Page { $page }
common-export-xlsx = Export Excel
common-export-pdf = Export PDF
common-copy = Copy
common-password-min = At least 8 characters
common-rows = { $n ->
    [one] { $n } row
   *[other] { $n } rows
}

js-notify-title = kefu Customer Service
js-new-message = New message
js-open-chat-first = Open a conversation you are serving first
js-notify-requested = Notification permission requested
js-copied = Copied: { $x }
js-accept = Accept
js-copy-name = Copy name
js-copy-id = Copy ID
js-tag-message = Tag this message
js-tag-this = Tag this message: { $x }
js-media-message = [media message]
js-copy-text = Copy text
js-images-only = Only images can be sent
js-image-too-large = Images must be at most 10 MB
js-image-network = Network error: the image was not sent
js-network-failed = Network error: check your connection and try again
