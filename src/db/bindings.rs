//! Which agents bound their WeChat to an account to receive notifications
//! (`agent_profiles.wx_account_id`, `wx_openid`); read by the admin's
//! notification page. Binding itself is `notify`'s business.

use super::DbResult;
use crate::model::AccountId;
use rusqlite::Connection;

/// (display name, openid) of the agents bound to `account`, by name.
pub fn bound_to(conn: &Connection, account: AccountId) -> DbResult<Vec<(String, String)>> {
    let mut stmt = conn.prepare(
        "SELECT u.display_name, p.wx_openid FROM agent_profiles p JOIN users u ON u.id = p.user_id
         WHERE p.wx_account_id = ?1 AND p.wx_openid <> '' ORDER BY u.display_name",
    )?;
    let bound = stmt
        .query_map([account], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<Result<Vec<_>, _>>()?;
    Ok(bound)
}
