//! A realistic data folder for benches and for trying the reports on real
//! volumes (issue 10): `kefu fixture` (hidden) and `benches/reports.rs` build
//! it. Five groups of ten agents, one account serving them all, followers who
//! come back, 90 days of conversations with the working day's rhythm —
//! queueing, routing, accepting, transfers in and across groups, abandoned and
//! expired queues, categories, surveys — and agents' status days.
//!
//! This module only *plans* the rows (deterministic for a seed, no I/O);
//! `db::fixture` writes them. Ids are positions: user `k` is the k-th of
//! [`Plan::users`], group `g` the g-th of [`GROUPS`], and so on; `db::fixture`
//! maps positions to row ids.

use crate::db::{self, Db, DbError};
use fastrand::Rng;

/// The groups: (name, ident).
pub const GROUPS: [(&str, &str); 5] = [
    ("售前组", "presale"),
    ("售后组", "aftersale"),
    ("物流组", "shipping"),
    ("会员组", "member"),
    ("投诉组", "complaint"),
];

/// Each group's 咨询分类 as (top, children).
pub const CATEGORIES: [(&str, [&str; 2]); 3] = [
    ("咨询", ["价格", "库存"]),
    ("售后", ["退货", "换货"]),
    ("物流", ["催单", "破损"]),
];

/// Agents per group.
pub const AGENTS_PER_GROUP: usize = 10;

/// The follower whose history holds [`HEAVY_MESSAGES`] messages (the PDF bench).
pub const HEAVY_OPENID: &str = "oFIXTUREheavyfollower0000000";
pub const HEAVY_CONVERSATIONS: usize = 200;
pub const HEAVY_MESSAGES: usize = 10_000;

const DAY: i64 = 86_400_000;
const HOUR: i64 = 3_600_000;
const SEC: i64 = 1_000;

/// How big, how long, which seed.
#[derive(Clone, Debug)]
pub struct Spec {
    pub conversations: usize,
    pub messages: usize,
    pub days: i64,
    /// Midnight (in the configured zone) that starts the first day, ms.
    pub first_day: i64,
    pub seed: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Role {
    SuperAdmin,
    Admin,
    Agent,
}

/// A user to create: login name, display name, role, groups (positions).
#[derive(Clone, Debug)]
pub struct User {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub groups: Vec<usize>,
}

/// One step of a conversation, as `conversation_events` stores it. Users are
/// positions in [`Plan::users`], groups positions in [`GROUPS`].
#[derive(Clone, Debug)]
pub struct Event {
    pub at: i64,
    pub step: &'static str,
    pub actor: Option<usize>,
    pub to: Option<usize>,
    pub group: usize,
}

#[derive(Clone, Debug)]
pub struct Message {
    pub at: i64,
    pub inbound: bool,
    /// The agent who typed it (outbound); `None` outbound = automatic reply.
    pub sender: Option<usize>,
    pub text: String,
}

#[derive(Clone, Debug)]
pub struct Conversation {
    pub follower: usize,
    pub group: usize,
    /// `ended`, or `queued` / `active` for the few still open at the end.
    pub state: &'static str,
    pub agent: Option<usize>,
    pub opened_at: i64,
    pub accepted_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub events: Vec<Event>,
    pub messages: Vec<Message>,
    /// (top, child) positions in [`CATEGORIES`].
    pub categories: Vec<(usize, usize)>,
    /// (score 1–5, solved)
    pub survey: Option<(i64, bool)>,
    /// An accepted in-group transfer: (from, to, at).
    pub transfer: Option<(usize, usize, i64)>,
}

/// The whole plan, produced conversation by conversation.
pub struct Plan {
    pub spec: Spec,
    rng: Rng,
    pub users: Vec<User>,
    /// Followers; position 0 is the heavy one.
    pub followers: usize,
    wx_msg_id: i64,
}

/// Local hour weights: quiet nights, busy mornings, afternoons and evenings.
const HOURS: [u32; 24] = [
    1, 1, 1, 1, 1, 1, 2, 4, 8, 12, 14, 13, 9, 10, 12, 12, 11, 9, 8, 9, 10, 9, 5, 2,
];

const ASKS: [&str; 12] = [
    "你好，在吗？",
    "我的订单 2026120188 什么时候发货？",
    "这个有现货吗？",
    "退款多久到账？",
    "快递显示签收了，但是我没收到。",
    "可以开发票吗？",
    "尺码偏大还是偏小？",
    "会员积分怎么用？",
    "东西坏了，想换一个。",
    "物流三天没更新了。",
    "优惠券用不了，提示已过期。",
    "好的，谢谢！",
];

const ANSWERS: [&str; 10] = [
    "您好，请问有什么可以帮您？",
    "我帮您查一下，请稍等。",
    "已为您催促仓库，今天内发出。",
    "退款会在 1–3 个工作日内原路退回。",
    "有现货的，下单后 48 小时内发货。",
    "可以的，请把开票信息发给我。",
    "建议选大一码。",
    "麻烦拍一张照片给我，我们给您换新。",
    "已为您登记，快递员会联系您。",
    "不客气，祝您生活愉快！",
];

impl Plan {
    pub fn new(spec: Spec) -> Plan {
        let mut users = vec![User {
            username: "admin".into(),
            display_name: "超级管理员".into(),
            role: Role::SuperAdmin,
            groups: vec![],
        }];
        for (g, (name, _)) in GROUPS.iter().enumerate() {
            users.push(User {
                username: format!("admin{}", g + 1),
                display_name: format!("{name}管理员"),
                role: Role::Admin,
                groups: vec![g],
            });
        }
        for g in 0..GROUPS.len() {
            for a in 0..AGENTS_PER_GROUP {
                let n = g * AGENTS_PER_GROUP + a + 1;
                users.push(User {
                    username: format!("agent{n:02}"),
                    display_name: format!("客服{n:02}"),
                    role: Role::Agent,
                    groups: vec![g],
                });
            }
        }
        // Followers come back: about 2.5 conversations each.
        let followers = (spec.conversations * 2 / 5).max(60);
        Plan {
            rng: Rng::with_seed(spec.seed),
            spec,
            users,
            followers,
            wx_msg_id: 30_000_000_000_000_000,
        }
    }

