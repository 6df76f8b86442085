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

/// The state after `step`, or why it is not allowed (a catalogue key, shown
/// through [`crate::t`]).
pub fn next(current: Option<Status>, step: Step) -> Result<Status, &'static str> {
    use ConversationState::*;
    let queued = Status {
        state: Queued,
        holder: None,
    };
    match (current, step) {
        (None, Step::Open) => Ok(queued),
        (Some(_), Step::Open) => Err("conv-open-twice"),
        (None, _) => Err("conv-missing"),
        (Some(s), _) if s.state == Ended => Err("conv-ended"),
        (Some(s), Step::Accept { by }) => match s.state {
            Queued => Ok(Status {
                state: Active,
                holder: Some(by),
            }),
            _ => Err("conv-taken"),
        },
        (Some(s), Step::Route { to }) => match s.state {
            Queued => Ok(Status {
                state: Active,
                holder: Some(to),
            }),
            _ => Err("conv-taken"),
        },
        (Some(s), Step::TransferInGroup { from, to }) => {
            if s.state != Active || s.holder != Some(from) {
                Err("conv-transfer-not-holder")
            } else if from == to {
                Err("conv-transfer-self")
            } else {
                Ok(Status {
                    state: Active,
                    holder: Some(to),
                })
            }
        }
        (Some(s), Step::TransferToGroup { from }) => {
            if s.state != Active || s.holder != Some(from) {
                Err("conv-transfer-not-holder")
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
                Err("conv-end-not-holder")
            }
        }
        (Some(s), Step::EndByTimeout) => {
            if s.state == Active {
                Ok(Status {
                    state: Ended,
                    holder: s.holder,
                })
            } else {
                Err("conv-timeout-not-active")
            }
        }
        (Some(s), Step::Abandon | Step::Expire | Step::Remove { .. }) => {
            if s.state == Queued {
                Ok(Status {
                    state: Ended,
                    holder: None,
                })
            } else {
                Err("conv-queue-only")
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
            (st(Queued, None), Step::Open, Err("conv-open-twice")),
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
                Err("conv-taken"),
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
                Err("conv-transfer-not-holder"),
            ),
            (
                st(Active, Some(A)),
                Step::TransferInGroup { from: A, to: A },
                Err("conv-transfer-self"),
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
                Err("conv-end-not-holder"),
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
                Err("conv-timeout-not-active"),
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
                Err("conv-queue-only"),
            ),
            (
                st(Ended, Some(A)),
                Step::Accept { by: A },
                Err("conv-ended"),
            ),
            (None, Step::Accept { by: A }, Err("conv-missing")),
        ];
        for (i, (current, step, want)) in cases.into_iter().enumerate() {
            assert_eq!(next(current, step), want, "case {i}: {current:?} {step:?}");
        }
    }
}
