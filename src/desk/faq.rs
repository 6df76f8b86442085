//! 常见问题 over the webhook (E4; issue 13, bug 1): loads the group's FAQ
//! tree and the follower's place in it, asks `engine::tree` what their reply
//! does, and writes the new place and the entry's use count. The text itself
//! is the engine's.

use crate::db::tree::{self, Node, TreeKind};
use crate::db::{self, DbResult};
use crate::engine::tree::{self as faq, FaqStep};
use crate::model::{AccountId, FollowerId, GroupId};
use jiff::Timestamp;
use rusqlite::Connection;

/// A group's FAQ as a follower of `account` sees it today.
pub(super) struct Menu {
    nodes: Vec<Node>,
    roots: Vec<i64>,
    today: String,
}

impl Menu {
    pub(super) fn load(
        c: &Connection,
        account: AccountId,
        group: GroupId,
        now: Timestamp,
    ) -> DbResult<Menu> {
        let roots = tree::roots(c, TreeKind::Faq, group)?;
        if roots.is_empty() {
            // No FAQ for this group: nothing to date, and every push from a
            // queued follower comes this way, so the time plan stays unread.
            return Ok(Menu {
                nodes: Vec::new(),
                roots,
                today: String::new(),
            });
        }
        let nodes = tree::all(c, TreeKind::Faq)?;
        let tz = db::timeplan::load(c, account)?.tz;
        Ok(Menu {
            nodes,
            roots,
            today: faq::day(now, &tz),
        })
    }

    /// The top list sent with the welcome or off-hours reply (none when
    /// empty); the follower is placed at the top.
    pub(super) fn top(
        &self,
        c: &Connection,
        follower: FollowerId,
        now: Timestamp,
    ) -> DbResult<Option<String>> {
        let items = faq::menu(&self.nodes, &self.roots, None, &self.today);
        if items.is_empty() {
            return Ok(None);
        }
        tree::set_cursor(c, follower, None, now)?;
        Ok(Some(faq::list_text(&items, None, false)))
    }

    /// The answer to a follower's text when it is for the FAQ (a number, "0",
    /// a keyword): moves their place and counts the entry's use.
    pub(super) fn answer(
        &self,
        c: &Connection,
        follower: FollowerId,
        text: &str,
        offer_human: bool,
        now: Timestamp,
    ) -> DbResult<Option<String>> {
        if self.roots.is_empty() {
            return Ok(None);
        }
        let cursor = tree::cursor(c, follower)?;
        let here = faq::current_folder(&self.nodes, &self.roots, cursor, now, &self.today);
        let Some(step) = faq::reply(&self.nodes, &self.roots, here, text, &self.today) else {
            return Ok(None);
        };
        match step {
            FaqStep::List(folder) => tree::set_cursor(c, follower, folder, now)?,
            FaqStep::Answer(id) => {
                tree::count_use(c, id)?;
            }
        }
        let offer = offer_human && matches!(step, FaqStep::List(None));
        Ok(Some(faq::step_text(
            &self.nodes,
            &self.roots,
            &step,
            &self.today,
            offer,
        )))
    }
}
