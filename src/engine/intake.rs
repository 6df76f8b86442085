//! What starts a conversation (B2, S1): by default any message from the
//! follower; or only keywords that call a human (人工, 转人工, 客服, 在吗); or
//! a menu click with a given key. Before that, the automation answers (issue 5).
//! A pure function of the account's setting and the push.

use crate::wechat::xml::{Event, InboundKind};

/// An account's rule for opening a conversation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Trigger {
    /// Any message (text, image, voice, video, location, link).
    AnyMessage,
    /// Only a text that contains one of these keywords.
    Keywords(Vec<String>),
    /// Only a CLICK on a menu button with this key.
    MenuKey(String),
}

/// The keywords S1 names, the default of [`Trigger::Keywords`].
pub fn default_keywords() -> Vec<String> {
    ["人工", "转人工", "客服", "在吗"]
        .iter()
        .map(|s| s.to_string())
        .collect()
}

/// Does this push ask for a human (open a conversation, or join the queue)?
pub fn opens_conversation(trigger: &Trigger, kind: &InboundKind) -> bool {
    match (trigger, kind) {
        // Events (follow, scan, location reports, menu views) are not a request to talk,
        // unless a menu click is the configured trigger.
        (Trigger::MenuKey(key), InboundKind::Event(Event::Click { key: k })) => k == key,
        (_, InboundKind::Event(_)) => false,
        (Trigger::AnyMessage, _) => true,
        (Trigger::Keywords(words), InboundKind::Text { content }) => {
            let text = content.trim();
            words
                .iter()
                .any(|w| !w.is_empty() && text.contains(w.as_str()))
        }
        (Trigger::Keywords(_) | Trigger::MenuKey(_), _) => false,
    }
}

/// `放弃排队`: a queued follower leaves the queue (B5).
pub fn leaves_queue(kind: &InboundKind) -> bool {
    matches!(kind, InboundKind::Text { content } if content.trim() == "放弃排队")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> InboundKind {
        InboundKind::Text { content: s.into() }
    }

    #[test]
    fn table() {
        let any = Trigger::AnyMessage;
        let words = Trigger::Keywords(default_keywords());
        let menu = Trigger::MenuKey("CONTACT_US".into());
        let image = InboundKind::Image {
            pic_url: String::new(),
            media_id: "m".into(),
        };
        let click = |k: &str| InboundKind::Event(Event::Click { key: k.into() });
        let subscribe = InboundKind::Event(Event::Subscribe {
            scene: None,
            ticket: None,
        });
        let cases = [
            (&any, text("你好"), true),
            (&any, image.clone(), true),
            (&any, subscribe.clone(), false),
            (&any, click("CONTACT_US"), false),
            (&words, text("我要转人工"), true),
            (&words, text(" 在吗？ "), true),
            (&words, text("你好"), false),
            (&words, image.clone(), false),
            (&menu, click("CONTACT_US"), true),
            (&menu, click("OTHER"), false),
            (&menu, text("人工"), false),
        ];
        for (i, (trigger, kind, want)) in cases.iter().enumerate() {
            assert_eq!(
                opens_conversation(trigger, kind),
                *want,
                "case {i}: {trigger:?} {kind:?}"
            );
        }
        assert!(leaves_queue(&text(" 放弃排队 ")));
        assert!(!leaves_queue(&text("不放弃排队")));
    }
}