    /// The user position of agent `a` (0..10) of group `g`.
    pub fn agent(g: usize, a: usize) -> usize {
        1 + GROUPS.len() + g * AGENTS_PER_GROUP + a
    }

    pub fn agents(&self) -> impl Iterator<Item = usize> + '_ {
        (0..GROUPS.len() * AGENTS_PER_GROUP).map(|i| 1 + GROUPS.len() + i)
    }

    /// The OpenID of follower `f` (28 characters, as WeChat's are).
    pub fn openid(f: usize) -> String {
        if f == 0 {
            HEAVY_OPENID.to_string()
        } else {
            format!("oFIXTURE{f:0>20}")
        }
    }

    pub fn next_wx_msg_id(&mut self) -> i64 {
        self.wx_msg_id += 1;
        self.wx_msg_id
    }

    fn local_hour(&mut self) -> i64 {
        let total: u32 = HOURS.iter().sum();
        let mut pick = self.rng.u32(0..total);
        for (h, w) in HOURS.iter().enumerate() {
            if pick < *w {
                return h as i64;
            }
            pick -= w;
        }
        12
    }

    /// A moment in day `d` following the working day's rhythm.
    fn moment(&mut self, day: i64) -> i64 {
        let hour = self.local_hour();
        self.spec.first_day + day * DAY + hour * HOUR + self.rng.i64(0..HOUR)
    }

