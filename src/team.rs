//! Managing the team: users (E1), groups (E2), one's own profile (D12) and the
//! first-run super admin. Owns the rules of who may change whom (S3 2.3–2.5):
//! a super admin manages everyone; an admin manages the agents of their own
//! groups; nobody disables or demotes themselves. Every change is written with
//! its audit row in one transaction. No HTTP here.

use crate::access::{self, Reach};
use crate::auth::{self, AuthError};
use crate::clock::Clock;
use crate::db::audit::{Actor, Entry};
use crate::db::groups::GroupFields;
use crate::db::users::{NewUser, Profile};
use crate::db::{self, Db, DbError, DbResult};
use crate::model::{AuditAction, GroupId, Role, Theme, User, UserId, UserStatus};
use rusqlite::Connection;

#[derive(Debug, thiserror::Error)]
pub enum TeamError {
    /// Shown to the user as is (Chinese).
    #[error("{0}")]
    Invalid(String),
    #[error("not allowed")]
    Forbidden,
    #[error("not found")]
    NotFound,
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Auth(#[from] AuthError),
}

pub type TeamResult<T> = Result<T, TeamError>;

/// Who is acting: a logged-in user, or the command line.
#[derive(Clone, Debug)]
pub struct Acting {
    pub id: Option<UserId>,
    pub name: String,
    pub role: Role,
    pub ip: String,
}

impl Acting {
    pub fn user(u: &User, ip: &str) -> Self {
        Acting {
            id: Some(u.id),
            name: u.username.clone(),
            role: u.role,
            ip: ip.to_string(),
        }
    }

    /// The operator at the server's shell (`kefu user …`).
    pub fn shell() -> Self {
        Acting {
            id: None,
            name: "命令行".into(),
            role: Role::SuperAdmin,
            ip: "local".into(),
        }
    }

    pub(crate) fn actor(&self) -> Actor {
        Actor {
            id: self.id,
            name: self.name.clone(),
            ip: self.ip.clone(),
        }
    }
}

/// The audit actor of someone acting.
pub fn actor(by: &Acting) -> Actor {
    by.actor()
}

/// The form of a new user.
#[derive(Clone, Debug, Default)]
pub struct NewUserInput {
    pub username: String,
    pub display_name: String,
    pub real_name: String,
    pub phone: String,
    pub role: Option<Role>,
    pub password: String,
    pub confirm: String,
    pub groups: Vec<GroupId>,
}

/// The editable part of another user.
#[derive(Clone, Debug)]
pub struct UserEdit {
    pub profile: Profile,
    pub role: Role,
}

pub fn check_username(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err(crate::t("team-username-required"));
    }
    if name.chars().count() > 64 {
        return Err(crate::t("team-username-too-long"));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
    {
        return Err(crate::t("team-username-chars"));
    }
    Ok(())
}

pub fn check_profile(p: &Profile) -> Result<(), String> {
    if p.display_name.trim().is_empty() {
        return Err(crate::t("team-display-name-required"));
    }
    if p.display_name.chars().count() > 64 || p.real_name.chars().count() > 64 {
        return Err(crate::t("team-names-too-long"));
    }
    if !p
        .phone
        .chars()
        .all(|c| c.is_ascii_digit() || "+- ()".contains(c))
        || p.phone.len() > 32
    {
        return Err(crate::t("team-phone-invalid"));
    }
    Ok(())
}

fn invalid<T>(msg: impl Into<String>) -> TeamResult<T> {
    Err(TeamError::Invalid(msg.into()))
}

/// A write whose refusals read in the request's language: the closure runs on
/// the writer thread, outside the request's task.
async fn write<T: Send + 'static>(
    db: &Db,
    f: impl FnOnce(&Connection) -> TeamResult<T> + Send + 'static,
) -> TeamResult<T> {
    let lang = crate::i18n::current();
    db.write(move |c| crate::i18n::sync_scope(lang, || f(c)))
        .await
}

/// Writes the audit row of a change, in the change's transaction.
fn audit(c: &Connection, by: &Acting, entry: Entry, now: jiff::Timestamp) -> TeamResult<()> {
    Ok(db::audit::record(c, &by.actor(), &entry, now)?)
}

/// Group names for the audit log (ids mean nothing to a reader).
fn group_names(c: &Connection, ids: &[GroupId]) -> DbResult<Vec<String>> {
    let mut names = Vec::with_capacity(ids.len());
    for id in ids {
        names.push(db::groups::get(c, *id)?.map_or_else(|| format!("#{id}"), |g| g.name));
    }
    Ok(names)
}

