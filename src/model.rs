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
/// database holds, `label` what a Chinese-speaking user reads.
macro_rules! db_enum {
    ($name:ident { $($variant:ident => $db:literal, $label:literal;)+ }) => {
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $db),+ }
            }

            pub fn label(self) -> &'static str {
                match self { $($name::$variant => $label),+ }
            }

            pub fn parse(s: &str) -> Option<Self> {
                match s { $($db => Some($name::$variant),)+ _ => None }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.label())
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
    Agent => "agent", "普通客服";
    Admin => "admin", "管理员";
    SuperAdmin => "super_admin", "超级管理员";
});

db_enum!(UserStatus {
    Active => "active", "启用";
    Disabled => "disabled", "禁用";
});

db_enum!(Theme {
    Light => "light", "浅色";
    Dark => "dark", "深色";
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
    Setup => "setup", "首次设置";
    Login => "login", "登录";
    LoginFailed => "login_failed", "登录失败";
    Logout => "logout", "退出登录";
    UserCreate => "user_create", "添加用户";
    UserUpdate => "user_update", "修改用户";
    UserEnable => "user_enable", "启用用户";
    UserDisable => "user_disable", "禁用用户";
    UserResetPassword => "user_reset_password", "重置密码";
    UserGroups => "user_groups", "修改所属客服组";
    GroupCreate => "group_create", "添加客服组";
    GroupUpdate => "group_update", "修改客服组信息";
    GroupDelete => "group_delete", "删除客服组";
    ProfileUpdate => "profile_update", "修改个人信息";
    PasswordChange => "password_change", "修改密码";
    ThemeChange => "theme_change", "切换主题";
    AccountCreate => "account_create", "添加公众号";
    AccountUpdate => "account_update", "修改公众号";
    FollowerSync => "follower_sync", "同步粉丝";
    FollowerRemark => "follower_remark", "修改粉丝备注";
    CategoryCreate => "category_create", "添加咨询分类";
    CategoryUpdate => "category_update", "修改咨询分类";
    CategoryDelete => "category_delete", "删除咨询分类";
    TagCreate => "tag_create", "添加会话标签";
    TagUpdate => "tag_update", "修改会话标签";
    TagDelete => "tag_delete", "删除会话标签";
    KbCreate => "kb_create", "添加知识库条目";
    KbUpdate => "kb_update", "修改知识库条目";
    KbDelete => "kb_delete", "删除知识库条目";
    GroupSettings => "group_settings", "修改接待设置";
    AccountTrigger => "account_trigger", "修改会话触发方式";
    AutoRepliesUpdate => "auto_replies_update", "修改自动回复";
    KeywordReplyCreate => "keyword_reply_create", "添加关键词回复";
    KeywordReplyUpdate => "keyword_reply_update", "修改关键词回复";
    KeywordReplyDelete => "keyword_reply_delete", "删除关键词回复";
    FaqCreate => "faq_create", "添加常见问题";
    FaqUpdate => "faq_update", "修改常见问题";
    FaqDelete => "faq_delete", "删除常见问题";
    TimeoutsUpdate => "timeouts_update", "修改超时设置";
    AgentAutoReply => "agent_auto_reply", "修改工号自动回复";
    MenuDraft => "menu_draft", "保存自定义菜单草稿";
    MenuPublish => "menu_publish", "发布自定义菜单";
    MenuLoad => "menu_load", "载入线上自定义菜单";
    NotifySettings => "notify_settings", "修改消息提醒设置";
    TimePlanUpdate => "timeplan_update", "修改工作时间";
    PlanDayCreate => "plan_day_create", "添加自定义工作日或节假日";
    PlanDayDelete => "plan_day_delete", "删除自定义工作日或节假日";
    ReportExport => "report_export", "导出报表";
    TranscriptExport => "transcript_export", "导出会话记录 PDF";
});

id_type!(AccountId);
id_type!(FollowerId);
id_type!(MessageId);
id_type!(OutboxId);
id_type!(MediaId);

db_enum!(AccountMode {
    Plain => "plain", "明文模式";
    Compat => "compat", "兼容模式";
    Safe => "safe", "安全模式(推荐)";
});

db_enum!(Direction {
    In => "in", "粉丝";
    Out => "out", "客服";
});

db_enum!(MessageKind {
    Text => "text", "文本";
    Image => "image", "图片";
    Voice => "voice", "语音";
    Video => "video", "视频";
    ShortVideo => "shortvideo", "小视频";
    Location => "location", "位置";
    Link => "link", "链接";
    Event => "event", "事件";
    Unknown => "unknown", "暂不支持的消息类型";
});

// `sending` is committed before the HTTP call; `unknown`: the call went out
// but its answer was lost (never resent automatically); `ignored`: an unknown
// outcome the agent chose not to resend.
db_enum!(OutboxState {
    Pending => "pending", "发送中";
    Sending => "sending", "发送中";
    Sent => "sent", "已送达微信";
    Failed => "failed", "发送失败";
    Unknown => "unknown", "结果未知";
    Ignored => "ignored", "结果未知（已忽略）";
});

db_enum!(OutboundKind {
    Text => "text", "文本";
    Image => "image", "图片";
    Voice => "voice", "语音";
    Msgmenu => "msgmenu", "菜单消息";
});

db_enum!(MediaState {
    Pending => "pending", "下载中";
    Stored => "stored", "已保存";
    Failed => "failed", "下载失败";
});

db_enum!(MediaKind {
    Image => "image", "图片";
    Voice => "voice", "语音";
    Video => "video", "视频";
    Thumb => "thumb", "缩略图";
});

db_enum!(InteractionKind {
    Message => "message", "粉丝发消息";
    Event => "event", "点击菜单、关注或扫码";
});

db_enum!(AgentStatus {
    Online => "online", "在线";
    Busy => "busy", "忙碌";
    Away => "away", "离开";
    Offline => "offline", "离线";
});

db_enum!(RoutingStrategy {
    RoundRobin => "round_robin", "轮流分配";
    LeastBusy => "least_busy", "空闲优先";
    Random => "random", "随机分配";
});

// What opens a conversation for an account (B2), stored in `account_settings`.
db_enum!(TriggerMode {
    AnyMessage => "any", "任意消息";
    Keywords => "keywords", "关键词";
    MenuKey => "menu", "菜单点击";
});

db_enum!(ConversationState {
    Queued => "queued", "排队中";
    Active => "active", "会话中";
    Ended => "ended", "已接待";
});

id_type!(ConversationId);

// Where a request to hand a conversation to another agent stands (B7).
db_enum!(TransferState {
    Pending => "pending", "等待回应";
    Accepted => "accepted", "已接受";
    Declined => "declined", "已拒绝";
    Expired => "expired", "已超时";
    Cancelled => "cancelled", "已取消";
});

// The timeout actions of C8, each done at most once per silence.
db_enum!(TimeoutKind {
    AgentComfort => "agent_comfort", "安抚语";
    AgentRemind => "agent_remind", "客服回复提醒";
    AgentTransfer => "agent_transfer", "超时自动转接";
    FollowerPrompt => "follower_prompt", "提醒语";
    FollowerClose => "follower_close", "超时结束";
    Reception => "reception", "接待超时";
});
