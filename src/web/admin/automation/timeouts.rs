//! 超时设置 of a group (C8): one table drives the form, the parser and the
//! messages; saved all or nothing.

use super::*;

/// One timeout of [`Timeouts`]: its form field (`{key}` with the value,
/// `{key}_on` the switch) and its range (SPEC C8, the `CHECK`s). The words are
/// the catalogue's `auto-timeout-{key}-label` (a plain phrase with its unit)
/// and `auto-timeout-{key}-hint`.
pub struct TimeoutSpec {
    pub key: &'static str,
    /// Seconds, else minutes.
    pub secs: bool,
    pub min: i64,
    pub max: i64,
    /// Shown while the timeout is off, as the value it would start with.
    pub suggest: i64,
}

impl TimeoutSpec {
    /// What the timeout does and after how long, with the unit.
    pub fn label(&self) -> String {
        crate::t(&format!(
            "auto-timeout-{}-label",
            self.key.replace('_', "-")
        ))
    }

    /// When it applies and what is sent.
    pub fn hint(&self) -> String {
        crate::t(&format!("auto-timeout-{}-hint", self.key.replace('_', "-")))
    }

    /// The field's label: the range and the unit.
    pub fn field(&self) -> String {
        let key = if self.secs {
            "auto-timeout-range-secs"
        } else {
            "auto-timeout-range-mins"
        };
        crate::t2(key, "min", self.min, "max", self.max)
    }
}

pub(super) const TIMEOUTS: [TimeoutSpec; 6] = [
    TimeoutSpec {
        key: "agent_comfort_mins",
        secs: false,
        min: 1,
        max: 30,
        suggest: 3,
    },
    TimeoutSpec {
        key: "agent_remind_secs",
        secs: true,
        min: 10,
        max: 600,
        suggest: 30,
    },
    TimeoutSpec {
        key: "agent_transfer_mins",
        secs: false,
        min: 1,
        max: 9,
        suggest: 3,
    },
    TimeoutSpec {
        key: "follower_prompt_mins",
        secs: false,
        min: 1,
        max: 20,
        suggest: 3,
    },
    TimeoutSpec {
        key: "follower_close_mins",
        secs: false,
        min: 2,
        max: 120,
        suggest: 10,
    },
    TimeoutSpec {
        key: "reception_mins",
        secs: false,
        min: 1,
        max: 60,
        suggest: 5,
    },
];

pub(super) fn slot<'a>(t: &'a mut Timeouts, key: &str) -> Option<&'a mut Option<i64>> {
    Some(match key {
        "agent_comfort_mins" => &mut t.agent_comfort_mins,
        "agent_remind_secs" => &mut t.agent_remind_secs,
        "agent_transfer_mins" => &mut t.agent_transfer_mins,
        "follower_prompt_mins" => &mut t.follower_prompt_mins,
        "follower_close_mins" => &mut t.follower_close_mins,
        "reception_mins" => &mut t.reception_mins,
        _ => return None,
    })
}

/// One line of the 超时设置 form as shown: on or off, and the value.
pub struct TimeoutRow {
    pub spec: &'static TimeoutSpec,
    pub on: bool,
    pub value: String,
}

pub(super) fn timeout_rows(t: &Timeouts) -> Vec<TimeoutRow> {
    let mut t = t.clone();
    TIMEOUTS
        .iter()
        .map(|spec| {
            let v = slot(&mut t, spec.key).and_then(|v| *v);
            TimeoutRow {
                spec,
                on: v.is_some(),
                value: v.unwrap_or(spec.suggest).to_string(),
            }
        })
        .collect()
}

/// The rows as typed in a submitted form (`key=value` pairs).
pub(super) fn typed_rows(pairs: &[(String, String)]) -> Vec<TimeoutRow> {
    let field = |name: &str| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v);
    TIMEOUTS
        .iter()
        .map(|spec| TimeoutRow {
            spec,
            on: field(&format!("{}_on", spec.key)).is_some(),
            value: field(spec.key).cloned().unwrap_or_default(),
        })
        .collect()
}