fn group_ids_of(c: &Connection, u: UserId) -> DbResult<Vec<GroupId>> {
    Ok(db::users::groups_of(c, u)?
        .into_iter()
        .map(|g| g.id)
        .collect())
}

/// May `by` manage `target`? [`access::manages`] decides.
fn may_manage(c: &Connection, by: &Acting, target: &User) -> DbResult<bool> {
    let reach = Reach::load(c, by.role, by.id)?;
    Ok(access::manages(
        by.role,
        &reach,
        target,
        &db::users::group_ids(c, target.id)?,
    ))
}

/// Loads `id` and checks that `by` may manage them.
fn managed(c: &Connection, by: &Acting, id: UserId) -> TeamResult<User> {
    let target = db::users::get(c, id)?.ok_or(TeamError::NotFound)?;
    if !may_manage(c, by, &target)? {
        return Err(TeamError::Forbidden);
    }
    Ok(target)
}

fn checked_profile(p: Profile) -> TeamResult<Profile> {
    let p = p.trimmed();
    check_profile(&p).map_err(TeamError::Invalid)?;
    Ok(p)
}

fn checked_password(password: &str, confirm: &str) -> TeamResult<()> {
    auth::check_new_password(password, confirm).map_err(TeamError::Invalid)
}

/// Creates the first super admin. Refused once any user exists (checked inside
/// the write transaction, so two racing setups cannot both succeed).
pub async fn setup(db: &Db, clock: &Clock, input: NewUserInput, ip: &str) -> TeamResult<UserId> {
    let username = input.username.trim().to_string();
    check_username(&username).map_err(TeamError::Invalid)?;
    let profile = checked_profile(Profile {
        display_name: input.display_name,
        real_name: input.real_name,
        phone: input.phone,
    })?;
    checked_password(&input.password, &input.confirm)?;
    let hash = auth::hash_password_async(input.password).await?;
    let now = clock.now();
    let ip = ip.to_string();
    write(db, move |c| {
        if db::users::count(c)? > 0 {
            return Err(TeamError::Forbidden);
        }
        let new = NewUser {
            username: &username,
            display_name: &profile.display_name,
            real_name: &profile.real_name,
            phone: &profile.phone,
            role: Role::SuperAdmin,
            password_hash: &hash,
            created_by: None,
        };
        let id = db::users::insert(c, &new, now)?;
        let me = Acting {
            id: Some(id),
            name: username.clone(),
            role: Role::SuperAdmin,
            ip,
        };
        audit(
            c,
            &me,
            Entry::new(
                AuditAction::Setup,
                crate::db::audit::about("audit-t-super", &username),
            ),
            now,
        )?;
        Ok(id)
    })
    .await
}

pub async fn create_user(
    db: &Db,
    clock: &Clock,
    by: &Acting,
    input: NewUserInput,
) -> TeamResult<UserId> {
    let username = input.username.trim().to_string();
    check_username(&username).map_err(TeamError::Invalid)?;
    let display_name = match input.display_name.trim() {
        "" => username.clone(),
        name => name.to_string(),
    };
    let profile = checked_profile(Profile {
        display_name,
        real_name: input.real_name,
        phone: input.phone,
    })?;
    let Some(role) = input.role else {
        return invalid(crate::t("team-role-required"));
    };
    checked_password(&input.password, &input.confirm)?;
    if !by.role.at_least(Role::Admin) {
        return Err(TeamError::Forbidden);
    }
    if by.role == Role::Admin && role != Role::Agent {
        return invalid(crate::t("team-admin-adds-agents"));
    }
    let hash = auth::hash_password_async(input.password).await?;
    let (by, now, groups) = (by.clone(), clock.now(), input.groups);
    write(db, move |c| {
        if !access::assigns(by.role, &Reach::load(c, by.role, by.id)?, &groups) {
            return invalid(crate::t("team-pick-own-group"));
        }
        for g in &groups {
            if db::groups::get(c, *g)?.is_none() {
                return invalid(crate::t("team-group-missing"));
            }
        }
        let new = NewUser {
            username: &username,
            display_name: &profile.display_name,
            real_name: &profile.real_name,
            phone: &profile.phone,
            role,
            password_hash: &hash,
            created_by: by.id,
        };
        let id = match db::users::insert(c, &new, now) {
            Ok(id) => id,
            Err(e) if db::is_unique_violation(&e) => {
                return invalid(crate::t1("team-username-taken", "name", username.as_str()));
            }
            Err(e) => return Err(e.into()),
        };
        db::users::set_groups(c, id, &groups)?;
        let after = serde_json::json!({
            "username": username, "role": role.as_str(), "profile": profile,
            "groups": group_names(c, &groups)?,
        });
        let entry = Entry::new(
            AuditAction::UserCreate,
            crate::db::audit::about("audit-t-user", &username),
        )
        .change(None, Some(&after));
        audit(c, &by, entry, now)?;
        Ok(id)
    })
    .await
}

