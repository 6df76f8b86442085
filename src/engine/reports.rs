//! The numbers of 工作报表 (issue 10), as plain functions over facts that
//! `db::reports` loaded: conversations with their steps, messages, surveys and
//! status changes. The definitions are those of `docs/reports.md`; this file
//! is where they are computed, and its tests pin them down.
//!
//! Everything is replayed from a conversation's steps into [`Span`]s — who held
//! it (the queue or an agent), in which group, from when to when — so "while
//! the agent held the conversation" and "the group the work was done in" have
//! one answer. Times are UTC milliseconds; the caller gives the period as a
//! half-open range and, where hours matter, the time zone.

use crate::model::{AgentStatus, ConversationId, FollowerId, GroupId, UserId};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Milliseconds since the Unix epoch (UTC).
pub type Ms = i64;

/// An answered survey: score 1–5 and 已解决 when given.
pub type Survey = (i64, Option<bool>);

/// A stretch of one status: (status, from, to).
pub type Segment = (AgentStatus, Ms, Ms);

/// A half-open period `[from, to)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    pub from: Ms,
    pub to: Ms,
}

impl Period {
    pub fn contains(&self, t: Ms) -> bool {
        self.from <= t && t < self.to
    }

    /// Does `[start, end)` (open-ended without `end`) meet the period?
    pub fn overlaps(&self, start: Ms, end: Option<Ms>) -> bool {
        start < self.to && end.is_none_or(|e| e > self.from)
    }
}

/// One recorded step of a conversation (`conversation_events`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub step: String,
    pub actor: Option<UserId>,
    pub to: Option<UserId>,
    /// The group the conversation was in when the step happened.
    pub group: Option<GroupId>,
    pub at: Ms,
}

/// What a report needs of a conversation.
#[derive(Clone, Debug, PartialEq)]
pub struct Conv {
    pub id: ConversationId,
    pub follower: FollowerId,
    /// Its group now (the last one, after any transfer to another group).
    pub group: GroupId,
    pub ended_at: Option<Ms>,
    pub steps: Vec<Step>,
    /// The answered survey, if any.
    pub survey: Option<Survey>,
}

/// A message of a conversation: a follower's (inbound) or an agent's reply.
/// Automatic replies, internal notes and failed sends are not loaded at all.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    pub conv: ConversationId,
    pub follower: FollowerId,
    pub at: Ms,
    pub inbound: bool,
    /// The agent who typed or sent it (outbound only).
    pub sender: Option<UserId>,
}

/// Who held a conversation during a span.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Holder {
    Queue,
    Agent(UserId),
}

/// A stretch of a conversation with one holder in one group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    pub holder: Holder,
    pub group: GroupId,
    pub start: Ms,
    pub end: Option<Ms>,
    /// The step that began it (`open`, `accept`, `route`, `transfer_in_group`,
    /// `transfer_to_group`).
    pub entry: String,
    /// The step that ended it, if any.
    pub exit: Option<String>,
}

impl Span {
    fn covers(&self, t: Ms) -> bool {
        self.start <= t && self.end.is_none_or(|e| t < e)
    }

    fn agent(&self) -> Option<UserId> {
        match self.holder {
            Holder::Agent(a) => Some(a),
            Holder::Queue => None,
        }
    }

    /// Did the follower really wait (not routed in the same instant)?
    fn waited(&self) -> bool {
        !(self.end == Some(self.start) && self.exit.as_deref() == Some("route"))
    }
}

