//! The knowledge trees shaped for reading (E3, E4): which nodes a group's
//! agents or followers see today (enabled, valid, under one of the group's
//! roots, every folder above them enabled), in depth-first order with each
//! node's depth, the NEW badge, the admin search, and the FAQ menu a follower
//! walks by number ("0" back). Plain functions over loaded nodes and the
//! local date; `db::tree` loads and stores.

use crate::db::tree::Node;
use std::collections::{HashMap, HashSet};

/// A local date as stored, YYYY-MM-DD (compared as text).
pub type Day<'a> = &'a str;

/// Valid today by its own switch and dates (not looking at its folders).
pub fn valid(n: &Node, today: Day<'_>) -> bool {
    n.enabled
        && n.valid_from.as_deref().is_none_or(|f| f <= today)
        && n.valid_to.as_deref().is_none_or(|t| today <= t)
}

/// Whether the NEW badge shows today.
pub fn is_new(n: &Node, today: Day<'_>) -> bool {
    n.new_until.as_deref().is_some_and(|u| today <= u)
}

fn children(nodes: &[Node]) -> HashMap<Option<i64>, Vec<&Node>> {
    let ids: HashSet<i64> = nodes.iter().map(|n| n.id).collect();
    let mut out: HashMap<Option<i64>, Vec<&Node>> = HashMap::new();
    for n in nodes {
        // A parent that is not loaded makes a root: nothing is lost from a list.
        let parent = n.parent_id.filter(|p| ids.contains(p) && *p != n.id);
        out.entry(parent).or_default().push(n);
    }
    out
}

/// The whole tree depth-first from `starts` (each followed by its subtree),
/// with depths; `keep` prunes a node together with everything below it.
pub fn depth_first<'a>(
    nodes: &'a [Node],
    starts: &[i64],
    keep: impl Fn(&Node) -> bool,
) -> Vec<(&'a Node, usize)> {
    let kids = children(nodes);
    let by_id: HashMap<i64, &Node> = nodes.iter().map(|n| (n.id, n)).collect();
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut stack: Vec<(&Node, usize)> = starts
        .iter()
        .rev()
        .filter_map(|id| by_id.get(id).map(|n| (*n, 0)))
        .collect();
    while let Some((n, depth)) = stack.pop() {
        if !seen.insert(n.id) || !keep(n) {
            continue;
        }
        out.push((n, depth));
        if let Some(k) = kids.get(&Some(n.id)) {
            stack.extend(k.iter().rev().map(|c| (*c, depth + 1)));
        }
    }
    out
}

/// The top-level nodes in order.
pub fn top(nodes: &[Node]) -> Vec<i64> {
    children(nodes)
        .get(&None)
        .map(|k| k.iter().map(|n| n.id).collect())
        .unwrap_or_default()
}

/// Every node, as the admin page draws the tree.
pub fn whole(nodes: &[Node]) -> Vec<(&Node, usize)> {
    depth_first(nodes, &top(nodes), |_| true)
}

/// What a group's agents see: the subtrees of `roots`, valid today, a
/// disabled or expired folder hiding what it holds.
pub fn visible<'a>(nodes: &'a [Node], roots: &[i64], today: Day<'_>) -> Vec<(&'a Node, usize)> {
    depth_first(nodes, roots, |n| valid(n, today))
}

/// The ids under `id`, itself included.
pub fn subtree(nodes: &[Node], id: i64) -> Vec<i64> {
    depth_first(nodes, &[id], |_| true)
        .into_iter()
        .map(|(n, _)| n.id)
        .collect()
}

/// Folders only, for the 移动到 picker.
pub fn folders(nodes: &[Node]) -> Vec<(&Node, usize)> {
    depth_first(nodes, &top(nodes), |n| n.folder)
}

/// The admin search (S3 2.1): text in title, keywords or body; created
/// between two local dates; NEW on or off; 开启 or 停用. Entries only.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Search {
    pub text: String,
    pub from: Option<String>,
    pub to: Option<String>,
    pub new: Option<bool>,
    pub enabled: Option<bool>,
}

impl Search {
    pub fn is_empty(&self) -> bool {
        *self == Search::default()
    }
}

/// `created` is a node's local creation date.
pub fn matches(n: &Node, s: &Search, created: Day<'_>, today: Day<'_>) -> bool {
    let text = fold(s.text.trim());
    !n.folder
        && (text.is_empty()
            || [&n.title, &n.keywords, &n.body]
                .iter()
                .any(|f| fold(f).contains(&text)))
        && s.from.as_deref().is_none_or(|f| f <= created)
        && s.to.as_deref().is_none_or(|t| created <= t)
        && s.new.is_none_or(|on| is_new(n, today) == on)
        && s.enabled.is_none_or(|on| n.enabled == on)
}