pub async fn update_user(
    db: &Db,
    clock: &Clock,
    by: &Acting,
    id: UserId,
    edit: UserEdit,
) -> TeamResult<()> {
    let profile = checked_profile(edit.profile)?;
    let (by, now, role) = (by.clone(), clock.now(), edit.role);
    write(db, move |c| {
        let target = managed(c, &by, id)?;
        if role != target.role {
            if by.role != Role::SuperAdmin {
                return invalid(crate::t("team-super-sets-roles"));
            }
            if by.id == Some(id) {
                return invalid(crate::t("team-own-role"));
            }
            db::users::set_role(c, id, role, now)?;
        }
        let before =
            serde_json::json!({"role": target.role.as_str(), "profile": Profile::of(&target)});
        let after = serde_json::json!({"role": role.as_str(), "profile": profile});
        db::users::update_profile(c, id, &profile, now)?;
        let entry = Entry::new(
            AuditAction::UserUpdate,
            crate::db::audit::about("audit-t-user", &target.username),
        )
        .change(Some(&before), Some(&after));
        audit(c, &by, entry, now)
    })
    .await
}

/// Enables or disables a user; disabling ends their sessions at once.
pub async fn set_status(
    db: &Db,
    clock: &Clock,
    by: &Acting,
    id: UserId,
    status: UserStatus,
) -> TeamResult<()> {
    let (by, now) = (by.clone(), clock.now());
    write(db, move |c| {
        let target = managed(c, &by, id)?;
        if by.id == Some(id) {
            return invalid(crate::t("team-own-status"));
        }
        db::users::set_status(c, id, status, now)?;
        if status == UserStatus::Disabled {
            db::sessions::delete_for_user(c, id)?;
        }
        let action = match status {
            UserStatus::Active => AuditAction::UserEnable,
            UserStatus::Disabled => AuditAction::UserDisable,
        };
        let entry = Entry::new(
            action,
            crate::db::audit::about("audit-t-user", &target.username),
        )
        .change(Some(&target.status.as_str()), Some(&status.as_str()));
        audit(c, &by, entry, now)
    })
    .await
}

/// Sets another user's password; their sessions end. One's own password is
/// changed in the personal centre, with the current one.
pub async fn reset_password(
    db: &Db,
    clock: &Clock,
    by: &Acting,
    id: UserId,
    password: String,
    confirm: String,
) -> TeamResult<()> {
    checked_password(&password, &confirm)?;
    let hash = auth::hash_password_async(password).await?;
    let (by, now) = (by.clone(), clock.now());
    write(db, move |c| {
        let target = managed(c, &by, id)?;
        if by.id == Some(id) {
            return invalid(crate::t("team-own-password"));
        }
        db::users::set_password_hash(c, id, &hash, now)?;
        db::sessions::delete_for_user(c, id)?;
        audit(
            c,
            &by,
            Entry::new(
                AuditAction::UserResetPassword,
                crate::db::audit::about("audit-t-user", &target.username),
            ),
            now,
        )
    })
    .await
}