/// Replays a conversation's steps into spans, oldest first.
pub fn spans(conv: &Conv) -> Vec<Span> {
    let mut out: Vec<Span> = Vec::new();
    let mut open: Option<Span> = None;
    for (i, s) in conv.steps.iter().enumerate() {
        let group = s.group.unwrap_or(conv.group);
        let close = |open: &mut Option<Span>, out: &mut Vec<Span>| {
            if let Some(mut sp) = open.take() {
                sp.end = Some(s.at);
                sp.exit = Some(s.step.clone());
                out.push(sp);
            }
        };
        let begin = |holder: Holder, group: GroupId| Span {
            holder,
            group,
            start: s.at,
            end: None,
            entry: s.step.clone(),
            exit: None,
        };
        match s.step.as_str() {
            "open" => {
                close(&mut open, &mut out);
                open = Some(begin(Holder::Queue, group));
            }
            "accept" | "route" => {
                let agent = if s.step == "accept" { s.actor } else { s.to };
                close(&mut open, &mut out);
                open = agent.map(|a| begin(Holder::Agent(a), group));
            }
            "transfer_in_group" => {
                close(&mut open, &mut out);
                open = s.to.map(|a| begin(Holder::Agent(a), group));
            }
            "transfer_to_group" => {
                close(&mut open, &mut out);
                // The step carries the group it left; the queue it joined is
                // the group of the next step, or the conversation's group now.
                let next = conv
                    .steps
                    .get(i + 1)
                    .and_then(|n| n.group)
                    .unwrap_or(conv.group);
                open = Some(begin(Holder::Queue, next));
            }
            _ => close(&mut open, &mut out),
        }
    }
    out.extend(open);
    out
}

/// The group a conversation was in at `t`.
fn group_at(spans: &[Span], conv: &Conv, t: Ms) -> GroupId {
    spans
        .iter()
        .rev()
        .find(|s| s.start <= t)
        .map_or(conv.group, |s| s.group)
}

// ------------------------------------------------------------------ 工作量统计

/// One agent's line of 工作量统计.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Workload {
    /// 个人接待人数
    pub followers: u64,
    /// 接入会话量
    pub taken: u64,
    /// 组内转接量
    pub in_group: u64,
    /// 跨组转接量
    pub cross_group: u64,
    /// 咨询消息数
    pub inbound: u64,
    /// 回复消息数
    pub replies: u64,
}

impl Workload {
    pub fn add(&mut self, o: &Workload) {
        self.followers += o.followers;
        self.taken += o.taken;
        self.in_group += o.in_group;
        self.cross_group += o.cross_group;
        self.inbound += o.inbound;
        self.replies += o.replies;
    }
}

/// 工作量统计 per agent, counting only work done in a group `in_scope` accepts.
pub fn workload(
    convs: &[Conv],
    msgs: &[Msg],
    period: Period,
    in_scope: impl Fn(GroupId) -> bool,
) -> BTreeMap<UserId, Workload> {
    let by_conv = messages_by_conv(msgs);
    let mut out: BTreeMap<UserId, Workload> = BTreeMap::new();
    let mut followers: HashMap<UserId, HashSet<FollowerId>> = HashMap::new();
    for conv in convs {
        let sp = spans(conv);
        for (i, s) in sp.iter().enumerate() {
            let Some(agent) = s.agent() else { continue };
            if !in_scope(s.group) {
                continue;
            }
            if period.overlaps(s.start, s.end) {
                followers.entry(agent).or_default().insert(conv.follower);
            }
            let w = out.entry(agent).or_default();
            if period.contains(s.start) {
                w.taken += 1;
            }
            if let (Some(end), Some(exit)) = (s.end, s.exit.as_deref())
                && period.contains(end)
            {
                match exit {
                    "transfer_in_group" => w.in_group += 1,
                    "transfer_to_group" if sp.get(i + 1).is_some_and(|n| n.group != s.group) => {
                        w.cross_group += 1
                    }
                    _ => {}
                }
            }
        }
        for m in by_conv.get(&conv.id).into_iter().flatten() {
            if !period.contains(m.at) {
                continue;
            }
            if m.inbound {
                if let Some(s) = sp.iter().find(|s| s.covers(m.at))
                    && let Some(agent) = s.agent()
                    && in_scope(s.group)
                {
                    out.entry(agent).or_default().inbound += 1;
                }
            } else if let Some(agent) = m.sender
                && in_scope(group_at(&sp, conv, m.at))
            {
                out.entry(agent).or_default().replies += 1;
            }
        }
    }
    for (agent, set) in followers {
        out.entry(agent).or_default().followers = set.len() as u64;
    }
    out
}

