//! The health check's read: proves the database answers.

use super::DbResult;
use rusqlite::Connection;

/// `SELECT 1`: fails only when the database cannot be read.
pub fn ping(conn: &Connection) -> DbResult<i64> {
    Ok(conn.query_row("SELECT 1", [], |r| r.get(0))?)
}