/// Sets a user's groups. An admin changes only membership of their own groups;
/// the user's other groups are kept.
pub async fn set_groups(
    db: &Db,
    clock: &Clock,
    by: &Acting,
    id: UserId,
    wanted: Vec<GroupId>,
) -> TeamResult<()> {
    let (by, now) = (by.clone(), clock.now());
    write(db, move |c| {
        let target = managed(c, &by, id)?;
        let before = group_ids_of(c, id)?;
        let mut next: Vec<GroupId> = if by.role == Role::SuperAdmin {
            wanted
        } else {
            let mine = Reach::load(c, by.role, by.id)?;
            let mut keep: Vec<GroupId> = before
                .iter()
                .copied()
                .filter(|g| !mine.covers(*g))
                .collect();
            keep.extend(wanted.into_iter().filter(|g| mine.covers(*g)));
            keep
        };
        next.sort();
        next.dedup();
        for g in &next {
            if db::groups::get(c, *g)?.is_none() {
                return invalid(crate::t("team-group-missing"));
            }
        }
        db::users::set_groups(c, id, &next)?;
        let entry = Entry::new(
            AuditAction::UserGroups,
            crate::db::audit::about("audit-t-user", &target.username),
        )
        .change(
            Some(&group_names(c, &before)?),
            Some(&group_names(c, &next)?),
        );
        audit(c, &by, entry, now)
    })
    .await
}

pub fn check_group(f: &GroupFields) -> Result<(), String> {
    if f.name.is_empty() {
        return Err(crate::t("team-group-name-required"));
    }
    if f.ident.is_empty() {
        return Err(crate::t("team-group-ident-required"));
    }
    if f.name.chars().count() > 64 {
        return Err(crate::t("team-group-name-too-long"));
    }
    if f.public_name.chars().count() > 64 {
        return Err(crate::t("team-public-name-too-long"));
    }
    if f.ident.len() > 64
        || !f
            .ident
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_-".contains(c))
    {
        return Err(crate::t("team-group-ident-chars"));
    }
    if !f
        .phone
        .chars()
        .all(|c| c.is_ascii_digit() || "+- ()".contains(c))
        || f.phone.len() > 32
    {
        return Err(crate::t("team-group-phone-invalid"));
    }
    Ok(())
}

fn checked_group(mut f: GroupFields) -> TeamResult<GroupFields> {
    f.name = f.name.trim().to_string();
    f.ident = f.ident.trim().to_string();
    f.phone = f.phone.trim().to_string();
    f.public_name = f.public_name.trim().to_string();
    check_group(&f).map_err(TeamError::Invalid)?;
    Ok(f)
}

/// A unique-name violation as the sentence the admin reads.
fn group_conflict(e: DbError, f: &GroupFields) -> TeamError {
    if !db::is_unique_violation(&e) {
        return e.into();
    }
    TeamError::Invalid(if e.to_string().contains("groups.ident") {
        crate::t1("team-group-ident-taken", "ident", f.ident.as_str())
    } else {
        crate::t1("team-group-name-taken", "name", f.name.as_str())
    })
}

pub async fn create_group(
    db: &Db,
    clock: &Clock,
    by: &Acting,
    f: GroupFields,
) -> TeamResult<GroupId> {
    if by.role != Role::SuperAdmin {
        return Err(TeamError::Forbidden);
    }
    let f = checked_group(f)?;
    let (by, now) = (by.clone(), clock.now());
    write(db, move |c| {
        let id = db::groups::insert(c, &f, by.id, now).map_err(|e| group_conflict(e, &f))?;
        let entry = Entry::new(
            AuditAction::GroupCreate,
            crate::db::audit::about("audit-t-group", &f.name),
        )
        .change(None, Some(&f));
        audit(c, &by, entry, now)?;
        Ok(id)
    })
    .await
}

pub async fn update_group(
    db: &Db,
    clock: &Clock,
    by: &Acting,
    id: GroupId,
    f: GroupFields,
) -> TeamResult<()> {
    if by.role != Role::SuperAdmin {
        return Err(TeamError::Forbidden);
    }
    let f = checked_group(f)?;
    let (by, now) = (by.clone(), clock.now());
    write(db, move |c| {
        let old = db::groups::get(c, id)?.ok_or(TeamError::NotFound)?;
        db::groups::update(c, id, &f, now).map_err(|e| group_conflict(e, &f))?;
        let entry = Entry::new(
            AuditAction::GroupUpdate,
            crate::db::audit::about("audit-t-group", &f.name),
        )
        .change(Some(&GroupFields::from(&old)), Some(&f));
        audit(c, &by, entry, now)
    })
    .await
}