fn messages_by_conv(msgs: &[Msg]) -> HashMap<ConversationId, Vec<&Msg>> {
    let mut m: HashMap<ConversationId, Vec<&Msg>> = HashMap::new();
    for x in msgs {
        m.entry(x.conv).or_default().push(x);
    }
    for v in m.values_mut() {
        v.sort_by_key(|x| x.at);
    }
    m
}

// ------------------------------------------------------------------ 咨询分类统计

/// A category of the tree, with its group.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CategoryNode {
    pub id: i64,
    pub parent: Option<i64>,
    pub name: String,
}

/// The path of each category (`售后/退货`), in the order given.
pub fn category_paths(nodes: &[CategoryNode]) -> Vec<(i64, String)> {
    let by_id: HashMap<i64, &CategoryNode> = nodes.iter().map(|n| (n.id, n)).collect();
    nodes
        .iter()
        .map(|n| {
            let mut parts = vec![n.name.as_str()];
            let mut at = n.parent;
            let mut guard = 0;
            while let Some(p) = at.and_then(|p| by_id.get(&p)) {
                parts.push(p.name.as_str());
                at = p.parent;
                guard += 1;
                if guard > 64 {
                    break;
                }
            }
            parts.reverse();
            (n.id, parts.join("/"))
        })
        .collect()
}

/// `root` and every category below it.
pub fn subtree(nodes: &[CategoryNode], root: i64) -> HashSet<i64> {
    let mut set: HashSet<i64> = HashSet::from([root]);
    loop {
        let before = set.len();
        for n in nodes {
            if n.parent.is_some_and(|p| set.contains(&p)) {
                set.insert(n.id);
            }
        }
        if set.len() == before {
            return set;
        }
    }
}

/// 咨询分类统计: for each day index (0 = the first day), the count per column
/// (`columns` are category ids); `ended` are (day index, category id) pairs,
/// one per categorised conversation. Categories not in `columns` are left out.
pub fn categories_by_day(days: usize, columns: &[i64], ended: &[(usize, i64)]) -> Vec<Vec<u64>> {
    let col: HashMap<i64, usize> = columns.iter().enumerate().map(|(i, c)| (*c, i)).collect();
    let mut grid = vec![vec![0u64; columns.len()]; days];
    for (day, cat) in ended {
        if let (Some(row), Some(c)) = (grid.get_mut(*day), col.get(cat)) {
            row[*c] += 1;
        }
    }
    grid
}

// ------------------------------------------------------------------ 分时统计

/// One hour of 分时统计.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Hour {
    /// 排队量: times a conversation entered a queue (and really waited).
    pub queued: u64,
    /// 咨询人数: distinct followers who wrote.
    pub followers: u64,
    /// 咨询消息数: follower messages.
    pub messages: u64,
}

/// 分时统计: 24 hours; `hour_of` maps a time to its local hour (0–23).
pub fn hourly(
    convs: &[Conv],
    msgs: &[Msg],
    period: Period,
    in_scope: impl Fn(GroupId) -> bool,
    hour_of: impl Fn(Ms) -> usize,
) -> Vec<Hour> {
    let mut hours = vec![Hour::default(); 24];
    let mut who: Vec<HashSet<FollowerId>> = vec![HashSet::new(); 24];
    let convs_by_id: HashMap<ConversationId, (&Conv, Vec<Span>)> =
        convs.iter().map(|c| (c.id, (c, spans(c)))).collect();
    for (_, sp) in convs_by_id.values() {
        for s in sp {
            if s.holder == Holder::Queue
                && s.waited()
                && period.contains(s.start)
                && in_scope(s.group)
            {
                hours[hour_of(s.start).min(23)].queued += 1;
            }
        }
    }
    for m in msgs.iter().filter(|m| m.inbound && period.contains(m.at)) {
        let Some((conv, sp)) = convs_by_id.get(&m.conv) else {
            continue;
        };
        if !in_scope(group_at(sp, conv, m.at)) {
            continue;
        }
        let h = hour_of(m.at).min(23);
        hours[h].messages += 1;
        who[h].insert(m.follower);
    }
    for (h, set) in who.into_iter().enumerate() {
        hours[h].followers = set.len() as u64;
    }
    hours
}

