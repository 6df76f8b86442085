//! Who receives a queued conversation (B3, B4; S2 allocation priorities).
//!
//! Order: the follower's assigned owner (负责人) > the familiar agent (the last
//! agent who served them, within `familiar_days`) > the group's strategy
//! (round robin, least busy, random). Only agents who are online and under
//! their auto-accept limit receive; an agent with auto-accept off accepts from
//! the queue by hand. VIP followers are served first: that is the queue's order
//! ([`queue_order`]), not a choice of agent. Pure functions: the caller passes
//! the candidates, the conversation and `now` (and a seed for "random").

use crate::model::{AgentStatus, RoutingStrategy, UserId};
use jiff::{SignedDuration, Timestamp};

/// An agent of the group, as routing sees them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Candidate {
    pub agent: UserId,
    pub status: AgentStatus,
    /// Conversations they hold now.
    pub active: u32,
    /// Auto-accept limit (10/20/30/40/50); `None` when auto-accept is off.
    pub auto_accept: Option<u32>,
    /// When they last received a conversation (round robin's memory).
    pub last_assigned_at: Option<Timestamp>,
}

impl Candidate {
    /// May receive a conversation without accepting it by hand.
    pub fn can_receive(&self) -> bool {
        self.status == AgentStatus::Online
            && self.auto_accept.is_some_and(|limit| self.active < limit)
    }
}

/// What routing knows of the conversation.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Wanted {
    /// The follower's assigned owner (负责人).
    pub owner: Option<UserId>,
    /// The last agent who served the follower, and when.
    pub last_agent: Option<(UserId, Timestamp)>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Why {
    Owner,
    Familiar,
    Strategy,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    Assign {
        agent: UserId,
        why: Why,
    },
    /// Nobody can receive it now: it waits in the queue.
    Queue,
}

pub struct Rules {
    pub strategy: RoutingStrategy,
    /// How long an agent stays "familiar" (default 7 days).
    pub familiar_days: i64,
}

pub fn route(
    rules: &Rules,
    candidates: &[Candidate],
    wanted: &Wanted,
    now: Timestamp,
    seed: u64,
) -> Decision {
    let eligible = |id: UserId| candidates.iter().find(|c| c.agent == id && c.can_receive());
    if let Some(owner) = wanted.owner.and_then(eligible) {
        return Decision::Assign {
            agent: owner.agent,
            why: Why::Owner,
        };
    }
    if let Some((agent, at)) = wanted.last_agent {
        let recent = now.duration_since(at) <= SignedDuration::from_hours(24 * rules.familiar_days);
        if recent {
            if let Some(c) = eligible(agent) {
                return Decision::Assign {
                    agent: c.agent,
                    why: Why::Familiar,
                };
            }
        }
    }
    let pool: Vec<&Candidate> = candidates.iter().filter(|c| c.can_receive()).collect();
    let chosen = match rules.strategy {
        // The one who waited longest since their last conversation (never first).
        RoutingStrategy::RoundRobin => pool.iter().min_by_key(|c| (c.last_assigned_at, c.agent)),
        RoutingStrategy::LeastBusy => pool
            .iter()
            .min_by_key(|c| (c.active, c.last_assigned_at, c.agent)),
        RoutingStrategy::Random => {
            if pool.is_empty() {
                None
            } else {
                pool.get((splitmix(seed) % pool.len() as u64) as usize)
            }
        }
    };
    match chosen {
        Some(c) => Decision::Assign {
            agent: c.agent,
            why: Why::Strategy,
        },
        None => Decision::Queue,
    }
}

