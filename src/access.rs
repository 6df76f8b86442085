//! Who may see or act on which group's data — the one place that answers it.
//!
//! Every handler, the live stream, and every read that lists a group's data
//! (conversations, followers, media, uploads, marks, taggings, and later
//! reports, search and exports) asks here. The rules:
//!
//! - A super admin reaches every group ([`Reach::All`]); anyone else reaches
//!   the groups they are a member of ([`Reach::Groups`], possibly none). There
//!   is no "no group means everyone": a conversation always has a group, and an
//!   event always names its audience.
//! - A follower belongs to the group of their open or, failing that, last
//!   conversation; a follower who never had one, to the groups that serve
//!   their account. Media and message events follow their follower.
//! - A queued conversation's details are for admins, and for agents only where
//!   the group lets agents see the queue (S3 1.2.1.1).
//! - An admin manages a user only if every group of that user is one of the
//!   admin's groups, so sharing one group never hands over another.
//!
//! Errors propagate: a database error is an error, never "no group".
//! Decisions are plain functions over loaded inputs; the `load`/`*_of`
//! helpers read what they need through `db`.

use crate::db::{self, DbError, DbResult, conversations::Conversation};
pub use crate::live::Audience;
use crate::model::{
    AccountId, ConversationId, ConversationState, FollowerId, GroupId, MessageId, Role, User,
    UserId,
};

/// Which groups' data a user reaches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Reach {
    /// A super admin: every group.
    All,
    /// Exactly these groups (none at all for a user in no group).
    Groups(Vec<GroupId>),
}

impl Reach {
    pub fn covers(&self, group: GroupId) -> bool {
        match self {
            Reach::All => true,
            Reach::Groups(gs) => gs.contains(&group),
        }
    }

    /// At least one of `groups`.
    pub fn covers_any(&self, groups: &[GroupId]) -> bool {
        groups.iter().any(|g| self.covers(*g))
    }

    /// Every one of `groups` (true for none).
    pub fn covers_all(&self, groups: &[GroupId]) -> bool {
        groups.iter().all(|g| self.covers(*g))
    }

    /// The reach of a user with `role` (and `id`, absent for the command line,
    /// which acts as a super admin).
    pub fn load(c: &rusqlite::Connection, role: Role, id: Option<UserId>) -> DbResult<Reach> {
        Ok(match (role, id) {
            (Role::SuperAdmin, _) => Reach::All,
            (Role::Admin | Role::Agent, Some(id)) => Reach::Groups(db::users::group_ids(c, id)?),
            (Role::Admin | Role::Agent, None) => Reach::Groups(Vec::new()),
        })
    }

    /// The groups of `candidates` that are reached, in their order.
    pub fn filter(&self, candidates: &[GroupId]) -> Vec<GroupId> {
        candidates
            .iter()
            .copied()
            .filter(|g| self.covers(*g))
            .collect()
    }
}

/// A user with the groups they reach, loaded once per request or stream.
#[derive(Clone, Debug)]
pub struct Viewer {
    pub user: User,
    pub reach: Reach,
}

impl Viewer {
    pub fn load(c: &rusqlite::Connection, user: &User) -> DbResult<Viewer> {
        let reach = Reach::load(c, user.role, Some(user.id))?;
        Ok(Viewer {
            user: user.clone(),
            reach,
        })
    }

    pub fn id(&self) -> UserId {
        self.user.id
    }

    pub fn sees(&self, group: GroupId) -> bool {
        self.reach.covers(group)
    }

    /// May this user see who waits in a queue whose group says
    /// `agents_see_queue`?
    pub fn sees_queue(&self, agents_see_queue: bool) -> bool {
        self.user.role != Role::Agent || agents_see_queue
    }
}