// ------------------------------------------------------------------ 工作质量概览

/// The queue length (summed over the groups in scope) along `period`: the
/// length at `period.from`, then each change as (time, new length).
pub fn queue_length(
    convs: &[Conv],
    period: Period,
    in_scope: impl Fn(GroupId) -> bool,
) -> Vec<(Ms, i64)> {
    let mut deltas: BTreeMap<Ms, i64> = BTreeMap::new();
    for conv in convs {
        for s in spans(conv) {
            if s.holder != Holder::Queue || !s.waited() || !in_scope(s.group) {
                continue;
            }
            if !period.overlaps(s.start, s.end) || s.end == Some(s.start) {
                continue;
            }
            *deltas.entry(s.start.max(period.from)).or_default() += 1;
            if let Some(e) = s.end.filter(|e| *e < period.to) {
                *deltas.entry(e).or_default() -= 1;
            }
        }
    }
    let mut out = vec![(period.from, 0)];
    let mut len = 0;
    for (t, d) in deltas {
        if d == 0 {
            continue;
        }
        len += d;
        match out.last_mut() {
            Some(last) if last.0 == t => last.1 = len,
            _ => out.push((t, len)),
        }
    }
    out
}

/// An agent's status along `period`: segments (status, start, end), from the
/// status they had at `period.from` (`before`, offline when unknown) and the
/// changes in the period, oldest first; the last segment ends at `until`
/// (the end of the period, or now for today).
pub fn status_segments(
    before: Option<AgentStatus>,
    changes: &[(AgentStatus, Ms)],
    period: Period,
    until: Ms,
) -> Vec<Segment> {
    let until = until.clamp(period.from, period.to);
    let mut out = Vec::new();
    let mut cur = (before.unwrap_or(AgentStatus::Offline), period.from);
    for (status, at) in changes {
        let at = (*at).clamp(period.from, until);
        if at > cur.1 {
            out.push((cur.0, cur.1, at));
        }
        cur = (*status, at);
    }
    if until > cur.1 {
        out.push((cur.0, cur.1, until));
    }
    out
}

/// Total time per status in segments.
pub fn status_totals(segments: &[Segment]) -> HashMap<AgentStatus, Ms> {
    let mut m = HashMap::new();
    for (s, a, b) in segments {
        *m.entry(*s).or_default() += b - a;
    }
    m
}

// ------------------------------------------------------------------ 服务水平

/// The first-response delays (ms) of conversations taken from a queue in the
/// period, per (group, agent): from accepting to the agent's first reply while
/// holding it. A conversation never answered has no delay.
pub fn first_responses(
    convs: &[Conv],
    msgs: &[Msg],
    period: Period,
    in_scope: impl Fn(GroupId) -> bool,
) -> Vec<(GroupId, UserId, Option<Ms>)> {
    let by_conv = messages_by_conv(msgs);
    let mut out = Vec::new();
    for conv in convs {
        for s in spans(conv) {
            let Some(agent) = s.agent() else { continue };
            if !matches!(s.entry.as_str(), "accept" | "route")
                || !period.contains(s.start)
                || !in_scope(s.group)
            {
                continue;
            }
            let first = by_conv
                .get(&conv.id)
                .into_iter()
                .flatten()
                .find(|m| !m.inbound && m.sender == Some(agent) && s.covers(m.at))
                .map(|m| m.at - s.start);
            out.push((s.group, agent, first));
        }
    }
    out
}