/// Case-folded for search (ASCII and full-width Latin letters).
pub fn fold(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '\u{FF21}'..='\u{FF3A}' | '\u{FF41}'..='\u{FF5A}' => {
                char::from_u32(c as u32 - 0xFEE0).unwrap_or(c)
            }
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Keywords as typed, split on commas (either width), 、 and spaces.
pub fn keywords(raw: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for k in raw
        .split([',', '\u{FF0C}', '、', '\n', ' ', '\u{3000}'])
        .map(str::trim)
    {
        if !k.is_empty() && !out.iter().any(|o| o == k) {
            out.push(k.to_string());
        }
    }
    out
}

// ------------------------------------------------------------------ FAQ menu (E4)

/// The numbered items of a menu level: at the top (`None`), each root folder
/// contributes what it holds and a root entry itself; in a folder, what the
/// folder holds. Only what is valid today.
pub fn menu<'a>(
    nodes: &'a [Node],
    roots: &[i64],
    folder: Option<i64>,
    today: Day<'_>,
) -> Vec<&'a Node> {
    let kids = children(nodes);
    let by_id: HashMap<i64, &Node> = nodes.iter().map(|n| (n.id, n)).collect();
    let held = |f: i64| -> Vec<&'a Node> {
        kids.get(&Some(f))
            .map(|k| k.iter().copied().filter(|n| valid(n, today)).collect())
            .unwrap_or_default()
    };
    match folder {
        Some(f) => held(f),
        None => {
            let mut out = Vec::new();
            for r in roots {
                match by_id.get(r) {
                    Some(n) if valid(n, today) && n.folder => out.extend(held(n.id)),
                    Some(n) if valid(n, today) => out.push(*n),
                    _ => {}
                }
            }
            out
        }
    }
}

/// What a follower's reply does in the FAQ menu.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FaqStep {
    /// Show this level's numbered list (and remember it).
    List(Option<i64>),
    /// Answer with this entry.
    Answer(i64),
}

/// How long a follower stays in a folder of the menu without replying.
pub const CURSOR_FOR: jiff::SignedDuration = jiff::SignedDuration::from_mins(30);

/// The folder the follower is in now: the remembered one if it is recent and
/// still shown to their group, else the top.
pub fn current_folder(
    nodes: &[Node],
    roots: &[i64],
    cursor: Option<(Option<i64>, jiff::Timestamp)>,
    now: jiff::Timestamp,
    today: Day<'_>,
) -> Option<i64> {
    let (folder, at) = cursor?;
    let f = folder?;
    if at + CURSOR_FOR < now {
        return None;
    }
    visible(nodes, roots, today)
        .iter()
        .any(|(n, _)| n.id == f && n.folder)
        .then_some(f)
}

/// A number as typed: ASCII or full-width digits, a trailing full stop allowed.
pub fn number(text: &str) -> Option<usize> {
    let t = text.trim().trim_end_matches(['.', '。', '\u{FF0E}']).trim();
    if t.is_empty() {
        return None;
    }
    let digits: Option<String> = t
        .chars()
        .map(|c| match c {
            '0'..='9' => Some(c),
            '\u{FF10}'..='\u{FF19}' => char::from_u32(c as u32 - 0xFF10 + '0' as u32),
            _ => None,
        })
        .collect();
    digits?.parse().ok()
}

/// A follower's reply in the menu: a number picks in the current level (a
/// folder opens its list, an entry answers; "0" goes one level back, at the
/// top it shows the list again); other text answers with the first entry of
/// the group's subtrees whose keyword it contains or whose title it is.
/// `None`: not for the FAQ.
pub fn reply(
    nodes: &[Node],
    roots: &[i64],
    folder: Option<i64>,
    text: &str,
    today: Day<'_>,
) -> Option<FaqStep> {
    if let Some(n) = number(text) {
        if n == 0 {
            let shown: HashSet<i64> = roots.iter().copied().collect();
            let parent = folder
                .and_then(|f| nodes.iter().find(|n| n.id == f))
                .and_then(|f| f.parent_id)
                // The top level lists a root folder's content: back to the top.
                .filter(|p| !shown.contains(p));
            return (folder.is_some() || !roots.is_empty()).then_some(FaqStep::List(parent));
        }
        let items = menu(nodes, roots, folder, today);
        let item = items.get(n - 1)?;
        return Some(if item.folder {
            FaqStep::List(Some(item.id))
        } else {
            FaqStep::Answer(item.id)
        });
    }
    let text = fold(text.trim());
    if text.is_empty() {
        return None;
    }
    visible(nodes, roots, today)
        .into_iter()
        .map(|(n, _)| n)
        .filter(|n| !n.folder)
        .find(|n| {
            fold(&n.title) == text
                || keywords(&n.keywords).iter().any(|k| {
                    let k = fold(k);
                    !k.is_empty() && text.contains(&k)
                })
        })
        .map(|n| FaqStep::Answer(n.id))
}

