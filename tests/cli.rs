//! The binary itself, as install.sh, Docker and an operator use it (G1, G4, G5,
//! G7): `--help`, `user add|passwd|list`, configuration precedence, `serve`
//! with graceful shutdown, `healthcheck`, and `backup` while another process
//! writes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const KEFU: &str = env!("CARGO_BIN_EXE_kefu");

fn kefu(data: &Path, args: &[&str], stdin: Option<&str>) -> Output {
    let mut child = Command::new(KEFU)
        .args(args)
        .env("KEFU_DATA", data)
        .env_remove("KEFU_LISTEN")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kefu");
    if let Some(input) = stdin {
        child
            .stdin
            .take()
            .unwrap()
            .write_all(input.as_bytes())
            .unwrap();
    }
    drop(child.stdin.take());
    child.wait_with_output().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(data: &Path, listen: &str, extra_env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(KEFU);
    cmd.env("KEFU_DATA", data)
        .env("KEFU_LISTEN", listen)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    Server(cmd.spawn().expect("start kefu"))
}

async fn wait_healthy(url: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if let Ok(r) = reqwest::get(format!("{url}/healthz")).await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{url} never became healthy");
}

#[test]
fn help_documents_every_option_and_command() {
    let out = Command::new(KEFU).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = text(&out);
    for word in [
        "--listen",
        "KEFU_LISTEN",
        "--data",
        "KEFU_DATA",
        "--base-url",
        "KEFU_BASE_URL",
        "--log-format",
        "--timezone",
        "--tls-cert",
        "--tls-key",
        "--trust-proxy",
        "serve",
        "user",
        "backup",
        "healthcheck",
        "0.0.0.0:8080",
        "./kefu-data",
    ] {
        assert!(help.contains(word), "--help mentions {word}:\n{help}");
    }
    let out = Command::new(KEFU)
        .args(["user", "add", "--help"])
        .output()
        .unwrap();
    let help = text(&out);
    assert!(
        help.contains("--role")
            && help.contains("super-admin")
            && help.contains("--password-stdin")
    );
}

#[test]
fn user_commands_add_list_and_change_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let out = kefu(
        &data,
        &[
            "user",
            "add",
            "boss",
            "--role",
            "super-admin",
            "--display-name",
            "老板",
            "--password-stdin",
        ],
        Some("long-password\n"),
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        data.join("kefu.db").exists(),
        "the data folder and database were created"
    );

    let out = kefu(
        &data,
        &["user", "add", "amy", "--role", "agent", "--password-stdin"],
        Some("short\n"),
    );
    assert!(!out.status.success());
    assert!(
        text(&out).contains("密码至少需要 8 个字符"),
        "{}",
        text(&out)
    );
    let out = kefu(
        &data,
        &["user", "add", "boss", "--role", "agent", "--password-stdin"],
        Some("long-password\n"),
    );
    assert!(text(&out).contains("已存在"), "{}", text(&out));
    let out = kefu(
        &data,
        &["user", "add", "x", "--role", "root", "--password-stdin"],
        Some("long-password\n"),
    );
    assert!(!out.status.success() && text(&out).contains("root"));
    let out = kefu(&data, &["user", "add", "amy", "--role", "agent"], None);
    assert!(
        !out.status.success() && text(&out).contains("--password-stdin"),
        "no terminal: {}",
        text(&out)
    );

    let out = kefu(&data, &["user", "list"], None);
    let list = text(&out);
    assert!(
        list.contains("boss") && list.contains("super-admin") && list.contains("老板"),
        "{list}"
    );
    assert!(!list.contains("amy"));

    let out = kefu(
        &data,
        &["user", "passwd", "boss", "--password-stdin"],
        Some("another-password\n"),
    );
    assert!(out.status.success(), "{}", text(&out));
    let out = kefu(
        &data,
        &["user", "passwd", "nobody", "--password-stdin"],
        Some("another-password\n"),
    );
    assert!(!out.status.success() && text(&out).contains("no user named nobody"));

    let conn = rusqlite::Connection::open(data.join("kefu.db")).unwrap();
    let hash: String = conn
        .query_row(
            "SELECT password_hash FROM users WHERE username = 'boss'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert!(kefu::auth::verify_password("another-password", &hash));
    let audits: i64 = conn
        .query_row(
            "SELECT count(*) FROM audit_log WHERE actor_name = '命令行'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(audits, 2, "user add and passwd are audited");
}

#[test]
fn bad_configuration_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("kefu.toml"), "lisen = \"127.0.0.1:1\"\n").unwrap();
    let out = kefu(dir.path(), &["user", "list"], None);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("kefu.toml") && text(&out).contains("lisen"),
        "{}",
        text(&out)
    );
    std::fs::write(dir.path().join("kefu.toml"), "timezone = \"Mars/Base\"\n").unwrap();
    let out = kefu(dir.path(), &["user", "list"], None);
    assert!(text(&out).contains("Mars/Base"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_healthcheck_backup_while_writing_and_graceful_shutdown() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // The file names a port; the environment overrides it (env > file).
    let (file_port, port) = (free_port(), free_port());
    std::fs::write(
        data.join("kefu.toml"),
        format!("listen = \"127.0.0.1:{file_port}\"\nlog_format = \"json\"\n"),
    )
    .unwrap();
    let listen = format!("127.0.0.1:{port}");
    let mut server = start(&data, &listen, &[("KEFU_LISTN", "typo")]);
    let url = format!("http://{listen}");
    wait_healthy(&url).await;

    let page = reqwest::get(format!("{url}/")).await.unwrap();
    assert!(page.url().path() == "/setup", "first visit leads to setup");
    let body = page.text().await.unwrap();
    assert!(body.contains("首次设置") && body.contains("htmx.min.js") && body.contains("app.css"));

    let hc = Command::new(KEFU)
        .arg("healthcheck")
        .env("KEFU_DATA", &data)
        .env("KEFU_LISTEN", &listen)
        .output()
        .unwrap();
    assert!(hc.status.success(), "{}", text(&hc));

    // The first-run setup code is in a file only kefu's user can read (and in the log).
    let code_file = data.join("setup-code.txt");
    let code = std::fs::read_to_string(&code_file)
        .unwrap()
        .trim()
        .to_string();
    assert_eq!(code.len(), 14, "three groups of four: {code}");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&code_file).unwrap().permissions().mode() & 0o777,
        0o600
    );

    // A second process writes continuously while the backup runs.
    let db_path = data.join("kefu.db");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let (db_path, stop) = (db_path.clone(), stop.clone());
        std::thread::spawn(move || {
            let conn = rusqlite::Connection::open(&db_path).unwrap();
            conn.busy_timeout(Duration::from_secs(5)).unwrap();
            let mut n = 0i64;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                conn.execute(
                    "INSERT INTO login_failures (username, ip, at) VALUES (?1, '127.0.0.1', ?2)",
                    rusqlite::params![format!("w{n}"), n],
                )
                .unwrap();
                n += 1;
            }
            n
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    let target = dir.path().join("backup.db");
    let out = Command::new(KEFU)
        .arg("backup")
        .arg(&target)
        .env("KEFU_DATA", &data)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let written = writer.join().unwrap();
    let copy = rusqlite::Connection::open(&target).unwrap();
    let check: String = copy
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(check, "ok");
    let rows: i64 = copy
        .query_row("SELECT count(*) FROM login_failures", [], |r| r.get(0))
        .unwrap();
    assert!(
        rows > 0 && rows <= written,
        "backup holds a consistent prefix: {rows} of {written}"
    );
    let again = Command::new(KEFU)
        .arg("backup")
        .arg(&target)
        .env("KEFU_DATA", &data)
        .output()
        .unwrap();
    assert!(
        !again.status.success(),
        "an existing file is never overwritten"
    );

    // SIGTERM: the server stops cleanly and says so.
    let pid = server.0.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = server.0.wait().unwrap();
    assert!(status.success(), "exit status after SIGTERM: {status}");
    let mut log = String::new();
    std::io::Read::read_to_string(server.0.stderr.as_mut().unwrap(), &mut log).unwrap();
    assert!(log.contains("stopped cleanly"), "{log}");
    assert!(log.contains(&code), "the setup code is in the log: {log}");
    assert!(
        log.contains("KEFU_LISTN"),
        "unknown variables are warned about: {log}"
    );
    assert!(
        log.lines()
            .any(|l| l.starts_with('{') && l.contains("\"level\"")),
        "json logs from kefu.toml: {log}"
    );
    assert!(
        !data.join("kefu.db-wal").exists()
            || std::fs::metadata(data.join("kefu.db-wal")).unwrap().len() == 0,
        "WAL checkpointed on close"
    );

    let hc = Command::new(KEFU)
        .arg("healthcheck")
        .env("KEFU_DATA", &data)
        .env("KEFU_LISTEN", &listen)
        .output()
        .unwrap();
    assert!(
        !hc.status.success(),
        "healthcheck fails when nothing answers"
    );
}