/// A well-mixed number from a seed (so "random" is reproducible in tests).
fn splitmix(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A queued follower, for ordering the queue.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Queued<T> {
    pub item: T,
    pub vip: bool,
    pub queued_at: Timestamp,
}

/// VIP followers first, then first come first served.
pub fn queue_order<T>(mut queue: Vec<Queued<T>>) -> Vec<Queued<T>> {
    queue.sort_by_key(|q| (!q.vip, q.queued_at));
    queue
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(mins: i64) -> Timestamp {
        Timestamp::UNIX_EPOCH + SignedDuration::from_mins(mins)
    }

    fn agent(
        id: i64,
        status: AgentStatus,
        active: u32,
        limit: Option<u32>,
        last: Option<i64>,
    ) -> Candidate {
        Candidate {
            agent: UserId(id),
            status,
            active,
            auto_accept: limit,
            last_assigned_at: last.map(t),
        }
    }

    fn rules(strategy: RoutingStrategy) -> Rules {
        Rules {
            strategy,
            familiar_days: 7,
        }
    }

    #[test]
    fn the_priorities_in_order() {
        use AgentStatus::*;
        let team = vec![
            agent(1, Online, 0, Some(10), Some(5)),
            agent(2, Online, 3, Some(10), Some(1)),
            agent(3, Online, 1, Some(10), None),
            agent(4, Busy, 0, Some(10), None),
            agent(5, Online, 10, Some(10), None),
            agent(6, Online, 0, None, None),
        ];
        let now = t(60 * 24 * 30);
        let days_ago = |d: i64| now - SignedDuration::from_hours(24 * d);
        // (wanted, strategy, expected)
        let cases = [
            (
                Wanted {
                    owner: Some(UserId(2)),
                    last_agent: Some((UserId(1), days_ago(1))),
                },
                RoutingStrategy::LeastBusy,
                Decision::Assign {
                    agent: UserId(2),
                    why: Why::Owner,
                },
            ),
            (
                Wanted {
                    owner: Some(UserId(4)),
                    last_agent: Some((UserId(2), days_ago(6))),
                },
                RoutingStrategy::LeastBusy,
                Decision::Assign {
                    agent: UserId(2),
                    why: Why::Familiar,
                },
            ),
            (
                Wanted {
                    owner: Some(UserId(5)),
                    last_agent: Some((UserId(2), days_ago(8))),
                },
                RoutingStrategy::LeastBusy,
                Decision::Assign {
                    agent: UserId(1),
                    why: Why::Strategy,
                },
            ),
            (
                Wanted {
                    owner: None,
                    last_agent: Some((UserId(6), days_ago(1))),
                },
                RoutingStrategy::RoundRobin,
                Decision::Assign {
                    agent: UserId(3),
                    why: Why::Strategy,
                },
            ),
            (
                Wanted::default(),
                RoutingStrategy::RoundRobin,
                Decision::Assign {
                    agent: UserId(3),
                    why: Why::Strategy,
                },
            ),
        ];
        for (i, (wanted, strategy, want)) in cases.into_iter().enumerate() {
            assert_eq!(
                route(&rules(strategy), &team, &wanted, now, 1),
                want,
                "case {i}"
            );
        }
        let nobody = vec![
            agent(4, Busy, 0, Some(10), None),
            agent(7, Away, 0, Some(10), None),
            agent(8, Offline, 0, Some(10), None),
            agent(6, Online, 0, None, None),
        ];
        assert_eq!(
            route(
                &rules(RoutingStrategy::Random),
                &nobody,
                &Wanted::default(),
                now,
                9
            ),
            Decision::Queue
        );
    }

    #[test]
    fn vip_followers_are_served_first_then_in_arrival_order() {
        let q = vec![
            Queued {
                item: "a",
                vip: false,
                queued_at: t(1),
            },
            Queued {
                item: "b",
                vip: true,
                queued_at: t(5),
            },
            Queued {
                item: "c",
                vip: false,
                queued_at: t(0),
            },
            Queued {
                item: "d",
                vip: true,
                queued_at: t(2),
            },
        ];
        let order: Vec<&str> = queue_order(q).into_iter().map(|q| q.item).collect();
        assert_eq!(order, ["d", "b", "c", "a"]);
    }

    fn arb_candidate() -> impl Strategy<Value = Candidate> {
        (
            1i64..20,
            0usize..4,
            0u32..60,
            proptest::option::of(prop_oneof![
                Just(10u32),
                Just(20),
                Just(30),
                Just(40),
                Just(50)
            ]),
            proptest::option::of(0i64..1000),
        )
            .prop_map(|(id, s, active, limit, last)| Candidate {
                agent: UserId(id),
                status: AgentStatus::ALL[s],
                active,
                auto_accept: limit,
                last_assigned_at: last.map(t),
            })
    }

    proptest! {
        #[test]
        fn never_to_an_agent_who_cannot_receive(
            team in proptest::collection::vec(arb_candidate(), 0..12),
            owner in proptest::option::of(1i64..20),
            last in proptest::option::of((1i64..20, 0i64..20_000)),
            s in 0usize..3,
            seed in any::<u64>(),
        ) {
            let strategy = RoutingStrategy::ALL[s];
            let wanted = Wanted { owner: owner.map(UserId), last_agent: last.map(|(a, m)| (UserId(a), t(m))) };
            match route(&rules(strategy), &team, &wanted, t(20_000), seed) {
                Decision::Assign { agent, .. } => {
                    let c = team.iter().find(|c| c.agent == agent && c.can_receive());
                    prop_assert!(c.is_some(), "assigned to {agent:?} who cannot receive: {team:?}");
                    let c = c.unwrap();
                    prop_assert_eq!(c.status, AgentStatus::Online);
                    prop_assert!(c.active < c.auto_accept.unwrap());
                }
                Decision::Queue => prop_assert!(team.iter().all(|c| !c.can_receive())),
            }
        }

        #[test]
        fn least_busy_picks_the_least_loaded(team in proptest::collection::vec(arb_candidate(), 1..12)) {
            if let Decision::Assign { agent, .. } = route(&rules(RoutingStrategy::LeastBusy), &team, &Wanted::default(), t(0), 0) {
                let chosen = team.iter().filter(|c| c.agent == agent && c.can_receive()).map(|c| c.active).min().unwrap();
                let least = team.iter().filter(|c| c.can_receive()).map(|c| c.active).min().unwrap();
                prop_assert_eq!(chosen, least);
            }
        }

        #[test]
        fn round_robin_is_fair_over_many_assignments(n in 2usize..8, rounds in 1usize..40) {
            let mut team: Vec<Candidate> =
                (0..n).map(|i| agent(i as i64 + 1, AgentStatus::Online, 0, Some(50), None)).collect();
            let mut got = vec![0usize; n];
            for k in 0..(n * rounds) {
                match route(&rules(RoutingStrategy::RoundRobin), &team, &Wanted::default(), t(k as i64), 0) {
                    Decision::Assign { agent, .. } => {
                        let i = (agent.0 - 1) as usize;
                        got[i] += 1;
                        team[i].last_assigned_at = Some(t(k as i64));
                    }
                    Decision::Queue => prop_assert!(false, "everyone is free"),
                }
            }
            prop_assert!(got.iter().all(|g| *g == rounds), "{got:?}");
        }

        #[test]
        fn random_stays_within_the_eligible(seed in any::<u64>()) {
            use AgentStatus::*;
            let team = vec![agent(1, Online, 0, Some(10), None), agent(2, Busy, 0, Some(10), None), agent(3, Online, 0, Some(10), None)];
            match route(&rules(RoutingStrategy::Random), &team, &Wanted::default(), t(0), seed) {
                Decision::Assign { agent, .. } => prop_assert!(agent == UserId(1) || agent == UserId(3)),
                Decision::Queue => prop_assert!(false),
            }
        }
    }
}
