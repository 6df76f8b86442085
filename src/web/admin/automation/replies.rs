//! 自动回复 of an account (C4, C5): the replies on each occasion, saved by the
//! super admin, and the preview of what a follower receives.

use super::*;
use crate::db::automation::GreetingBudget;

/// The 自动回复 form: text fields, so a refused value is shown as typed.
/// `account` says whose replies these are; `group` only which FAQ the preview shows.
#[derive(Deserialize, Serialize, Default, Clone)]
#[serde(default)]
pub struct RepliesForm {
    #[serde(skip_serializing)]
    pub(super) account: String,
    #[serde(skip_serializing)]
    pub(super) group: String,
    pub(super) welcome: String,
    pub(super) welcome_faq: Option<String>,
    pub(super) offhours: String,
    pub(super) offhours_faq: Option<String>,
    pub(super) follow: String,
    pub(super) location: String,
    pub(super) greeting: String,
    pub(super) away: String,
    pub(super) agent_comfort: String,
    pub(super) follower_prompt: String,
    pub(super) closing: String,
    pub(super) survey_on_end: Option<String>,
    /// `always`, `keep_one` or `never` ([`GreetingBudget`]).
    pub(super) greeting_budget: String,
    pub(super) greeting_on_transfer: Option<String>,
}

impl RepliesForm {
    pub(super) fn of(a: &AutoReplies, account: AccountId, group: Option<GroupId>) -> Self {
        let on = |b: bool| b.then(|| "on".to_string());
        RepliesForm {
            account: account.to_string(),
            group: group.map(|g| g.to_string()).unwrap_or_default(),
            welcome: a.welcome.clone(),
            welcome_faq: on(a.welcome_faq),
            offhours: a.offhours.clone(),
            offhours_faq: on(a.offhours_faq),
            follow: a.follow.clone(),
            location: a.location.clone(),
            greeting: a.greeting.clone(),
            away: a.away.clone(),
            agent_comfort: a.agent_comfort.clone(),
            follower_prompt: a.follower_prompt.clone(),
            closing: a.closing.clone(),
            survey_on_end: on(a.survey_on_end),
            greeting_budget: a.greeting_budget.as_str().into(),
            greeting_on_transfer: on(a.greeting_on_transfer),
        }
    }

    /// The replies as typed (trimmed), unchecked: what the preview shows. An
    /// unknown greeting budget reads as the default here; [`Self::replies`] refuses it.
    pub(super) fn as_typed(&self) -> AutoReplies {
        let t = |s: &String| s.trim().to_string();
        AutoReplies {
            welcome: t(&self.welcome),
            welcome_faq: self.welcome_faq.is_some(),
            offhours: t(&self.offhours),
            offhours_faq: self.offhours_faq.is_some(),
            follow: t(&self.follow),
            location: t(&self.location),
            greeting: t(&self.greeting),
            away: t(&self.away),
            agent_comfort: t(&self.agent_comfort),
            follower_prompt: t(&self.follower_prompt),
            closing: t(&self.closing),
            survey_on_end: self.survey_on_end.is_some(),
            greeting_budget: GreetingBudget::parse(&self.greeting_budget).unwrap_or_default(),
            greeting_on_transfer: self.greeting_on_transfer.is_some(),
        }
    }

    pub(super) fn replies(&self) -> Result<AutoReplies, String> {
        let a = self.as_typed();
        // Left out (an old form, a script): the default.
        if !self.greeting_budget.is_empty()
            && GreetingBudget::parse(&self.greeting_budget).is_none()
        {
            return Err(crate::t("auto-greeting-budget-invalid"));
        }
        let texts = [
            (&a.welcome, "auto-welcome-name"),
            (&a.offhours, "auto-offhours-name"),
            (&a.follow, "auto-follow-name"),
            (&a.location, "auto-location-name"),
            (&a.greeting, "auto-greeting-name"),
            (&a.away, "auto-away-name"),
            (&a.agent_comfort, "auto-agent-comfort-name"),
            (&a.follower_prompt, "auto-follower-prompt-name"),
            (&a.closing, "auto-closing-name"),
        ];
        for (text, what) in texts {
            if text.chars().count() > TEXT_MAX {
                return Err(crate::t2(
                    "auto-text-too-long",
                    "what",
                    crate::t(what),
                    "max",
                    TEXT_MAX,
                ));
            }
        }
        Ok(a)
    }
}