/// Why something is withheld.
#[derive(Debug, thiserror::Error)]
pub enum Denied {
    #[error("not found")]
    NotFound,
    /// Forbidden, with the reason shown to the user (Chinese).
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Db(#[from] DbError),
}

impl From<rusqlite::Error> for Denied {
    fn from(e: rusqlite::Error) -> Self {
        Denied::Db(e.into())
    }
}

pub type AccessResult<T> = Result<T, Denied>;

/// A refusal, in the user's language (`key` names it in the catalogue).
fn forbidden(key: &str) -> Denied {
    Denied::Forbidden(crate::t(key))
}

const NOT_YOUR_GROUP: &str = "access-not-your-group";
const QUEUE_HIDDEN: &str = "access-queue-hidden";

// ------------------------------------------------------------ conversations

/// The conversation, if the viewer's groups include its group.
pub fn conversation(
    c: &rusqlite::Connection,
    v: &Viewer,
    id: ConversationId,
) -> AccessResult<Conversation> {
    let conv = db::conversations::get(c, id)?.ok_or(Denied::NotFound)?;
    if !v.sees(conv.group_id) {
        return Err(forbidden(NOT_YOUR_GROUP));
    }
    Ok(conv)
}

/// May the viewer hurry a waiting send of this conversation, the button
/// 立即重试 — its holder, or an admin of its group?
pub fn hurries_sends(
    c: &rusqlite::Connection,
    v: &Viewer,
    id: ConversationId,
) -> AccessResult<Conversation> {
    let conv = conversation(c, v, id)?;
    if conv.agent_id == Some(v.id()) || v.user.role != Role::Agent {
        Ok(conv)
    } else {
        Err(forbidden("access-retry-now"))
    }
}

/// The conversation with its details (who waits, what they wrote): as
/// [`conversation`], and a queued one only for those who may see the queue.
pub fn conversation_details(
    c: &rusqlite::Connection,
    v: &Viewer,
    id: ConversationId,
) -> AccessResult<Conversation> {
    let conv = conversation(c, v, id)?;
    if conv.state == ConversationState::Queued && !sees_queue_of(c, v, conv.group_id)? {
        return Err(forbidden(QUEUE_HIDDEN));
    }
    Ok(conv)
}

/// May the viewer see who waits in `group`'s queue?
pub fn sees_queue_of(c: &rusqlite::Connection, v: &Viewer, group: GroupId) -> DbResult<bool> {
    if v.user.role != Role::Agent {
        return Ok(true);
    }
    Ok(db::settings::group(c, group)?.agents_see_queue)
}

// ---------------------------------------------------------------- followers

/// The groups a follower belongs to: their open or last conversation's group,
/// else the groups serving their account.
pub fn follower_groups(
    c: &rusqlite::Connection,
    follower: FollowerId,
    account: AccountId,
) -> DbResult<Vec<GroupId>> {
    match db::conversations::current_group(c, follower)? {
        Some(g) => Ok(vec![g]),
        None => db::accounts::groups(c, account),
    }
}

/// May the viewer see this follower (profile, history, media)? A queued
/// follower's details only for those who may see the queue.
pub fn follower(
    c: &rusqlite::Connection,
    v: &Viewer,
    id: FollowerId,
) -> AccessResult<db::followers::Follower> {
    let f = db::followers::get(c, id)?.ok_or(Denied::NotFound)?;
    if !v.reach.covers_any(&follower_groups(c, id, f.account_id)?) {
        return Err(forbidden("access-not-follower-group"));
    }
    if let Some(open) = db::conversations::open_of(c, id)? {
        if open.state == ConversationState::Queued && !sees_queue_of(c, v, open.group_id)? {
            return Err(forbidden(QUEUE_HIDDEN));
        }
    }
    Ok(f)
}

/// May the viewer see this inbound file? Through its message's follower; a
/// file without a message through its account's groups.
pub fn media(c: &rusqlite::Connection, v: &Viewer, m: &db::media::Media) -> AccessResult<()> {
    if let Some(message) = m.message_id {
        let msg = db::messages::get(c, message)?.ok_or(Denied::NotFound)?;
        follower(c, v, msg.follower_id)?;
        return Ok(());
    }
    account(c, v, m.account_id)
}

/// May the viewer use this upload (send it again, see it)? A group's upload
/// is the group's; one made outside any group only its uploader's.
pub fn upload(v: &Viewer, group: Option<GroupId>, uploader: Option<UserId>) -> bool {
    match group {
        Some(g) => v.sees(g),
        None => v.user.role == Role::SuperAdmin || uploader == Some(v.id()),
    }
}

// ----------------------------------------------------------------- accounts

/// May the viewer see or act on an account's followers (list, remark, sync)?
/// Only when one of their groups serves it.
pub fn account(c: &rusqlite::Connection, v: &Viewer, id: AccountId) -> AccessResult<()> {
    if v.reach == Reach::All {
        return Ok(());
    }
    if v.reach.covers_any(&db::accounts::groups(c, id)?) {
        Ok(())
    } else {
        Err(forbidden("access-not-account-group"))
    }
}

/// The accounts the viewer's groups serve.
pub fn accounts(c: &rusqlite::Connection, v: &Viewer) -> DbResult<Vec<AccountId>> {
    let mut out = Vec::new();
    for a in db::accounts::list(c)? {
        if v.reach == Reach::All || v.reach.covers_any(&db::accounts::groups(c, a.id)?) {
            out.push(a.id);
        }
    }
    Ok(out)
}

// -------------------------------------------------------------------- team

/// May a user of `role` reaching `reach` manage `target` (edit, disable,
/// reset the password)? Super admins: anyone; admins: an agent whose every
/// group is one of theirs, and who is in at least one; agents: nobody.
pub fn manages(role: Role, reach: &Reach, target: &User, target_groups: &[GroupId]) -> bool {
    match role {
        Role::SuperAdmin => true,
        Role::Admin => {
            target.role == Role::Agent
                && !target_groups.is_empty()
                && reach.covers_all(target_groups)
        }
        Role::Agent => false,
    }
}

/// May a user of `role` reaching `reach` put someone into `groups`? Super
/// admins: any; admins: at least one, all of them theirs.
pub fn assigns(role: Role, reach: &Reach, groups: &[GroupId]) -> bool {
    match role {
        Role::SuperAdmin => true,
        Role::Admin => !groups.is_empty() && reach.covers_all(groups),
        Role::Agent => false,
    }
}

/// May the viewer administer `group` (its settings, categories, FAQ …)?
pub fn group(v: &Viewer, group: GroupId) -> AccessResult<()> {
    if v.user.role == Role::Agent || !v.sees(group) {
        return Err(forbidden("access-not-group-admin"));
    }
    Ok(())
}

/// The groups the viewer reaches, as rows (tabs, pickers).
pub fn groups(c: &rusqlite::Connection, v: &Viewer) -> DbResult<Vec<crate::model::Group>> {
    Ok(db::groups::list(c)?
        .into_iter()
        .map(|r| r.group)
        .filter(|g| v.sees(g.id))
        .collect())
}

/// The ids of the groups the viewer reaches.
pub fn group_ids(c: &rusqlite::Connection, v: &Viewer) -> DbResult<Vec<GroupId>> {
    Ok(groups(c, v)?.into_iter().map(|g| g.id).collect())
}

/// The groups the viewer administers, out of `all`.
pub fn administered(v: &Viewer, all: &[GroupId]) -> Vec<GroupId> {
    if v.user.role == Role::Agent {
        return Vec::new();
    }
    v.reach.filter(all)
}

/// May the viewer read a node of a knowledge tree — 知识库 or 常见问题 — that
/// `groups` reach (given it or a folder above it, `db::tree::groups_of`)?
/// Super admins: any node; anyone else: one of their groups reaches it. A
/// node no group reaches yet is the super admin's alone.
pub fn tree_node(v: &Viewer, groups: &[GroupId]) -> bool {
    v.reach == Reach::All || v.reach.covers_any(groups)
}

/// May the viewer change such a node (edit, move, delete, switch, give to a
/// group)? Admins of a group that reaches it, and super admins.
pub fn manages_tree_node(v: &Viewer, groups: &[GroupId]) -> bool {
    v.user.role != Role::Agent && tree_node(v, groups)
}

/// Where the viewer's view of a knowledge tree starts (`nodes`: the whole
/// tree): every top-level node for a super admin, else the subtrees given to
/// their groups (S3 2.4), nothing for a user in no group.
pub fn tree_roots(
    c: &rusqlite::Connection,
    v: &Viewer,
    kind: db::tree::TreeKind,
    nodes: &[db::tree::Node],
) -> DbResult<Vec<i64>> {
    if v.reach == Reach::All {
        return Ok(crate::engine::tree::top(nodes));
    }
    db::tree::roots_of(c, kind, &group_ids(c, v)?)
}

/// May `owner` (负责人) be set for a follower whose conversation is in
/// `group`? Only a member of that group.
pub fn owner_allowed(owner_groups: &[GroupId], group: GroupId) -> bool {
    owner_groups.contains(&group)
}

// -------------------------------------------------------------- live events

/// May the viewer receive an event for `audience`?
pub fn receives(v: &Viewer, audience: &Audience) -> bool {
    v.reach.covers_any(&audience.0) || v.reach == Reach::All
}

/// May the viewer receive the words of a follower in the queue of a group
/// with `agents_see_queue`? (Their lists still update.)
pub fn receives_queued_words(v: &Viewer, agents_see_queue: bool) -> bool {
    v.sees_queue(agents_see_queue)
}

/// The audience of anything about a follower.
pub fn audience_of_follower(c: &rusqlite::Connection, follower: FollowerId) -> DbResult<Audience> {
    let f = db::followers::get(c, follower)?;
    Ok(Audience(match f {
        Some(f) => follower_groups(c, follower, f.account_id)?,
        None => Vec::new(),
    }))
}

/// The audience of a stored message: its conversation's group, else its
/// follower's.
pub fn audience_of_message(c: &rusqlite::Connection, message: MessageId) -> DbResult<Audience> {
    match db::console::message_place(c, message)? {
        Some((_, Some(group), _)) => Ok(Audience::group(group)),
        Some((_, None, follower)) => audience_of_follower(c, follower),
        None => Ok(Audience(Vec::new())),
    }
}

// ------------------------------------------------------ follow-ups (lists)

/// How the marks and tagged-conversation lists are cut for the viewer: an
/// agent their own rows, an admin their groups' and their own, a super admin
/// everything.
pub fn followups_scope(v: &Viewer) -> db::followups::Scope {
    match (&v.user.role, &v.reach) {
        (Role::SuperAdmin, _) | (_, Reach::All) => db::followups::Scope::All,
        (Role::Admin, Reach::Groups(gs)) => db::followups::Scope::Groups(v.id(), gs.clone()),
        (Role::Agent, _) => db::followups::Scope::Own(v.id()),
    }
}

// ------------------------------------------------- search (issue 12)

/// Which groups' messages 消息管理 searches for the viewer (admins only: a
/// super admin every group, an admin theirs), narrowed to `group` when given
/// (which must be one of them).
pub fn message_search(v: &Viewer, group: Option<GroupId>) -> AccessResult<Reach> {
    if v.user.role == Role::Agent {
        return Err(forbidden("access-messages-admins"));
    }
    match group {
        Some(g) if !v.sees(g) => Err(forbidden("access-not-group-admin")),
        Some(g) => Ok(Reach::Groups(vec![g])),
        None => Ok(v.reach.clone()),
    }
}

/// Whose 已接待 list the viewer may read: an agent their own; an admin their
/// own or an agent who is a member of one of the admin's groups — and then
/// only that agent's conversations in the admin's groups; a super admin anyone's.
pub fn served(
    c: &rusqlite::Connection,
    v: &Viewer,
    agent: Option<UserId>,
) -> AccessResult<db::search::ServedScope> {
    let agent = match agent {
        None => {
            return Ok(db::search::ServedScope {
                agent: v.id(),
                groups: None,
            });
        }
        Some(a) if a == v.id() => {
            return Ok(db::search::ServedScope {
                agent: a,
                groups: None,
            });
        }
        Some(a) => a,
    };
    if v.user.role == Role::Agent {
        return Err(forbidden("access-served-own"));
    }
    if db::users::get(c, agent)?.is_none() {
        return Err(Denied::NotFound);
    }
    match &v.reach {
        Reach::All => Ok(db::search::ServedScope {
            agent,
            groups: None,
        }),
        Reach::Groups(mine) => {
            let theirs = db::users::group_ids(c, agent)?;
            if !v.reach.covers_any(&theirs) {
                return Err(forbidden("access-agent-not-yours"));
            }
            Ok(db::search::ServedScope {
                agent,
                groups: Some(mine.clone()),
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Theme, UserStatus};

    fn user(id: i64, role: Role) -> User {
        User {
            id: UserId(id),
            username: format!("u{id}"),
            display_name: String::new(),
            real_name: String::new(),
            phone: String::new(),
            role,
            status: UserStatus::Active,
            theme: Theme::Light,
            locale: crate::i18n::Lang::Zh,
            created_by: None,
            created_at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    fn viewer(role: Role, groups: &[i64]) -> Viewer {
        Viewer {
            user: user(1, role),
            reach: match role {
                Role::SuperAdmin => Reach::All,
                _ => Reach::Groups(groups.iter().map(|g| GroupId(*g)).collect()),
            },
        }
    }

    fn gs(ids: &[i64]) -> Vec<GroupId> {
        ids.iter().map(|g| GroupId(*g)).collect()
    }

    #[test]
    fn reach_has_no_everyone_but_the_super_admin() {
        let nobody = viewer(Role::Agent, &[]);
        assert!(!nobody.sees(GroupId(1)));
        assert!(!receives(&nobody, &Audience(gs(&[1, 2]))));
        assert!(!receives(&nobody, &Audience(Vec::new())));
        let a = viewer(Role::Agent, &[1]);
        assert!(receives(&a, &Audience(gs(&[2, 1]))));
        assert!(!receives(&a, &Audience(gs(&[2]))));
        assert!(!receives(&a, &Audience(Vec::new())));
        let sup = viewer(Role::SuperAdmin, &[]);
        assert!(receives(&sup, &Audience(Vec::new())));
        assert!(sup.sees(GroupId(99)));
    }

    #[test]
    fn an_admin_manages_only_agents_wholly_inside_their_groups() {
        let m = |v: Viewer, t: &User, g: &[i64]| manages(v.user.role, &v.reach, t, &gs(g));
        let agent = user(5, Role::Agent);
        assert!(m(viewer(Role::Admin, &[2]), &agent, &[2]));
        assert!(
            !m(viewer(Role::Admin, &[2]), &agent, &[1, 2]),
            "shared agent"
        );
        assert!(
            !m(viewer(Role::Admin, &[2]), &agent, &[]),
            "agent in no group"
        );
        assert!(!m(viewer(Role::Admin, &[2]), &user(6, Role::Admin), &[2]));
        assert!(m(viewer(Role::Admin, &[1, 2]), &agent, &[1, 2]));
        assert!(m(viewer(Role::SuperAdmin, &[]), &agent, &[]));
        assert!(!m(viewer(Role::Agent, &[1, 2]), &agent, &[1]));
        let admin = viewer(Role::Admin, &[1, 2]);
        assert!(assigns(admin.user.role, &admin.reach, &gs(&[2])));
        assert!(!assigns(admin.user.role, &admin.reach, &gs(&[2, 3])));
        assert!(!assigns(admin.user.role, &admin.reach, &gs(&[])));
    }

    #[test]
    fn queue_details_and_uploads() {
        assert!(!viewer(Role::Agent, &[1]).sees_queue(false));
        assert!(viewer(Role::Agent, &[1]).sees_queue(true));
        assert!(viewer(Role::Admin, &[1]).sees_queue(false));
        let a = viewer(Role::Agent, &[1]);
        assert!(upload(&a, Some(GroupId(1)), None));
        assert!(!upload(&a, Some(GroupId(2)), Some(UserId(1))));
        assert!(upload(&a, None, Some(UserId(1))));
        assert!(!upload(&a, None, Some(UserId(2))));
        assert!(!upload(&a, None, None));
        assert!(owner_allowed(&gs(&[1, 3]), GroupId(3)));
        assert!(!owner_allowed(&gs(&[1]), GroupId(3)));
        assert!(group(&viewer(Role::Admin, &[1]), GroupId(1)).is_ok());
        assert!(group(&viewer(Role::Admin, &[1]), GroupId(2)).is_err());
        assert!(group(&viewer(Role::Agent, &[1]), GroupId(1)).is_err());
        assert_eq!(
            administered(&viewer(Role::Admin, &[2, 3]), &gs(&[1, 2, 3])),
            gs(&[2, 3])
        );
    }
}