/// The numbered list a follower receives; empty when the level is empty.
/// `in_folder` adds how to go back; `offer_human` how to reach an agent (not
/// said to someone who is already queued or served).
pub fn list_text(items: &[&Node], title: Option<&str>, offer_human: bool) -> String {
    if items.is_empty() {
        return String::new();
    }
    let mut text = match title {
        Some(t) => format!("{t}（回复数字查看）：\n"),
        None => "常见问题（回复数字查看答案）：\n".to_string(),
    };
    for (i, n) in items.iter().enumerate() {
        let mark = if n.folder { " ›" } else { "" };
        text.push_str(&format!("{}. {}{mark}\n", i + 1, n.title));
    }
    if title.is_some() {
        text.push_str("0. 返回上一级\n");
    }
    if offer_human {
        text.push_str("回复“人工”联系客服");
    }
    text.trim_end().to_string()
}

/// What a step says to the follower: the entry's answer (an image entry
/// names itself: a passive reply carries text only), or the level's list.
pub fn step_text(
    nodes: &[Node],
    roots: &[i64],
    step: &FaqStep,
    today: Day<'_>,
    offer_human: bool,
) -> String {
    match step {
        FaqStep::Answer(id) => nodes
            .iter()
            .find(|n| n.id == *id)
            .map(|n| {
                if n.body.trim().is_empty() {
                    n.title.clone()
                } else {
                    n.body.clone()
                }
            })
            .unwrap_or_default(),
        FaqStep::List(folder) => {
            let items = menu(nodes, roots, *folder, today);
            let title = folder.and_then(|f| nodes.iter().find(|n| n.id == f));
            let text = list_text(&items, title.map(|t| t.title.as_str()), offer_human);
            if text.is_empty() {
                "该目录暂无内容，回复0返回上一级".to_string()
            } else {
                text
            }
        }
    }
}