/// One occasion and the messages a follower receives on it (none: off).
pub struct PreviewItem {
    pub when: String,
    pub texts: Vec<String>,
}

pub(super) fn preview(a: &AutoReplies, faq: &[Faq], agent_name: &str) -> Vec<PreviewItem> {
    let faq_text = auto::faq_list_text(faq);
    let with_faq = |text: &str, faq_on: bool| {
        let mut v = vec![text.to_string()];
        if faq_on {
            v.push(faq_text.clone());
        }
        v
    };
    let items = [
        ("auto-preview-follow", vec![a.follow.clone()]),
        ("auto-preview-welcome", with_faq(&a.welcome, a.welcome_faq)),
        (
            "auto-preview-offhours",
            with_faq(&a.offhours, a.offhours_faq),
        ),
        ("auto-preview-location", vec![a.location.clone()]),
        ("auto-preview-greeting", vec![a.greeting_for(agent_name)]),
        ("auto-preview-away", vec![a.away.clone()]),
        ("auto-preview-agent-comfort", vec![a.agent_comfort.clone()]),
        (
            "auto-preview-follower-prompt",
            vec![a.follower_prompt.clone()],
        ),
        ("auto-preview-closing", vec![a.closing.clone()]),
    ];
    items
        .into_iter()
        .map(|(when, texts)| PreviewItem {
            when: crate::t(when),
            texts: texts.into_iter().filter(|t| !t.is_empty()).collect(),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "admin/automation_preview.html")]
pub(super) struct PreviewFragment {
    pub(super) preview: Vec<PreviewItem>,
}

/// `POST /admin/automation/replies`: saves the account's automatic replies.
pub async fn save(
    State(state): State<AppState>,
    SuperUser(ctx, s): SuperUser,
    Form(f): Form<RepliesForm>,
) -> Result<Response, AppError> {
    let account = need_account(&f.account)?;
    let name = state.db.read(move |c| account_name(c, account)).await?;
    let group = parse_group(&f.group);
    let replies = match f.replies() {
        Ok(r) => r,
        Err(m) => {
            let kept = Kept {
                section: "replies",
                error: Some(m),
                replies: Some(f),
                ..Kept::default()
            };
            return refused(&state, &ctx, &s.user, (Some(account), group), kept).await;
        }
    };
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            let before = auto::auto_replies(c, account)?;
            auto::set_auto_replies(c, account, &replies)?;
            let entry = Entry::new(
                AuditAction::AutoRepliesUpdate,
                crate::db::audit::about("audit-t-account", &name),
            )
            .change(Some(&before), Some(&replies));
            audit(c, &by, entry, now)
        })
        .await?;
    Ok(done(
        &ctx,
        Some(account),
        group,
        "replies",
        crate::t("auto-replies-saved"),
    ))
}

/// `POST /admin/automation/preview`: the preview of the form as typed (htmx).
pub async fn show_preview(
    State(state): State<AppState>,
    SuperUser(_, s): SuperUser,
    Form(f): Form<RepliesForm>,
) -> Result<Response, AppError> {
    let faq = match parse_group(&f.group) {
        Some(g) => state.db.read(move |c| auto::faq(c, g)).await?,
        None => Vec::new(),
    };
    render(&PreviewFragment {
        preview: preview(&f.as_typed(), &faq, &s.user.display_name),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::db::automation::{AutoReplies, Faq};

    #[test]
    fn the_preview_shows_the_faq_after_the_welcome_only_when_switched_on() {
        let faq = vec![Faq {
            id: 1,
            question: "如何收费？".into(),
            answer: "免费".into(),
            keywords: Vec::new(),
        }];
        let a = AutoReplies {
            welcome_faq: true,
            offhours_faq: false,
            location: String::new(),
            ..AutoReplies::default()
        };
        let p = preview(&a, &faq, "小王");
        let on = |when: &str| p.iter().find(|i| i.when == when).unwrap().texts.clone();
        assert_eq!(on("工作时间发起咨询").len(), 2);
        assert!(on("工作时间发起咨询")[1].contains("1. 如何收费？"));
        assert_eq!(on("非工作时间发起咨询").len(), 1);
        assert!(on("粉丝发送位置").is_empty(), "an empty text is off");
        assert!(on("客服接入会话")[0].contains("小王"));
    }
}