/// The timeouts the rows ask for, or the reason why not (naming the range).
pub(super) fn parse_timeouts(rows: &[TimeoutRow]) -> Result<Timeouts, String> {
    let mut t = Timeouts::default();
    for r in rows.iter().filter(|r| r.on) {
        let s = r.spec;
        let n = match r.value.trim().parse::<i64>() {
            Ok(n) if (s.min..=s.max).contains(&n) => n,
            _ => {
                return Err(crate::t3(
                    "auto-timeout-invalid",
                    "what",
                    s.label(),
                    "min",
                    s.min,
                    "max",
                    s.max,
                ));
            }
        };
        if let Some(v) = slot(&mut t, s.key) {
            *v = Some(n);
        }
    }
    if let (Some(prompt), Some(close)) = (t.follower_prompt_mins, t.follower_close_mins) {
        if close <= prompt {
            return Err(crate::t("auto-timeout-close-after-prompt"));
        }
    }
    Ok(t)
}

/// `POST /admin/automation/timeouts`: the group's timeouts, all or nothing.
pub async fn save(
    State(state): State<AppState>,
    AdminUser(ctx, s): AdminUser,
    Form(pairs): Form<Vec<(String, String)>>,
) -> Result<Response, AppError> {
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let group = need_group(field("group"))?;
    let account = parse_account(field("account"));
    let user = s.user.clone();
    let g = state
        .db
        .read(move |c| managed_group(c, &user, group))
        .await?;
    let rows = typed_rows(&pairs);
    let timeouts = match parse_timeouts(&rows) {
        Ok(t) => t,
        Err(m) => {
            let kept = Kept {
                section: "timeouts",
                error: Some(m),
                timeouts: Some(rows),
                ..Kept::default()
            };
            return refused(&state, &ctx, &s.user, (account, Some(group)), kept).await;
        }
    };
    let (by, now) = (Acting::user(&s.user, &ctx.ip), state.clock.now());
    state
        .db
        .write(move |c| -> Result<_, AppError> {
            let before = auto::timeouts(c, group)?;
            auto::set_timeouts(c, group, &timeouts)?;
            let entry = Entry::new(
                AuditAction::TimeoutsUpdate,
                crate::db::audit::about("audit-t-group", &g.name),
            )
            .change(Some(&before), Some(&timeouts));
            audit(c, &by, entry, now)
        })
        .await?;
    Ok(done(
        &ctx,
        account,
        Some(group),
        "timeouts",
        crate::t("auto-timeouts-saved"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn timeouts_are_off_unless_switched_on_and_must_be_in_range() {
        let t = parse_timeouts(&typed_rows(&pairs(&[("agent_transfer_mins", "10")]))).unwrap();
        assert_eq!(t, Timeouts::default(), "off: the value is ignored");
        let rows = typed_rows(&pairs(&[
            ("agent_transfer_mins_on", "on"),
            ("agent_transfer_mins", "10"),
        ]));
        assert_eq!(
            parse_timeouts(&rows).unwrap_err(),
            "客服多久未回复时自动转接（分钟）须为 1–9 之间的整数"
        );
        let rows = typed_rows(&pairs(&[
            ("agent_remind_secs_on", "on"),
            ("agent_remind_secs", " 600 "),
            ("follower_close_mins_on", "on"),
            ("follower_close_mins", "2"),
        ]));
        let t = parse_timeouts(&rows).unwrap();
        assert_eq!(t.agent_remind_secs, Some(600));
        assert_eq!(t.follower_close_mins, Some(2));
        let rows = typed_rows(&pairs(&[
            ("follower_prompt_mins_on", "on"),
            ("follower_prompt_mins", "5"),
            ("follower_close_mins_on", "on"),
            ("follower_close_mins", "5"),
        ]));
        assert!(
            parse_timeouts(&rows).is_err(),
            "close must come after the prompt"
        );
        // Every spec has a slot, and the rows of saved timeouts read back the same.
        let saved = Timeouts {
            reception_mins: Some(60),
            agent_comfort_mins: Some(1),
            ..Timeouts::default()
        };
        assert_eq!(parse_timeouts(&timeout_rows(&saved)).unwrap(), saved);
        for spec in &TIMEOUTS {
            assert!(
                slot(&mut Timeouts::default(), spec.key).is_some(),
                "{}",
                spec.key
            );
            assert!(
                (spec.min..=spec.max).contains(&spec.suggest),
                "{}",
                spec.key
            );
        }
    }
}
