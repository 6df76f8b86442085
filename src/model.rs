//! Domain types shared by every layer: typed ids and the enums that are written
//! to the database (each with a matching `CHECK` constraint in `schema.sql`).
//! No I/O here.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! id_type {
    ($name:ident) => {
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl rusqlite::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                self.0.to_sql()
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(
                v: rusqlite::types::ValueRef<'_>,
            ) -> rusqlite::types::FromSqlResult<Self> {
                i64::column_result(v).map($name)
            }
        }
    };
}

id_type!(UserId);
id_type!(GroupId);

/// Declares a string-backed enum stored in SQLite: `as_str` is what the
/// database holds, `label` what a user reads, from the message catalogue
/// (`enum-<Type>-<stored value>` in `locales/*/enums.ftl`).
macro_rules! db_enum {
    ($name:ident { $($variant:ident => $db:literal;)+ }) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $db),+ }
            }

            /// The catalogue key of the label.
            pub fn label_key(self) -> &'static str {
                match self { $($name::$variant => concat!("enum-", stringify!($name), "-", $db)),+ }
            }

            /// The label in the current language.
            pub fn label(self) -> String {
                crate::i18n::t(self.label_key())
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($db => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.label())
            }
        }

        impl rusqlite::ToSql for $name {
            fn to_sql(&self) -> rusqlite::Result<rusqlite::types::ToSqlOutput<'_>> {
                Ok(self.as_str().into())
            }
        }

        impl rusqlite::types::FromSql for $name {
            fn column_result(v: rusqlite::types::ValueRef<'_>) -> rusqlite::types::FromSqlResult<Self> {
                let s = v.as_str()?;
                $name::parse(s).ok_or_else(|| rusqlite::types::FromSqlError::Other(
                    format!("unknown {} {s:?}", stringify!($name)).into()))
            }
        }
    };
}

db_enum!(Role {
    Agent => "agent";
    Admin => "admin";
    SuperAdmin => "super_admin";
});

db_enum!(UserStatus {
    Active => "active";
    Disabled => "disabled";
});

db_enum!(Theme {
    Light => "light";
    Dark => "dark";
});

impl Role {
    /// Rank used for "at least this role" checks.
    pub fn rank(self) -> u8 {
        match self {
            Role::Agent => 1,
            Role::Admin => 2,
            Role::SuperAdmin => 3,
        }
    }

    pub fn at_least(self, other: Role) -> bool {
        self.rank() >= other.rank()
    }

    /// The name used on the command line (`--role super-admin`).
    pub fn cli_name(self) -> &'static str {
        match self {
            Role::Agent => "agent",
            Role::Admin => "admin",
            Role::SuperAdmin => "super-admin",
        }
    }
}

/// A person who can log in.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub real_name: String,
    pub phone: String,
    pub role: Role,
    pub status: UserStatus,
    pub theme: Theme,
    pub created_by: Option<String>,
    pub created_at: jiff::Timestamp,
    /// The interface language the user chose.
    pub locale: crate::i18n::Lang,
}

/// A team of agents (客服组).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Group {
    pub id: GroupId,
    pub name: String,
    pub ident: String,
    pub phone: String,
    pub public_name: String,
    pub public_visible: bool,
    pub created_by: Option<String>,
    pub created_at: jiff::Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_round_trip_their_database_text() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(*r));
        }
        assert_eq!(Role::parse("root"), None);
        assert!(Role::SuperAdmin.at_least(Role::Admin));
        assert!(!Role::Agent.at_least(Role::Admin));
        assert_eq!(Role::Admin.label(), "管理员");
    }
}

