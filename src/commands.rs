//! The subcommands: `serve`, `user add|passwd|list`, `backup`, `healthcheck`.
//! Install scripts, Docker and tests use the binary itself through these.

use crate::auth::SESSION_IDLE;
use crate::clock::Clock;
use crate::config::Config;
use crate::db::{self, Db};
use crate::model::Role;
use crate::state::AppState;
use crate::team::{self, Acting, NewUserInput, TeamError};
use anyhow::{Context, Result, bail};
use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::time::Duration;

/// Creates the data folder if needed and opens the database in it.
pub fn open_db(config: &Config) -> Result<Db> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("cannot create data folder {}", config.data_dir.display()))?;
    Db::open(&config.db_path())
        .with_context(|| format!("cannot open database {}", config.db_path().display()))
}

/// `kefu serve`: the start-up story.
pub async fn serve(config: Config) -> Result<()> {
    let db = open_db(&config)?;
    let state = AppState::new(db.clone(), Clock::System, config.clone()).await?;
    state.announce_setup_code();
    // The built-in fake WeChat keeps no state across restarts: tell it the
    // simulation-mode accounts again.
    for a in db.read(crate::db::accounts::list).await? {
        if a.simulation {
            state.wechat.fake.add_account(&a.app_id, &a.app_secret);
        }
    }
    tokio::spawn(purge_sessions(state.clone()));
    let (stop_workers, stop) = tokio::sync::watch::channel(false);
    let workers = [
        tokio::spawn(
            state
                .wechat
                .sender(&state.db, &state.clock)
                .run_until(stop.clone()),
        ),
        tokio::spawn(
            state
                .wechat
                .fetcher(&state.db, &state.clock)
                .run_until(stop.clone()),
        ),
        tokio::spawn(
            state
                .wechat
                .sweeper(&state.db, &state.clock)
                .run_until(stop),
        ),
    ];

    let listener = std::net::TcpListener::bind(config.listen)
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let shown = config
        .base_url
        .clone()
        .unwrap_or_else(|| config.local_url());
    tracing::info!(listen = %config.listen, url = %shown, tls = config.tls.is_some(), "kefu is serving");
    crate::web::serve(state, listener, shutdown_signal()).await?;
    // Let the workers finish what they are doing (a message sent is also
    // written down) before the database closes.
    let _ = stop_workers.send(true);
    for w in workers {
        if tokio::time::timeout(Duration::from_secs(20), w)
            .await
            .is_err()
        {
            tracing::warn!("a background worker did not stop within 20 s");
        }
    }
    tracing::info!("in-flight requests finished; closing the database");
    db.close();
    tracing::info!("stopped cleanly");
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
    tracing::info!("shutdown signal received");
}

/// Hourly: forget sessions idle for 24 hours and failed logins older than a day.
async fn purge_sessions(state: AppState) {
    let mut tick = tokio::time::interval(Duration::from_secs(3600));
    loop {
        tick.tick().await;
        let now = state.clock.now();
        let (cutoff, old) = (
            now - SESSION_IDLE,
            now - jiff::SignedDuration::from_hours(24),
        );
        match state
            .db
            .write(move |c| db::sessions::purge(c, cutoff, old))
            .await
        {
            Ok(n) if n > 0 => tracing::info!(removed = n, "expired sessions purged"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "session purge failed"),
        }
    }
}

/// Reads a password: one line from stdin with `--password-stdin`, otherwise a
/// hidden prompt typed twice.
fn read_password(from_stdin: bool) -> Result<(String, String)> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        let pw = line.trim_end_matches(['\r', '\n']).to_string();
        return Ok((pw.clone(), pw));
    }
    if !std::io::stdin().is_terminal() {
        bail!("no terminal to ask for the password: use --password-stdin");
    }
    let a = rpassword::prompt_password("密码 / password: ")?;
    let b = rpassword::prompt_password("确认密码 / again: ")?;
    Ok((a, b))
}

fn team_error(e: TeamError) -> anyhow::Error {
    match e {
        TeamError::Invalid(m) => anyhow::anyhow!(m),
        other => anyhow::anyhow!(other),
    }
}

pub async fn user_add(
    config: Config,
    name: String,
    role: Role,
    display: Option<String>,
    stdin: bool,
) -> Result<()> {
    let db = open_db(&config)?;
    let (password, confirm) = read_password(stdin)?;
    let input = NewUserInput {
        username: name.clone(),
        display_name: display.unwrap_or_else(|| name.clone()),
        role: Some(role),
        password,
        confirm,
        ..Default::default()
    };
    let id = team::create_user(&db, &Clock::System, &Acting::shell(), input)
        .await
        .map_err(team_error)?;
    db.close();
    println!("added {} ({}) with id {id}", name, role.cli_name());
    Ok(())
}

pub async fn user_passwd(config: Config, name: String, stdin: bool) -> Result<()> {
    let db = open_db(&config)?;
    let n = name.clone();
    let Some((user, _)) = db.read(move |c| db::users::by_username(c, &n)).await? else {
        bail!("no user named {name}");
    };
    let (password, confirm) = read_password(stdin)?;
    team::reset_password(
        &db,
        &Clock::System,
        &Acting::shell(),
        user.id,
        password,
        confirm,
    )
    .await
    .map_err(team_error)?;
    db.close();
    println!("password of {name} changed; their sessions were ended");
    Ok(())
}