/// The local date of `t` in `tz`, as stored (YYYY-MM-DD).
pub fn day(t: jiff::Timestamp, tz: &jiff::tz::TimeZone) -> String {
    t.to_zoned(tz.clone()).date().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::tree::TreeKind;

    fn n(id: i64, parent: Option<i64>, folder: bool, title: &str) -> Node {
        Node {
            id,
            kind: TreeKind::Faq,
            parent_id: parent,
            folder,
            title: title.into(),
            body: format!("答案{id}"),
            image: String::new(),
            keywords: String::new(),
            enabled: true,
            new_until: None,
            valid_from: None,
            valid_to: None,
            uses: 0,
            position: 0,
            created_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    /// Given: 售前 › 如何收费 · 物流 › 发货时间 · 运费. Not given: 其他 › 秘密
    fn tree() -> Vec<Node> {
        let mut kw = n(3, Some(1), false, "如何收费");
        kw.keywords = "价格，收费".into();
        vec![
            n(1, None, true, "售前"),
            kw,
            n(4, Some(1), true, "物流"),
            n(5, Some(4), false, "发货时间"),
            n(6, Some(4), false, "运费"),
            n(7, None, true, "其他"),
            n(8, Some(7), false, "秘密"),
        ]
    }

    const TODAY: &str = "2026-05-01";

    #[test]
    fn validity_and_the_new_badge_follow_the_dates_and_a_folder_hides_its_subtree() {
        let mut t = tree();
        t[3].valid_to = Some("2026-04-30".into()); // 发货时间 expired yesterday
        t[4].valid_from = Some("2026-05-01".into()); // 运费 from today
        t[1].new_until = Some("2026-05-01".into());
        assert!(!valid(&t[3], TODAY) && valid(&t[4], TODAY));
        assert!(is_new(&t[1], TODAY) && !is_new(&t[1], "2026-05-02"));
        let seen: Vec<(i64, usize)> = visible(&t, &[1], TODAY)
            .iter()
            .map(|(n, d)| (n.id, *d))
            .collect();
        assert_eq!(seen, [(1, 0), (3, 1), (4, 1), (6, 2)]);
        t[2].enabled = false; // 物流 off: 运费 goes with it
        let ids: Vec<i64> = visible(&t, &[1], TODAY).iter().map(|(n, _)| n.id).collect();
        assert_eq!(ids, [1, 3]);
        assert!(visible(&t, &[], TODAY).is_empty(), "no subtree given");
        assert_eq!(subtree(&t, 4), [4, 5, 6]);
    }

    #[test]
    fn the_faq_menu_walks_folders_by_number_and_goes_back_with_zero() {
        let t = tree();
        let roots = [1];
        let top: Vec<&str> = menu(&t, &roots, None, TODAY)
            .iter()
            .map(|n| n.title.as_str())
            .collect();
        assert_eq!(top, ["如何收费", "物流"], "the given folder's content");
        assert_eq!(
            reply(&t, &roots, None, "1", TODAY),
            Some(FaqStep::Answer(3))
        );
        assert_eq!(
            reply(&t, &roots, None, "２", TODAY),
            Some(FaqStep::List(Some(4)))
        );
        assert_eq!(
            reply(&t, &roots, Some(4), "2", TODAY),
            Some(FaqStep::Answer(6))
        );
        assert_eq!(
            reply(&t, &roots, Some(4), "0", TODAY),
            Some(FaqStep::List(None))
        );
        assert_eq!(
            reply(&t, &roots, None, "0", TODAY),
            Some(FaqStep::List(None))
        );
        assert_eq!(reply(&t, &roots, None, "9", TODAY), None);
        assert_eq!(
            reply(&t, &roots, Some(4), "价格多少", TODAY),
            Some(FaqStep::Answer(3)),
            "a keyword answers from any level"
        );
        assert_eq!(
            reply(&t, &roots, None, "秘密", TODAY),
            None,
            "another subtree"
        );
        assert_eq!(reply(&t, &roots, None, "你好", TODAY), None);

        let items = menu(&t, &roots, Some(4), TODAY);
        let text = list_text(&items, Some("物流"), false);
        assert_eq!(
            text,
            "物流（回复数字查看）：\n1. 发货时间\n2. 运费\n0. 返回上一级"
        );
        let top = menu(&t, &roots, None, TODAY);
        let text = list_text(&top, None, true);
        assert!(text.contains("2. 物流 ›") && text.ends_with("回复“人工”联系客服"));
        assert!(!list_text(&top, None, false).contains("人工"));
    }

    #[test]
    fn the_cursor_forgets_after_half_an_hour_or_when_the_folder_is_gone() {
        let t = tree();
        let at: jiff::Timestamp = "2026-05-01T02:00:00Z".parse().unwrap();
        let c = Some((Some(4), at));
        let soon = at + jiff::SignedDuration::from_mins(10);
        assert_eq!(current_folder(&t, &[1], c, soon, TODAY), Some(4));
        let late = at + jiff::SignedDuration::from_mins(31);
        assert_eq!(current_folder(&t, &[1], c, late, TODAY), None);
        assert_eq!(current_folder(&t, &[7], c, soon, TODAY), None);
    }

    #[test]
    fn the_search_filters_by_text_dates_badge_and_state() {
        let mut e = n(3, None, false, "如何收费");
        e.keywords = "价格".into();
        e.new_until = Some("2026-05-03".into());
        let s = |f: fn(&mut Search)| {
            let mut s = Search::default();
            f(&mut s);
            s
        };
        assert!(matches(&e, &s(|s| s.text = "价格".into()), TODAY, TODAY));
        assert!(matches(&e, &s(|s| s.text = "答案3".into()), TODAY, TODAY));
        assert!(!matches(&e, &s(|s| s.text = "退款".into()), TODAY, TODAY));
        assert!(matches(&e, &s(|s| s.new = Some(true)), TODAY, TODAY));
        assert!(!matches(
            &e,
            &s(|s| s.new = Some(true)),
            TODAY,
            "2026-05-04"
        ));
        assert!(!matches(&e, &s(|s| s.enabled = Some(false)), TODAY, TODAY));
        assert!(!matches(
            &e,
            &s(|s| s.from = Some("2026-05-02".into())),
            TODAY,
            TODAY
        ));
        assert!(matches(
            &e,
            &s(|s| s.to = Some("2026-05-01".into())),
            TODAY,
            TODAY
        ));
        assert!(!matches(
            &n(1, None, true, "价格"),
            &s(|s| s.text = "价格".into()),
            TODAY,
            TODAY
        ));
        assert_eq!(
            keywords("价格，收费、 费用\n价格"),
            ["价格", "收费", "费用"]
        );
        assert_eq!(keywords("vip,fee vip"), ["vip", "fee"]);
        assert_eq!(fold("ＡBc"), "abc");
    }
}