/// Whether a first response after `delay` met a target of `sla_secs` seconds
/// and so counts as SLA达标 — a conversation never answered does not
pub fn within_sla(delay: Option<Ms>, sla_secs: i64) -> bool {
    delay.is_some_and(|d| d <= sla_secs.saturating_mul(1000))
}

/// Conversations that ended in the period after an agent held them: (group,
/// last agent, handling time from the first accept to the end, survey).
pub fn handled(
    convs: &[Conv],
    period: Period,
    in_scope: impl Fn(GroupId) -> bool,
) -> Vec<(GroupId, UserId, Ms, Option<Survey>)> {
    let mut out = Vec::new();
    for conv in convs {
        let Some(end) = conv.ended_at.filter(|e| period.contains(*e)) else {
            continue;
        };
        if !in_scope(conv.group) {
            continue;
        }
        let sp = spans(conv);
        let (Some(first), Some(last)) = (
            sp.iter().find(|s| s.agent().is_some()),
            sp.iter().rev().find_map(|s| s.agent()),
        ) else {
            continue;
        };
        out.push((conv.group, last, end - first.start, conv.survey));
    }
    out
}

/// Queue stays that began in the period, per group: (entered, left without an
/// agent — 放弃排队 or expired).
pub fn abandonment(
    convs: &[Conv],
    period: Period,
    in_scope: impl Fn(GroupId) -> bool,
) -> HashMap<GroupId, (u64, u64)> {
    let mut m: HashMap<GroupId, (u64, u64)> = HashMap::new();
    for conv in convs {
        for s in spans(conv) {
            if s.holder != Holder::Queue
                || !s.waited()
                || !period.contains(s.start)
                || !in_scope(s.group)
            {
                continue;
            }
            let e = m.entry(s.group).or_default();
            e.0 += 1;
            if matches!(s.exit.as_deref(), Some("abandon" | "expire")) {
                e.1 += 1;
            }
        }
    }
    m
}

/// The median of `values` (the lower middle for an even count), if any.
pub fn median(values: &[Ms]) -> Option<Ms> {
    percentile(values, 50)
}