    /// The `i`-th conversation (0-based) of `spec.conversations`.
    pub fn conversation(&mut self, i: usize) -> Conversation {
        let total = self.spec.conversations;
        // Every stride-th conversation is the heavy follower's, spread over the days.
        let heavies = HEAVY_CONVERSATIONS.min(total / 10).max(1);
        let heavy = i % (total / heavies).max(1) == 0
            && i / (total / heavies).max(1) < heavies
            && total - i > 50;
        // The last 50 stay open (30 queued, 20 active), each its own follower.
        let open = total.saturating_sub(i) <= 50 && !heavy;
        let follower = if heavy {
            0
        } else if open {
            self.followers - (total - i)
        } else {
            1 + self.rng.usize(0..self.followers - 51)
        };
        let group = if heavy { 1 } else { self.pick_group() };
        let last_day = self.spec.days - 1;
        // Days in order, as ids grow in a real database (a report's period
        // is then a stretch of rows, not rows scattered over the file).
        let day = if open {
            last_day
        } else {
            (i as i64 * self.spec.days / total.max(1) as i64).min(last_day)
        };
        let opened = self.moment(day);
        let want = if heavy {
            HEAVY_MESSAGES / HEAVY_CONVERSATIONS
        } else {
            // Spread over the others, a little more each for the queues left
            // early (≤ 3 messages).
            let others = total.saturating_sub(heavies).max(1);
            let avg =
                self.spec.messages.saturating_sub(HEAVY_MESSAGES) as f64 * 1.05 / others as f64;
            ((avg.max(2.0) * (0.5 + self.rng.f64())).round() as usize).max(1)
        };
        let mut c = Conversation {
            follower,
            group,
            state: "ended",
            agent: None,
            opened_at: opened,
            accepted_at: None,
            ended_at: None,
            events: vec![Event {
                at: opened,
                step: "open",
                actor: None,
                to: None,
                group,
            }],
            messages: Vec::new(),
            categories: Vec::new(),
            survey: None,
            transfer: None,
        };
        let roll = self.rng.u32(0..100);
        if open && i % 5 < 3 {
            c.state = "queued";
            self.messages(&mut c, opened, opened + 60 * SEC, None, want.min(2), true);
            return c;
        }
        if !heavy && !open && roll < 6 {
            // Left the queue by 放弃排队 or expired in it.
            let (step, wait) = if roll < 4 {
                ("abandon", self.rng.i64(30..600) * SEC)
            } else {
                ("expire", self.rng.i64(2..6) * HOUR)
            };
            let end = opened + wait;
            self.messages(&mut c, opened, end, None, want.min(3), true);
            c.events.push(Event {
                at: end,
                step,
                actor: None,
                to: None,
                group,
            });
            c.ended_at = Some(end);
            return c;
        }
        // Taken: routed in the same instant, or accepted after a wait.
        let mut agent = Self::agent(group, self.rng.usize(0..AGENTS_PER_GROUP));
        let wait = if self.rng.u32(0..100) < 25 {
            0
        } else if self.rng.u32(0..100) < 70 {
            self.rng.i64(2..30) * SEC
        } else {
            self.rng.i64(30..300) * SEC
        };
        let taken = opened + wait;
        c.events.push(Event {
            at: taken,
            step: if wait == 0 { "route" } else { "accept" },
            actor: (wait > 0).then_some(agent),
            to: (wait == 0).then_some(agent),
            group,
        });
        c.accepted_at = Some(taken);
        let length = self.rng.i64(3..40) * 60 * SEC;
        let end = taken + length;
        let mut cursor = opened;
        let mut group_now = group;
        let mut left = want;
        let first = (want / 6).max(1);
        self.messages(&mut c, cursor, taken, None, first.min(left), true);
        left -= first.min(left);
        cursor = taken;
        let turn = self.rng.u32(0..100);
        if !open && turn < 11 {
            let at = taken + length / 2;
            let share = left / 2;
            self.messages(&mut c, cursor, at, Some(agent), share, false);
            left -= share;
            cursor = at;
            if turn < 8 {
                let other = Self::agent(group, self.rng.usize(0..AGENTS_PER_GROUP));
                if other != agent {
                    c.events.push(Event {
                        at,
                        step: "transfer_in_group",
                        actor: Some(agent),
                        to: Some(other),
                        group,
                    });
                    c.transfer = Some((agent, other, at));
                    agent = other;
                }
            } else {
                let target = (group + 1 + self.rng.usize(0..GROUPS.len() - 1)) % GROUPS.len();
                c.events.push(Event {
                    at,
                    step: "transfer_to_group",
                    actor: Some(agent),
                    to: None,
                    group,
                });
                agent = Self::agent(target, self.rng.usize(0..AGENTS_PER_GROUP));
                let taken_again = at + self.rng.i64(5..120) * SEC;
                c.events.push(Event {
                    at: taken_again,
                    step: "accept",
                    actor: Some(agent),
                    to: None,
                    group: target,
                });
                group_now = target;
                cursor = taken_again;
            }
        }
        // A transfer to another group may have taken longer than planned.
        let end = end.max(cursor + 60 * SEC);
        c.group = group_now;
        c.agent = Some(agent);
        if open {
            c.state = "active";
            self.messages(
                &mut c,
                cursor,
                cursor + 10 * 60 * SEC,
                Some(agent),
                left,
                false,
            );
            return c;
        }
        self.messages(&mut c, cursor, end, Some(agent), left, false);
        let by_agent = self.rng.u32(0..100) < 90;
        c.events.push(Event {
            at: end,
            step: if by_agent {
                "end_by_agent"
            } else {
                "end_by_timeout"
            },
            actor: by_agent.then_some(agent),
            to: None,
            group: group_now,
        });
        c.ended_at = Some(end);
        let cat = self.rng.u32(0..100);
        if cat < 95 {
            let top = self.rng.usize(0..CATEGORIES.len());
            c.categories.push((top, self.rng.usize(0..2)));
            if cat < 10 {
                let other = (top + 1) % CATEGORIES.len();
                c.categories.push((other, self.rng.usize(0..2)));
            }
        }
        if self.rng.u32(0..100) < 35 {
            let score = [1, 2, 3, 4, 4, 5, 5, 5, 5, 5][self.rng.usize(0..10)];
            c.survey = Some((score, self.rng.u32(0..100) < 80));
        }
        c
    }