db_enum!(AuditAction {
    Setup => "setup";
    Login => "login";
    LoginFailed => "login_failed";
    Logout => "logout";
    UserCreate => "user_create";
    UserUpdate => "user_update";
    UserEnable => "user_enable";
    UserDisable => "user_disable";
    UserResetPassword => "user_reset_password";
    UserGroups => "user_groups";
    GroupCreate => "group_create";
    GroupUpdate => "group_update";
    GroupDelete => "group_delete";
    ProfileUpdate => "profile_update";
    PasswordChange => "password_change";
    ThemeChange => "theme_change";
    LocaleChange => "locale_change";
    AccountCreate => "account_create";
    AccountUpdate => "account_update";
    FollowerSync => "follower_sync";
    FollowerRemark => "follower_remark";
    CategoryCreate => "category_create";
    CategoryUpdate => "category_update";
    CategoryDelete => "category_delete";
    TagCreate => "tag_create";
    TagUpdate => "tag_update";
    TagDelete => "tag_delete";
    KbCreate => "kb_create";
    KbUpdate => "kb_update";
    KbDelete => "kb_delete";
    GroupSettings => "group_settings";
    AccountTrigger => "account_trigger";
    AutoRepliesUpdate => "auto_replies_update";
    KeywordReplyCreate => "keyword_reply_create";
    KeywordReplyUpdate => "keyword_reply_update";
    KeywordReplyDelete => "keyword_reply_delete";
    FaqCreate => "faq_create";
    FaqUpdate => "faq_update";
    FaqDelete => "faq_delete";
    TimeoutsUpdate => "timeouts_update";
    AgentAutoReply => "agent_auto_reply";
    MenuDraft => "menu_draft";
    MenuPublish => "menu_publish";
    MenuLoad => "menu_load";
    NotifySettings => "notify_settings";
    TimePlanUpdate => "timeplan_update";
    PlanDayCreate => "plan_day_create";
    PlanDayDelete => "plan_day_delete";
    ReportExport => "report_export";
    TranscriptExport => "transcript_export";
});

id_type!(AccountId);
id_type!(FollowerId);
id_type!(MessageId);
id_type!(OutboxId);
id_type!(MediaId);

db_enum!(AccountMode {
    Plain => "plain";
    Compat => "compat";
    Safe => "safe";
});

db_enum!(Direction {
    In => "in";
    Out => "out";
});

db_enum!(MessageKind {
    Text => "text";
    Image => "image";
    Voice => "voice";
    Video => "video";
    ShortVideo => "shortvideo";
    Location => "location";
    Link => "link";
    Event => "event";
    Unknown => "unknown";
});

// `sending` is committed before the HTTP call; `unknown`: the call went out
// but its answer was lost (never resent automatically); `ignored`: an unknown
// outcome the agent chose not to resend.
db_enum!(OutboxState {
    Pending => "pending";
    Sending => "sending";
    Sent => "sent";
    Failed => "failed";
    Unknown => "unknown";
    Ignored => "ignored";
});

db_enum!(OutboundKind {
    Text => "text";
    Image => "image";
    Voice => "voice";
    Msgmenu => "msgmenu";
});

db_enum!(MediaState {
    Pending => "pending";
    Stored => "stored";
    Failed => "failed";
});

db_enum!(MediaKind {
    Image => "image";
    Voice => "voice";
    Video => "video";
    Thumb => "thumb";
});

db_enum!(InteractionKind {
    Message => "message";
    Event => "event";
});

db_enum!(AgentStatus {
    Online => "online";
    Busy => "busy";
    Away => "away";
    Offline => "offline";
});

db_enum!(RoutingStrategy {
    RoundRobin => "round_robin";
    LeastBusy => "least_busy";
    Random => "random";
});

// What opens a conversation for an account (B2), stored in `account_settings`.
db_enum!(TriggerMode {
    AnyMessage => "any";
    Keywords => "keywords";
    MenuKey => "menu";
});

db_enum!(ConversationState {
    Queued => "queued";
    Active => "active";
    Ended => "ended";
});

id_type!(ConversationId);

// Where a request to hand a conversation to another agent stands (B7).
db_enum!(TransferState {
    Pending => "pending";
    Accepted => "accepted";
    Declined => "declined";
    Expired => "expired";
    Cancelled => "cancelled";
});

// The timeout actions of C8, each done at most once per silence.
db_enum!(TimeoutKind {
    AgentComfort => "agent_comfort";
    AgentRemind => "agent_remind";
    AgentTransfer => "agent_transfer";
    FollowerPrompt => "follower_prompt";
    FollowerClose => "follower_close";
    Reception => "reception";
});
