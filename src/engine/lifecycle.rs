//! The conversation life cycle (B1): queued (排队中) → in session (会话中) →
//! ended (已接待), and every step's reason. A pure transition function: the
//! storage layer records each accepted step as an event row (who, when, why);
//! a refused step says why in words an agent reads.

use crate::model::{ConversationState, UserId};

/// Why a conversation moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Step {
    /// A follower's message (or keyword, or menu click) opened it.
    Open,
    /// An agent took it from the queue by hand.
    Accept {
        by: UserId,
    },
    /// Routing gave it to an agent (auto-accept).
    Route {
        to: UserId,
    },
    /// The holder handed it to another agent of the group, who accepted.
    TransferInGroup {
        from: UserId,
        to: UserId,
    },
    /// The holder sent it to another group's queue.
    TransferToGroup {
        from: UserId,
    },
    EndByAgent {
        by: UserId,
    },
    EndByTimeout,
    /// The follower sent 放弃排队.
    Abandon,
    /// Waited in the queue too long.
    Expire,
    /// An admin removed a queued follower.
    Remove {
        by: UserId,
    },
}

/// A conversation's state and holder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Status {
    pub state: ConversationState,
    pub holder: Option<UserId>,
}

/// The state after `step`, or the reason it is not allowed.
pub fn next(current: Option<Status>, step: Step) -> Result<Status, &'static str> {
    use ConversationState::*;
    let queued = Status {
        state: Queued,
        holder: None,
    };
    match (current, step) {
        (None, Step::Open) => Ok(queued),
        (Some(_), Step::Open) => Err("该粉丝已有进行中的会话"),
        (None, _) => Err("会话不存在"),
        (Some(s), _) if s.state == Ended => Err("会话已结束"),
        (Some(s), Step::Accept { by }) => match s.state {
            Queued => Ok(Status {
                state: Active,
                holder: Some(by),
            }),
            _ => Err("该会话已被其他客服接入"),
        },
        (Some(s), Step::Route { to }) => match s.state {
            Queued => Ok(Status {
                state: Active,
                holder: Some(to),
            }),
            _ => Err("该会话已被其他客服接入"),
        },
        (Some(s), Step::TransferInGroup { from, to }) => {
            if s.state != Active || s.holder != Some(from) {
                Err("只有接待该会话的客服可以转接")
            } else if from == to {
                Err("不能转接给自己")
            } else {
                Ok(Status {
                    state: Active,
                    holder: Some(to),
                })
            }
        }
        (Some(s), Step::TransferToGroup { from }) => {
            if s.state != Active || s.holder != Some(from) {
                Err("只有接待该会话的客服可以转接")
            } else {
                Ok(queued)
            }
        }
        (Some(s), Step::EndByAgent { by }) => {
            if s.state == Active && s.holder == Some(by) {
                Ok(Status {
                    state: Ended,
                    holder: s.holder,
                })
            } else {
                Err("只有接待该会话的客服可以结束会话")
            }
        }
        (Some(s), Step::EndByTimeout) => {
            if s.state == Active {
                Ok(Status {
                    state: Ended,
                    holder: s.holder,
                })
            } else {
                Err("只有会话中的会话会超时结束")
            }
        }
        (Some(s), Step::Abandon | Step::Expire | Step::Remove { .. }) => {
            if s.state == Queued {
                Ok(Status {
                    state: Ended,
                    holder: None,
                })
            } else {
                Err("只有排队中的会话可以这样结束")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConversationState::*;

    const A: UserId = UserId(1);
    const B: UserId = UserId(2);

    fn st(state: ConversationState, holder: Option<UserId>) -> Option<Status> {
        Some(Status { state, holder })
    }

    #[test]
    fn the_life_cycle_table() {
        let cases: Vec<(Option<Status>, Step, Result<Status, &str>)> = vec![
            (
                None,
                Step::Open,
                Ok(Status {
                    state: Queued,
                    holder: None,
                }),
            ),
            (st(Queued, None), Step::Open, Err("该粉丝已有进行中的会话")),
            (
                st(Queued, None),
                Step::Accept { by: A },
                Ok(Status {
                    state: Active,
                    holder: Some(A),
                }),
            ),
            (
                st(Active, Some(A)),
                Step::Accept { by: B },
                Err("该会话已被其他客服接入"),
            ),
            (
                st(Queued, None),
                Step::Route { to: B },
                Ok(Status {
                    state: Active,
                    holder: Some(B),
                }),
            ),
            (
                st(Active, Some(A)),
                Step::TransferInGroup { from: A, to: B },
                Ok(Status {
                    state: Active,
                    holder: Some(B),
                }),
            ),
            (
                st(Active, Some(A)),
                Step::TransferInGroup { from: B, to: A },
                Err("只有接待该会话的客服可以转接"),
            ),
            (
                st(Active, Some(A)),
                Step::TransferInGroup { from: A, to: A },
                Err("不能转接给自己"),
            ),
            (
                st(Active, Some(A)),
                Step::TransferToGroup { from: A },
                Ok(Status {
                    state: Queued,
                    holder: None,
                }),
            ),
            (
                st(Active, Some(A)),
                Step::EndByAgent { by: B },
                Err("只有接待该会话的客服可以结束会话"),
            ),
            (
                st(Active, Some(A)),
                Step::EndByAgent { by: A },
                Ok(Status {
                    state: Ended,
                    holder: Some(A),
                }),
            ),
            (
                st(Active, Some(A)),
                Step::EndByTimeout,
                Ok(Status {
                    state: Ended,
                    holder: Some(A),
                }),
            ),
            (
                st(Queued, None),
                Step::EndByTimeout,
                Err("只有会话中的会话会超时结束"),
            ),
            (
                st(Queued, None),
                Step::Abandon,
                Ok(Status {
                    state: Ended,
                    holder: None,
                }),
            ),
            (
                st(Queued, None),
                Step::Expire,
                Ok(Status {
                    state: Ended,
                    holder: None,
                }),
            ),
            (
                st(Active, Some(A)),
                Step::Remove { by: B },
                Err("只有排队中的会话可以这样结束"),
            ),
            (
                st(Ended, Some(A)),
                Step::Accept { by: A },
                Err("会话已结束"),
            ),
            (None, Step::Accept { by: A }, Err("会话不存在")),
        ];
        for (i, (current, step, want)) in cases.into_iter().enumerate() {
            assert_eq!(next(current, step), want, "case {i}: {current:?} {step:?}");
        }
    }
}