/// The nearest-rank percentile `p` (1–100) of `values`.
pub fn percentile(values: &[Ms], p: u32) -> Option<Ms> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_unstable();
    let rank = (u64::from(p) * v.len() as u64).div_ceil(100).max(1) as usize;
    v.get(rank - 1).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: UserId = UserId(1);
    const B: UserId = UserId(2);
    const G1: GroupId = GroupId(1);
    const G2: GroupId = GroupId(2);

    #[test]
    fn a_first_response_meets_the_sla_up_to_its_second() {
        assert!(within_sla(Some(30_000), 30));
        assert!(!within_sla(Some(30_001), 30));
        assert!(!within_sla(Some(45_000), 30));
        assert!(within_sla(Some(45_000), 60));
        assert!(!within_sla(None, 3600), "never answered");
    }

    fn step(step: &str, actor: Option<UserId>, to: Option<UserId>, group: GroupId, at: Ms) -> Step {
        Step {
            step: step.into(),
            actor,
            to,
            group: Some(group),
            at,
        }
    }

    fn msg(conv: i64, at: Ms, inbound: bool, sender: Option<UserId>) -> Msg {
        Msg {
            conv: ConversationId(conv),
            follower: FollowerId(conv * 10),
            at,
            inbound,
            sender,
        }
    }

    /// Queued at 0 in group 1, A accepts at 10, hands it to B at 20 (who
    /// accepts), B sends it to group 2 at 30, routed to agent 3 at 40, ended at 50.
    fn journey() -> Conv {
        Conv {
            id: ConversationId(1),
            follower: FollowerId(10),
            group: G2,
            ended_at: Some(50),
            steps: vec![
                step("open", None, None, G1, 0),
                step("accept", Some(A), None, G1, 10),
                step("transfer_in_group", Some(A), Some(B), G1, 20),
                step("transfer_to_group", Some(B), None, G1, 30),
                step("route", None, Some(UserId(3)), G2, 40),
                step("end_by_agent", Some(UserId(3)), None, G2, 50),
            ],
            survey: Some((5, Some(true))),
        }
    }

    #[test]
    fn steps_replay_into_spans_with_the_group_the_work_was_done_in() {
        let sp = spans(&journey());
        let short: Vec<_> = sp
            .iter()
            .map(|s| (s.holder, s.group, s.start, s.end))
            .collect();
        assert_eq!(
            short,
            vec![
                (Holder::Queue, G1, 0, Some(10)),
                (Holder::Agent(A), G1, 10, Some(20)),
                (Holder::Agent(B), G1, 20, Some(30)),
                (Holder::Queue, G2, 30, Some(40)),
                (Holder::Agent(UserId(3)), G2, 40, Some(50)),
            ]
        );
    }

    #[test]
    fn workload_follows_the_definitions() {
        let msgs = vec![
            msg(1, 5, true, None),  // queued: nobody's
            msg(1, 12, true, None), // A's
            msg(1, 13, false, Some(A)),
            msg(1, 25, true, None), // B's
            msg(1, 26, false, Some(B)),
            msg(1, 27, false, Some(B)),
            msg(1, 45, true, None), // agent 3's, in group 2
        ];
        let all = workload(&[journey()], &msgs, Period { from: 0, to: 100 }, |_| true);
        assert_eq!(
            all[&A],
            Workload {
                followers: 1,
                taken: 1,
                in_group: 1,
                cross_group: 0,
                inbound: 1,
                replies: 1
            }
        );
        assert_eq!(
            all[&B],
            Workload {
                followers: 1,
                taken: 1,
                in_group: 0,
                cross_group: 1,
                inbound: 1,
                replies: 2
            }
        );
        assert_eq!(all[&UserId(3)].inbound, 1);
        // Group 1 alone: agent 3's work in group 2 is not there.
        let g1 = workload(&[journey()], &msgs, Period { from: 0, to: 100 }, |g| {
            g == G1
        });
        assert!(!g1.contains_key(&UserId(3)) || g1[&UserId(3)] == Workload::default());
        // A period after A's part: A took nothing then.
        let late = workload(&[journey()], &msgs, Period { from: 21, to: 100 }, |_| true);
        assert_eq!(late.get(&A).map(|w| w.taken).unwrap_or(0), 0);
    }

    #[test]
    fn a_requeue_in_the_same_group_is_no_cross_group_transfer() {
        let conv = Conv {
            id: ConversationId(2),
            follower: FollowerId(20),
            group: G1,
            ended_at: None,
            steps: vec![
                step("open", None, None, G1, 0),
                step("accept", Some(A), None, G1, 1),
                step("transfer_to_group", Some(A), None, G1, 2),
            ],
            survey: None,
        };
        let w = workload(&[conv], &[], Period { from: 0, to: 10 }, |_| true);
        assert_eq!(w[&A].cross_group, 0);
    }

    #[test]
    fn category_paths_and_subtrees() {
        let nodes = vec![
            CategoryNode {
                id: 1,
                parent: None,
                name: "售后".into(),
            },
            CategoryNode {
                id: 2,
                parent: Some(1),
                name: "退货".into(),
            },
            CategoryNode {
                id: 3,
                parent: Some(2),
                name: "运费".into(),
            },
            CategoryNode {
                id: 4,
                parent: None,
                name: "售前".into(),
            },
        ];
        let paths = category_paths(&nodes);
        assert_eq!(paths[2], (3, "售后/退货/运费".to_string()));
        assert_eq!(subtree(&nodes, 1), HashSet::from([1, 2, 3]));
        assert_eq!(subtree(&nodes, 4), HashSet::from([4]));
        let grid = categories_by_day(2, &[2, 4], &[(0, 2), (1, 2), (1, 4), (1, 9), (5, 2)]);
        assert_eq!(grid, vec![vec![1, 0], vec![1, 1]]);
    }

    #[test]
    fn hourly_counts_queue_entries_and_distinct_writers() {
        let routed_at_once = Conv {
            id: ConversationId(3),
            follower: FollowerId(30),
            group: G1,
            ended_at: None,
            steps: vec![
                step("open", None, None, G1, 3_600_000),
                step("route", None, Some(A), G1, 3_600_000),
            ],
            survey: None,
        };
        let msgs = vec![
            msg(3, 3_600_000, true, None),
            msg(3, 3_700_000, true, None),
            msg(1, 5, true, None),
        ];
        let h = hourly(
            &[journey(), routed_at_once],
            &msgs,
            Period {
                from: 0,
                to: 86_400_000,
            },
            |_| true,
            |t| (t / 3_600_000) as usize,
        );
        assert_eq!(
            h[0],
            Hour {
                queued: 2,
                followers: 1,
                messages: 1
            }
        );
        assert_eq!(
            h[1],
            Hour {
                queued: 0,
                followers: 1,
                messages: 2
            }
        );
    }

    #[test]
    fn queue_length_steps_up_and_down() {
        let q = queue_length(&[journey()], Period { from: 0, to: 100 }, |_| true);
        assert_eq!(q, vec![(0, 1), (10, 0), (30, 1), (40, 0)]);
        let g2 = queue_length(&[journey()], Period { from: 0, to: 100 }, |g| g == G2);
        assert_eq!(g2, vec![(0, 0), (30, 1), (40, 0)]);
    }

    #[test]
    fn statuses_along_a_day() {
        let seg = status_segments(
            Some(AgentStatus::Offline),
            &[
                (AgentStatus::Online, 10),
                (AgentStatus::Busy, 40),
                (AgentStatus::Offline, 70),
            ],
            Period { from: 0, to: 100 },
            100,
        );
        assert_eq!(
            seg,
            vec![
                (AgentStatus::Offline, 0, 10),
                (AgentStatus::Online, 10, 40),
                (AgentStatus::Busy, 40, 70),
                (AgentStatus::Offline, 70, 100),
            ]
        );
        let t = status_totals(&seg);
        assert_eq!(t[&AgentStatus::Online], 30);
        // Today: nothing after now.
        let seg = status_segments(
            Some(AgentStatus::Online),
            &[],
            Period { from: 0, to: 100 },
            60,
        );
        assert_eq!(seg, vec![(AgentStatus::Online, 0, 60)]);
    }

    #[test]
    fn service_level_inputs() {
        let msgs = vec![
            msg(1, 13, false, Some(A)),
            msg(1, 48, false, Some(UserId(3))),
        ];
        let fr = first_responses(&[journey()], &msgs, Period { from: 0, to: 100 }, |_| true);
        assert_eq!(fr, vec![(G1, A, Some(3)), (G2, UserId(3), Some(8))]);
        let h = handled(&[journey()], Period { from: 0, to: 100 }, |_| true);
        assert_eq!(h, vec![(G2, UserId(3), 40, Some((5, Some(true))))]);
        let ab = abandonment(&[journey()], Period { from: 0, to: 100 }, |_| true);
        assert_eq!(ab[&G1], (1, 0));
        assert_eq!(ab[&G2], (1, 0));
        assert_eq!(median(&[5, 1, 3]), Some(3));
        assert_eq!(median(&[4, 1, 3, 2]), Some(2));
        assert_eq!(percentile(&(1..=10).collect::<Vec<_>>(), 90), Some(9));
        assert_eq!(median(&[]), None);
    }
}