/// Deletes a group, or says why it cannot be deleted.
pub async fn delete_group(db: &Db, clock: &Clock, by: &Acting, id: GroupId) -> TeamResult<()> {
    if by.role != Role::SuperAdmin {
        return Err(TeamError::Forbidden);
    }
    let (by, now) = (by.clone(), clock.now());
    write(db, move |c| {
        let old = db::groups::get(c, id)?.ok_or(TeamError::NotFound)?;
        db::groups::delete(c, id)?.map_err(TeamError::Invalid)?;
        let entry = Entry::new(
            AuditAction::GroupDelete,
            crate::db::audit::about("audit-t-group", &old.name),
        )
        .change(Some(&GroupFields::from(&old)), None);
        audit(c, &by, entry, now)
    })
    .await
}

/// Personal centre: one's own display name, name and phone.
pub async fn update_own_profile(db: &Db, clock: &Clock, me: &Acting, p: Profile) -> TeamResult<()> {
    let p = checked_profile(p)?;
    let id = me.id.ok_or(TeamError::Forbidden)?;
    let (me, now) = (me.clone(), clock.now());
    write(db, move |c| {
        let old = db::users::get(c, id)?.ok_or(TeamError::NotFound)?;
        db::users::update_profile(c, id, &p, now)?;
        let entry = Entry::new(
            AuditAction::ProfileUpdate,
            crate::db::audit::about("audit-t-user", &me.name),
        )
        .change(Some(&Profile::of(&old)), Some(&p));
        audit(c, &me, entry, now)
    })
    .await
}

/// Changes one's own password after checking the current one; other sessions end.
pub async fn change_own_password(
    db: &Db,
    clock: &Clock,
    me: &Acting,
    current: String,
    new: String,
    confirm: String,
    keep_session_hash: String,
) -> TeamResult<()> {
    let id = me.id.ok_or(TeamError::Forbidden)?;
    checked_password(&new, &confirm)?;
    let stored = db
        .read(move |c| db::users::password_hash(c, id))
        .await?
        .ok_or(TeamError::NotFound)?;
    let ok = tokio::task::spawn_blocking(move || auth::verify_password(&current, &stored))
        .await
        .map_err(|e| AuthError::Hash(e.to_string()))?;
    if !ok {
        return invalid(crate::t("team-wrong-password"));
    }
    let hash = auth::hash_password_async(new).await?;
    let (me, now) = (me.clone(), clock.now());
    write(db, move |c| {
        db::users::set_password_hash(c, id, &hash, now)?;
        db::sessions::delete_others(c, id, &keep_session_hash)?;
        audit(
            c,
            &me,
            Entry::new(
                AuditAction::PasswordChange,
                crate::db::audit::about("audit-t-user", &me.name),
            ),
            now,
        )
    })
    .await
}

pub async fn set_own_theme(db: &Db, clock: &Clock, me: &Acting, theme: Theme) -> TeamResult<()> {
    let id = me.id.ok_or(TeamError::Forbidden)?;
    let (me, now) = (me.clone(), clock.now());
    write(db, move |c| {
        db::users::set_theme(c, id, theme)?;
        let entry = Entry::new(
            AuditAction::ThemeChange,
            crate::db::audit::about("audit-t-user", &me.name),
        )
        .change(None, Some(&theme.as_str()));
        audit(c, &me, entry, now)
    })
    .await
}

pub async fn set_own_locale(
    db: &Db,
    clock: &Clock,
    me: &Acting,
    locale: crate::i18n::Lang,
) -> TeamResult<()> {
    let id = me.id.ok_or(TeamError::Forbidden)?;
    let (me, now) = (me.clone(), clock.now());
    write(db, move |c| {
        db::users::set_locale(c, id, locale)?;
        let entry = Entry::new(
            AuditAction::LocaleChange,
            crate::db::audit::about("audit-t-user", &me.name),
        )
        .change(None, Some(&locale.code()));
        audit(c, &me, entry, now)
    })
    .await
}

/// The user `id`, if `by` may manage them (for showing the edit page).
pub async fn manageable_user(db: &Db, by: &Acting, id: UserId) -> TeamResult<User> {
    let by = by.clone();
    db.read(move |c| managed(c, &by, id)).await
}

/// The groups `by` may assign: all for a super admin, their own for an admin.
pub async fn assignable_groups(db: &Db, by: &Acting) -> TeamResult<Vec<crate::model::Group>> {
    let by = by.clone();
    db.read(move |c| {
        if by.role == Role::Agent {
            return Ok(vec![]);
        }
        let reach = Reach::load(c, by.role, by.id)?;
        Ok(db::groups::list(c)?
            .into_iter()
            .map(|r| r.group)
            .filter(|g| reach.covers(g.id))
            .collect())
    })
    .await
}