    fn pick_group(&mut self) -> usize {
        // 售前 and 售后 carry most of the traffic.
        const W: [u32; 5] = [35, 30, 15, 12, 8];
        let mut pick = self.rng.u32(0..100);
        for (g, w) in W.iter().enumerate() {
            if pick < *w {
                return g;
            }
            pick -= w;
        }
        0
    }

    /// `n` messages spread over `[from, to)`: while queued only the follower
    /// writes; with an agent they alternate, some replies automatic.
    fn messages(
        &mut self,
        c: &mut Conversation,
        from: i64,
        to: i64,
        agent: Option<usize>,
        n: usize,
        queued: bool,
    ) {
        let span = (to - from).max(n as i64 + 1);
        for k in 0..n {
            let at = from
                + span * k as i64 / n.max(1) as i64
                + self.rng.i64(0..(span / (n as i64 + 1)).max(1));
            let inbound = queued || agent.is_none() || k % 2 == 0;
            let (sender, text) = if inbound {
                (None, ASKS[self.rng.usize(0..ASKS.len())].to_string())
            } else if self.rng.u32(0..100) < 8 {
                (None, "您好，客服正在为您服务，请稍候。".to_string())
            } else {
                (agent, ANSWERS[self.rng.usize(0..ANSWERS.len())].to_string())
            };
            c.messages.push(Message {
                at: at.min(to.max(from)),
                inbound,
                sender,
                text,
            });
        }
    }

    /// An agent's status changes on day `d`: online in the morning, away at
    /// lunch, busy a while in the afternoon, offline in the evening.
    pub fn status_day(&mut self, d: i64) -> Vec<(i64, &'static str)> {
        let base = self.spec.first_day + d * DAY;
        let mut v = vec![
            (base + 8 * HOUR + self.rng.i64(40..80) * 60 * SEC, "online"),
            (base + 12 * HOUR + self.rng.i64(0..10) * 60 * SEC, "away"),
            (base + 13 * HOUR + self.rng.i64(0..10) * 60 * SEC, "online"),
            (base + 15 * HOUR + self.rng.i64(0..30) * 60 * SEC, "busy"),
            (base + 15 * HOUR + self.rng.i64(40..60) * 60 * SEC, "online"),
            (base + 18 * HOUR + self.rng.i64(0..40) * 60 * SEC, "offline"),
        ];
        v.sort_by_key(|(at, _)| *at);
        v
    }
}