pub async fn user_list(config: Config) -> Result<()> {
    let db = open_db(&config)?;
    let rows = db
        .read(|c| db::users::list(c, &Default::default(), &crate::access::Reach::All))
        .await?;
    println!("ID     USERNAME                 ROLE         STATUS    DISPLAY NAME");
    for r in rows {
        let u = r.user;
        println!(
            "{:<6} {:<24} {:<12} {:<9} {}",
            u.id,
            u.username,
            u.role.cli_name(),
            u.status.as_str(),
            u.display_name
        );
    }
    db.close();
    Ok(())
}

/// `kefu backup FILE`: SQLite's online backup API, from a connection of its own,
/// so it is consistent while the server keeps writing.
/// `kefu fixture` (hidden): a realistic data folder for benches and for
/// trying the reports on real volumes. Refuses a folder that has users.
pub async fn fixture(
    config: Config,
    conversations: usize,
    messages: usize,
    days: i64,
    password: &str,
    seed: u64,
) -> Result<()> {
    if !(1..=3650).contains(&days) || conversations < 100 {
        bail!("--days must be 1..=3650 and --conversations at least 100");
    }
    let db = open_db(&config)?;
    let now = jiff::Timestamp::now();
    let spec = crate::fixture::Spec {
        conversations,
        messages,
        days,
        first_day: crate::fixture::first_day(&config.timezone, now, days),
        seed,
    };
    let hash = crate::auth::hash_password(password).context("hash the password")?;
    let started = std::time::Instant::now();
    let summary = crate::fixture::build(&db, spec, hash, now.as_millisecond(), |done, total| {
        if done % 20_000 == 0 || done == total {
            tracing::info!(done, total, "fixture: conversations written");
        }
    })
    .await?;
    db.close();
    for (table, n) in &summary.counts {
        println!("{table:<20} {n:>10}");
    }
    println!(
        "built in {:.1} s; log in as admin / admin1..admin5 / agent01..agent50 with the given password",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

pub fn backup(config: &Config, target: &Path) -> Result<()> {
    let source = config.db_path();
    if !source.exists() {
        bail!("no database at {}", source.display());
    }
    if target.exists() {
        bail!("{} exists already; choose a new file", target.display());
    }
    backup_file(&source, target)?;
    println!("backed up {} to {}", source.display(), target.display());
    Ok(())
}

pub fn backup_file(source: &Path, target: &Path) -> Result<()> {
    let src =
        rusqlite::Connection::open_with_flags(source, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY)?;
    db::configure(&src)?;
    let mut dst = rusqlite::Connection::open(target)?;
    {
        let backup = rusqlite::backup::Backup::new(&src, &mut dst)?;
        // All pages in one step: one read transaction, so a consistent snapshot;
        // in WAL mode the server's writer is not blocked meanwhile.
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        loop {
            match backup.step(-1)? {
                rusqlite::backup::StepResult::Done => break,
                _ if std::time::Instant::now() > deadline => {
                    bail!("the database stayed busy for 60 s")
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
    }
    let check = db::integrity(&dst)?;
    if check != "ok" {
        bail!("the backup failed its integrity check: {check}");
    }
    Ok(())
}

/// `kefu healthcheck`: exit 0 when the local server answers /healthz.
pub async fn healthcheck(config: &Config) -> Result<()> {
    let url = format!("{}/healthz", config.local_url());
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        // The local certificate is usually issued for the public name, not 127.0.0.1.
        .danger_accept_invalid_certs(true)
        .build()?;
    let resp = client
        .get(&url)
        .send()
        .await
        .with_context(|| format!("{url} did not answer"))?;
    if !resp.status().is_success() {
        bail!("{url} answered {}", resp.status());
    }
    println!("ok");
    Ok(())
}

pub struct AccountArgs {
    pub name: String,
    pub appid: String,
    pub secret: String,
    pub token: String,
    pub aes_key: Option<String>,
    pub mode: &'static str,
    pub simulation: bool,
}

pub async fn account_add(config: Config, a: AccountArgs) -> Result<()> {
    let db = open_db(&config)?;
    let fields = crate::db::accounts::AccountFields {
        name: a.name,
        app_id: a.appid,
        app_secret: a.secret,
        token: a.token,
        aes_key: a.aes_key.unwrap_or_default(),
        mode: a.mode.into(),
        simulation: a.simulation,
        ..Default::default()
    };
    let id = crate::channel::create(&db, &Clock::System, &Acting::shell(), fields)
        .await
        .map_err(team_error)?;
    db.close();
    println!("account {id}");
    println!(
        "webhook URL: {}",
        crate::channel::webhook_url(&config.public_url(), id)
    );
    Ok(())
}

pub async fn account_list(config: Config) -> Result<()> {
    let db = open_db(&config)?;
    let accounts = db.read(crate::db::accounts::list).await?;
    println!("ID     APPID                MODE     SIM  NAME / WEBHOOK URL");
    for a in accounts {
        println!(
            "{:<6} {:<20} {:<8} {:<4} {}\n       {}",
            a.id,
            a.app_id,
            a.mode.as_str(),
            if a.simulation { "yes" } else { "no" },
            a.name,
            crate::channel::webhook_url(&config.public_url(), a.id)
        );
    }
    db.close();
    Ok(())
}