/// What [`build`] wrote.
#[derive(Clone, Debug)]
pub struct Summary {
    pub counts: Vec<(&'static str, i64)>,
    pub heavy_follower: Option<i64>,
    pub first_day: i64,
}

/// The first day's midnight in `tz` for a fixture of `days` days ending today.
pub fn first_day(tz: &jiff::tz::TimeZone, now: jiff::Timestamp, days: i64) -> i64 {
    let today = now.to_zoned(tz.clone()).date();
    today
        .checked_sub(jiff::Span::new().days(days - 1))
        .ok()
        .and_then(|d| d.to_zoned(tz.clone()).ok())
        .map_or(now.as_millisecond() - days * DAY, |z| {
            z.timestamp().as_millisecond()
        })
}

/// Builds the plan into `db` (which must be empty), in chunks of 2,000
/// conversations, calling `progress(done, total)` after each.
pub async fn build(
    db: &Db,
    spec: Spec,
    password_hash: String,
    now: i64,
    mut progress: impl FnMut(usize, usize),
) -> Result<Summary, DbError> {
    if !db.read(db::fixture::ensure_empty).await? {
        return Err(DbError::Commit(
            "the database already has users or messages; a fixture needs an empty data folder"
                .into(),
        ));
    }
    let total = spec.conversations;
    let first = spec.first_day;
    let plan = std::sync::Arc::new(std::sync::Mutex::new(Plan::new(spec)));
    let p = plan.clone();
    let ids = db
        .write(move |c| {
            let mut plan = p.lock().map_err(|_| DbError::Closed)?;
            let ids = db::fixture::team(c, &mut plan, &password_hash, now)?;
            db::fixture::status_days(c, &mut plan, &ids)?;
            Ok::<_, DbError>(ids)
        })
        .await?;
    let ids = std::sync::Arc::new(ids);
    let mut done = 0;
    while done < total {
        let end = (done + 2_000).min(total);
        let (p, ids) = (plan.clone(), ids.clone());
        db.write(move |c| {
            let mut plan = p.lock().map_err(|_| DbError::Closed)?;
            db::fixture::conversations(c, &mut plan, &ids, done..end)
        })
        .await?;
        done = end;
        progress(done, total);
    }
    Ok(Summary {
        counts: db.read(db::fixture::counts).await?,
        heavy_follower: db.read(db::fixture::heavy_follower).await?,
        first_day: first,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(n: usize) -> Spec {
        Spec {
            conversations: n,
            messages: n * 10,
            days: 90,
            first_day: 1_760_000_000_000,
            seed: 7,
        }
    }

    #[test]
    fn plans_are_deterministic_and_well_formed() {
        let mut a = Plan::new(spec(2_000));
        let mut b = Plan::new(spec(2_000));
        let mut open_followers = std::collections::HashSet::new();
        let mut messages = 0;
        for i in 0..2_000 {
            let (x, y) = (a.conversation(i), b.conversation(i));
            assert_eq!(x.opened_at, y.opened_at);
            assert_eq!(x.messages.len(), y.messages.len());
            // Steps are in time order and the conversation's group is where it ended up.
            assert!(x.events.windows(2).all(|w| w[0].at <= w[1].at), "{x:?}");
            assert_eq!(x.events.last().map(|e| e.group), Some(x.group));
            if x.state == "ended" {
                assert!(x.ended_at.is_some());
            } else {
                assert!(
                    open_followers.insert(x.follower),
                    "one open conversation per follower"
                );
            }
            assert!(x.messages.iter().all(|m| m.at >= x.opened_at - 1));
            messages += x.messages.len();
        }
        assert_eq!(open_followers.len(), 50);
        // About the asked number of messages (±15%).
        assert!((17_000..=23_000).contains(&messages), "{messages}");
    }
}
