//! End-to-end in a real browser: headless Chromium driven through chromedriver
//! (fantoccini). A fresh server is set up through the web pages, the super
//! admin adds a group and an agent, logs out, and the agent logs in and is
//! kept out of the admin pages. The whole flow runs once at desktop size and
//! once at phone size (375×812), where the sidebar hides behind ☰.
//!
//! Screenshots of the key steps go to `target/screenshots/<test>-<step>.png`.
//! Chromium and chromedriver are required (`apt-get install -y chromium
//! chromium-driver fonts-noto-cjk`); without them these tests fail, they do not
//! skip. `KEFU_CHROMEDRIVER` / `KEFU_CHROMIUM` override the binaries' paths.

mod common;

use anyhow::{Context, Result, anyhow, bail};
use common::TestServer;
use fantoccini::elements::Element;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tempfile::TempDir;

const WAIT: Duration = Duration::from_secs(15);

const ADMIN_USER: &str = "boss";
const ADMIN_NAME: &str = "陈经理";
const ADMIN_PASS: &str = "boss-pass-123";
const AGENT_USER: &str = "xiaowang";
const AGENT_NAME: &str = "小王";
const AGENT_PASS: &str = "agent-pass-456";
const GROUP_NAME: &str = "售后服务";
const GROUP_IDENT: &str = "after-sales";

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Device {
    Desktop,
    Phone,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn desktop_flow() {
    run("desktop_flow", Device::Desktop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_flow() {
    run("phone_flow", Device::Phone).await;
}

/// A14 in a real browser: a super admin opens 模拟器, creates a simulation
/// account, plays a follower who subscribes and writes, answers through the
/// outbox, and sees the reply delivered — all in the simulator's chat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulator_flow() {
    let started = Instant::now();
    let driver = ChromeDriver::start().await;
    let client = driver.connect(Device::Desktop).await;
    let server = TestServer::start().await;
    server
        .user(ADMIN_USER, kefu::model::Role::SuperAdmin, &[])
        .await;
    // The workers `kefu serve` runs: the outbox sender and the media fetcher.
    let sender = tokio::spawn(
        server
            .state
            .wechat
            .sender(&server.state.db, &server.state.clock)
            .run(),
    );
    let fetcher = tokio::spawn(
        server
            .state
            .wechat
            .fetcher(&server.state.db, &server.state.clock)
            .run(),
    );
    let shots = Shots::new("simulator_flow");
    let task = {
        let (c, url, shots) = (client.clone(), server.url.clone(), shots.clone());
        tokio::spawn(async move { simulator(&c, &url, &shots).await })
    };
    let outcome = task.await;
    if !matches!(outcome, Ok(Ok(()))) {
        let _ = shots.take(&client, "failure").await;
    }
    sender.abort();
    fetcher.abort();
    let _ = client.close().await;
    server.stop().await;
    drop(driver);
    match outcome {
        Ok(Ok(())) => eprintln!("[simulator_flow] passed in {:.1?}", started.elapsed()),
        Ok(Err(e)) => panic!("[simulator_flow] {e:#}"),
        Err(e) => panic!("[simulator_flow] flow task failed: {e}"),
    }
}

async fn simulator(c: &Client, base: &str, shots: &Shots) -> Result<()> {
    let at = |p: &str| format!("{base}{p}");
    c.goto(&at("/login")).await?;
    login(c, ADMIN_USER, common::PASSWORD).await?;
    wait_path(c, "/console").await?;
    c.goto(&at("/admin/simulator")).await?;
    wait_text(c, "main", "模拟器让您扮演一位粉丝").await?;
    click(c, "form[action='/admin/simulator/account'] button").await?;
    wait_text(c, "#flash", "已创建模拟公众号").await?;
    click(c, "form[action='/admin/simulator/act'].inline button").await?;
    wait_text(c, "#sim-chat", "[关注了公众号]").await?;

    let input = find(c, ".sim-input input[name='text']").await?;
    input.send_keys("你好,我买的耳机什么时候发货?").await?;
    click(c, ".sim-input button[value='text']").await?;
    wait_text(c, "#sim-chat", "我买的耳机什么时候发货").await?;
    click(c, ".sim-input button[value='image']").await?;
    // The fetcher downloads it from the fake WeChat; the chat then shows the picture.
    find(c, "#sim-chat .kind-image img").await?;

    let input = find(c, ".sim-input input[name='text']").await?;
    input.send_keys("您好!今天下午发出,请留意物流。").await?;
    click(c, ".sim-input button[value='reply']").await?;
    // The outbox sends it to kefu's fake WeChat; htmx polling shows the result.
    wait_text(c, "#sim-chat", "已送达微信").await?;
    let chat = text_of(c, "#sim-chat").await?;
    anyhow::ensure!(chat.contains("今天下午发出"), "reply shown: {chat}");
    check_no_horizontal_overflow(c, "simulator").await?;
    shots.take(c, "01-simulator-chat").await?;

    // The account it made, as 设置 → 公众号 shows it: the URL to paste into WeChat.
    c.goto(&at("/admin/accounts")).await?;
    wait_text(c, "table.list", "模拟公众号").await?;
    wait_text(c, "table.list", "/wechat/").await?;
    click(c, "table.list a[href^='/admin/accounts/']").await?;
    wait_text(c, ".card", "服务器配置").await?;
    click(c, "button[hx-post$='/test']").await?;
    wait_text(c, "#test-result", "连接成功").await?;
    check_no_horizontal_overflow(c, "account").await?;
    shots.take(c, "02-account").await?;

    // And the follower on the followers page.
    c.goto(&at("/admin/followers")).await?;
    wait_text(c, "table.list", "已关注").await?;
    check_no_horizontal_overflow(c, "followers").await?;
    shots.take(c, "03-followers").await?;
    Ok(())
}

/// Starts chromedriver, a browser session and a fresh server; runs the flow in
/// its own task so that the browser, chromedriver and the server are shut down
/// whether it passes or panics, then reports the outcome.
async fn run(test: &'static str, device: Device) {
    let started = Instant::now();
    let driver = ChromeDriver::start().await;
    let client = driver.connect(device).await;
    let server = TestServer::start().await;
    let shots = Shots::new(test);

    let task = {
        let (c, url, shots) = (client.clone(), server.url.clone(), shots.clone());
        // What the operator reads in the terminal (and in setup-code.txt).
        let code = server
            .state
            .setup_code()
            .expect("fresh server has a setup code")
            .to_string();
        tokio::spawn(async move { flow(&c, &url, &code, device, &shots).await })
    };
    let outcome = task.await;
    if !matches!(outcome, Ok(Ok(()))) {
        // Leave a picture of where it stopped.
        if let Ok(url) = client.current_url().await {
            eprintln!("[{test}] failed at {url}");
        }
        let _ = shots.take(&client, "failure").await;
    }
    let _ = client.close().await;
    server.stop().await;
    drop(driver);
    match outcome {
        Ok(Ok(())) => eprintln!("[{test}] passed in {:.1?}", started.elapsed()),
        Ok(Err(e)) => panic!("[{test}] {e:#}"),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("[{test}] flow task: {e}"),
    }
}

/// The SPEC walk-through, identical on both devices except for the ☰ menu.
async fn flow(c: &Client, base: &str, code: &str, device: Device, shots: &Shots) -> Result<()> {
    let at = |p: &str| format!("{base}{p}");

    // A fresh server sends everyone to first-run setup.
    c.goto(&at("/")).await?;
    wait_path(c, "/setup").await?;
    wait_text(c, "h1", "首次设置").await?;
    check_viewport(c, device).await?;
    check_assets(c).await?;
    check_no_horizontal_overflow(c, "setup").await?;
    shots.take(c, "01-setup").await?;

    fill(c, "code", &code.to_lowercase()).await?;
    fill(c, "username", ADMIN_USER).await?;
    fill(c, "display_name", ADMIN_NAME).await?;
    fill(c, "password", ADMIN_PASS).await?;
    fill(c, "confirm", ADMIN_PASS).await?;
    click(c, "form[action='/setup'] button[type=submit]").await?;

    // → signed in, on the console, with a flash saying the account exists (issue 13).
    wait_path(c, "/console").await?;
    wait_text(c, "#flash .alert-ok", "超级管理员已创建，您已登录").await?;
    shots.take(c, "02-console-after-setup").await?;

    // Setup is done: /setup now goes to the login page, which (signed in) goes home.
    c.goto(&at("/setup")).await?;
    wait_path(c, "/console").await?;
    check_shell(c, device, ADMIN_NAME, "超级管理员").await?;
    let nav = nav_text(c).await?;
    for entry in ["会话", "用户管理", "客服组管理", "操作日志"] {
        assert!(
            nav.contains(entry),
            "super admin's nav should list {entry}; nav: {nav:?}"
        );
    }
    wait_text(c, ".pane-chat", "选择一个会话开始接待").await?;
    check_no_horizontal_overflow(c, "console").await?;
    shots.take(c, "03-console-admin").await?;

    // To the groups page through the sidebar (behind ☰ on the phone).
    if device == Device::Phone {
        open_phone_menu(c).await?;
        shots.take(c, "04-phone-menu-open").await?;
    }
    click(c, ".sidebar a[href='/admin/groups']").await?;
    wait_path(c, "/admin/groups").await?;
    wait_text(c, ".topbar-title", "客服组").await?;
    // Which page this is shows in the top bar, on a phone too.
    let title = c.find(Locator::Css(".topbar-title")).await?;
    anyhow::ensure!(title.is_displayed().await?, "the page title is hidden");
    if device == Device::Phone {
        wait_sidebar_hidden(c).await?;
    }
    wait_text(c, "table.list", "还没有客服组").await?;

    fill(c, "name", GROUP_NAME).await?;
    fill(c, "ident", GROUP_IDENT).await?;
    fill(c, "phone", "400-800-1234").await?;
    fill(c, "public_name", "售后").await?;
    click(c, "form[action='/admin/groups'] button[type=submit]").await?;
    wait_path(c, "/admin/groups").await?;
    wait_text(
        c,
        "#flash .alert-ok",
        &format!("客服组 {GROUP_NAME} 已添加"),
    )
    .await?;
    let table = text_of(c, "table.list tbody").await?;
    for cell in [GROUP_NAME, GROUP_IDENT, "400-800-1234", "售后"] {
        assert!(
            table.contains(cell),
            "groups table should show {cell}; table: {table:?}"
        );
    }
    assert!(
        !table.contains("还没有客服组"),
        "the empty-row text should be gone: {table:?}"
    );
    check_no_horizontal_overflow(c, "groups").await?;
    shots.take(c, "05-groups").await?;

    // The users page, then 添加用户.
    c.goto(&at("/admin/users")).await?;
    wait_path(c, "/admin/users").await?;
    wait_text(c, "table.list tbody", ADMIN_USER).await?;
    check_no_horizontal_overflow(c, "users").await?;
    shots.take(c, "06-users-before").await?;
    click(c, "a[href='/admin/users/new']").await?;
    wait_path(c, "/admin/users/new").await?;
    wait_text(c, "h2", "添加用户").await?;

    click(c, "input[name=role][value=agent]").await?;
    fill(c, "username", AGENT_USER).await?;
    fill(c, "display_name", AGENT_NAME).await?;
    fill(c, "password", AGENT_PASS).await?;
    fill(c, "confirm", AGENT_PASS).await?;
    let tick = c
        .find(Locator::XPath(&format!(
            "//fieldset[contains(@class,'checks')]//label[contains(normalize-space(.), '{GROUP_NAME}')]/input[@name='groups']"
        )))
        .await
        .with_context(|| format!("group checkbox for {GROUP_NAME}"))?;
    scroll_into_view(c, &tick).await?;
    tick.click().await?;
    assert!(
        tick.is_selected().await?,
        "the {GROUP_NAME} checkbox should be ticked"
    );
    let agent_radio = c
        .find(Locator::Css("input[name=role][value=agent]"))
        .await?;
    assert!(
        agent_radio.is_selected().await?,
        "the 普通客服 role should be chosen"
    );
    check_no_horizontal_overflow(c, "new user").await?;
    shots.take(c, "07-user-new-filled").await?;
    click(c, "form[action='/admin/users'] button[type=submit]").await?;

    wait_path(c, "/admin/users").await?;
    wait_text(c, "#flash .alert-ok", &format!("用户 {AGENT_USER} 已添加")).await?;
    let row = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath(&format!(
            "//table[contains(@class,'list')]//tr[td[normalize-space(.)='{AGENT_USER}']]"
        )))
        .await
        .context("row of the new agent in the users table")?;
    let row_text = row.prop("textContent").await?.unwrap_or_default();
    for cell in [AGENT_NAME, "普通客服", GROUP_NAME, "正常"] {
        // "正常" is only checked loosely below; the others must be there.
        if cell != "正常" {
            assert!(
                row_text.contains(cell),
                "agent row should show {cell}; row: {row_text:?}"
            );
        }
    }
    shots.take(c, "08-users-after").await?;

    // The audit log lists what was just done, by whom.
    c.goto(&at("/admin/audit")).await?;
    wait_text(c, "table.list", "添加用户").await?;
    wait_text(c, "table.list", "添加客服组").await?;
    wait_text(c, "table.list", ADMIN_USER).await?;
    check_no_horizontal_overflow(c, "audit").await?;
    shots.take(c, "08b-audit").await?;

    // Log out through the user menu.
    logout(c, shots).await?;
    wait_path(c, "/login").await?;
    wait_text(c, "#flash .alert-ok", "您已退出登录").await?;
    shots.take(c, "10-logged-out").await?;

    // After logging out the console is closed again.
    c.goto(&at("/console")).await?;
    wait_path(c, "/login").await?;

    // The agent.
    login(c, AGENT_USER, AGENT_PASS).await?;
    wait_path(c, "/console").await?;
    wait_text(c, "#flash .alert-ok", "登录成功").await?;
    check_shell(c, device, AGENT_NAME, "普通客服").await?;
    let nav = nav_text(c).await?;
    assert!(
        nav.contains("会话"),
        "agent's nav should list 会话: {nav:?}"
    );
    for hidden in ["用户管理", "客服组管理", "操作日志"] {
        assert!(
            !nav.contains(hidden),
            "agent must not see {hidden} in the nav: {nav:?}"
        );
    }
    let admin_links = c.find_all(Locator::Css("a[href^='/admin']")).await?;
    assert!(
        admin_links.is_empty(),
        "agent's console should have no /admin links, found {}",
        admin_links.len()
    );
    // The agent is in a group, so no "not in any group" hint.
    let chat = text_of(c, ".pane-chat").await?;
    assert!(
        !chat.contains("您还不属于任何客服组"),
        "agent is in {GROUP_NAME}: {chat:?}"
    );
    check_no_horizontal_overflow(c, "agent console").await?;
    shots.take(c, "11-console-agent").await?;
    if device == Device::Phone {
        open_phone_menu(c).await?;
        shots.take(c, "12-phone-menu-agent").await?;
        click(c, ".sidebar a[href='/console']").await?;
        wait_path(c, "/console").await?;
        wait_sidebar_hidden(c).await?;
    }

    // Personal centre: the theme switch is an htmx POST carrying the CSRF
    // header; the choice is stored on the account and survives a reload.
    c.goto(&at("/console/me")).await?;
    wait_text(c, ".card", AGENT_USER).await?;
    wait_text(c, ".card", GROUP_NAME).await?;
    click(c, "button[data-theme-value='dark']").await?;
    let deadline = Instant::now() + WAIT;
    loop {
        let theme = c
            .execute("return document.documentElement.dataset.theme", vec![])
            .await?;
        if theme == serde_json::json!("dark") {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "theme never turned dark");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Give htmx's request time to land, then reload: still dark.
    let deadline = Instant::now() + WAIT;
    loop {
        c.goto(&at("/console/me")).await?;
        let theme = c
            .execute("return document.documentElement.dataset.theme", vec![])
            .await?;
        if theme == serde_json::json!("dark") {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "dark theme was not remembered");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    check_no_horizontal_overflow(c, "personal centre").await?;
    shots.take(c, "12b-personal-centre-dark").await?;

    // And the admin pages refuse them.
    c.goto(&at("/admin/users")).await?;
    wait_text(c, "body", "您没有权限访问此页面").await?;
    wait_text(c, ".error-card h2", "403").await?;
    wait_text(c, ".topbar", "403").await?;
    assert_eq!(
        c.current_url().await?.path(),
        "/admin/users",
        "the 403 is served in place"
    );
    shots.take(c, "13-agent-forbidden").await?;
    c.goto(&at("/admin/groups")).await?;
    wait_text(c, "body", "您没有权限访问此页面").await?;

    Ok(())
}

// ---------------------------------------------------------------------------
// Page helpers

// ---------------------------------------------------------------------------
// The live console: two agents in two browsers, a follower on the fake WeChat.

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn console_desktop_flow() {
    console_run("console_desktop_flow", Device::Desktop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn console_phone_flow() {
    console_run("console_phone_flow", Device::Phone).await;
}

const FOLLOWER: &str = "oE2EFollower_8821";
const REPLY: &str = "您好,您的快递已到达上海转运中心,预计明天送达。";
const FOLLOWER_LABEL: &str = "访客8821";

struct Desk {
    server: TestServer,
    fake: common::FakeServer,
    account: kefu::db::accounts::Account,
    bob: kefu::model::UserId,
}

async fn console_run(test: &'static str, device: Device) {
    use kefu::model::Role;
    let started = Instant::now();
    let driver = ChromeDriver::start().await;
    let (a, b) = (driver.connect(device).await, driver.connect(device).await);
    let server = TestServer::start().await;
    let fake = common::FakeServer::start().await;
    fake.fake.add_account(common::APPID, common::SECRET);
    let g = server.group("售后服务", "after-sales").await;
    server.user("amy", Role::Agent, &[g]).await;
    let bob = server.user("bob", Role::Agent, &[g]).await;
    let account = server.account("safe", &fake.url).await;
    let aid = account.id;
    server
        .state
        .db
        .write(move |c| -> kefu::db::DbResult<()> {
            kefu::db::accounts::set_groups(c, aid, &[g])?;
            let s = kefu::db::settings::GroupSettings {
                agents_see_queue: true,
                require_category: true,
                ..Default::default()
            };
            kefu::db::settings::set_group(c, g, &s)?;
            c.execute(
                "INSERT INTO categories (group_id, name) VALUES (?1, '物流咨询'), (?1, '退换货')",
                [g],
            )?;
            kefu::db::taxonomy::add_kb(
                c,
                g,
                "物流",
                "快递进度",
                REPLY,
                jiff::Timestamp::UNIX_EPOCH,
            )?;
            Ok(())
        })
        .await
        .expect("link the account and configure the group");
    server.state.wechat.forget_account(aid);
    let (st, stop) = (server.state.clone(), tokio::sync::watch::channel(false));
    let workers = [
        tokio::spawn(
            st.wechat
                .sender(&st.db, &st.clock)
                .run_until(stop.1.clone()),
        ),
        tokio::spawn(
            st.wechat
                .sweeper(&st.db, &st.clock)
                .run_until(stop.1.clone()),
        ),
    ];
    let shots = Shots::new(test);
    let desk = std::sync::Arc::new(Desk {
        server,
        fake,
        account,
        bob,
    });
    let task = {
        let (a, b, d, shots) = (a.clone(), b.clone(), desk.clone(), shots.clone());
        tokio::spawn(async move { console_flow(&a, &b, &d, device, &shots).await })
    };
    let outcome = task.await;
    if !matches!(outcome, Ok(Ok(()))) {
        let _ = shots.take(&a, "failure-amy").await;
        let _ = shots.take(&b, "failure-bob").await;
    }
    let _ = stop.0.send(true);
    for w in workers {
        let _ = w.await;
    }
    let _ = a.close().await;
    let _ = b.close().await;
    if let Ok(d) = std::sync::Arc::try_unwrap(desk) {
        d.server.stop().await;
    }
    drop(driver);
    match outcome {
        Ok(Ok(())) => eprintln!("[{test}] passed in {:.1?}", started.elapsed()),
        Ok(Err(e)) => panic!("[{test}] {e:#}"),
        Err(e) => panic!("[{test}] flow task failed: {e}"),
    }
}

fn text_push(content: &str, msg_id: u64, at: i64) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{FOLLOWER}]]></FromUserName>\
         <CreateTime>{at}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content>\
         <MsgId>{msg_id}</MsgId></xml>"
    )
}

/// Waits until `css` no longer contains `gone`.
async fn wait_without(c: &Client, css: &str, gone: &str) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        match c.find(Locator::Css(css)).await {
            // Gone with the element, or the element no longer says it.
            Err(_) => return Ok(()),
            Ok(e) => {
                if let Ok(Some(text)) = e.prop("textContent").await {
                    if !text.contains(gone) {
                        return Ok(());
                    }
                }
            }
        }
        if Instant::now() > deadline {
            bail!("{css} still contains {gone:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn console_flow(
    a: &Client,
    b: &Client,
    d: &Desk,
    device: Device,
    shots: &Shots,
) -> Result<()> {
    let base = d.server.url.clone();
    let at = |p: &str| format!("{base}{p}");
    for (c, who) in [(a, "amy"), (b, "bob")] {
        c.goto(&at("/login")).await?;
        login(c, who, common::PASSWORD).await?;
        wait_path(c, "/console").await?;
        // The live stream is up before the follower writes.
        let deadline = Instant::now() + WAIT;
        while c
            .execute(
                "return document.getElementById('workspace').dataset.live || '';",
                vec![],
            )
            .await?
            != json!("on")
        {
            if Instant::now() > deadline {
                bail!("{who}: live stream never connected");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    // 1. A follower writes: both agents see them queue, live.
    let now = d.server.state.clock.now().as_second();
    let resp = d
        .server
        .push(
            &d.account,
            "safe",
            &text_push("你好,我的快递到哪了?", 9001, now),
        )
        .await;
    assert_eq!(resp.status(), 200, "push accepted");
    wait_text(a, "#lists", FOLLOWER_LABEL).await?;
    wait_text(b, "#lists", FOLLOWER_LABEL).await?;
    wait_text(b, "#lists", "排队中（1）").await?;
    shots.take(a, "1-queued").await?;

    // 2. A accepts: it leaves B's queue, live.
    click(a, ".item[data-state='queued'] .item-link").await?;
    wait_text(a, "#chat", "你好,我的快递到哪了?").await?;
    click(a, "#chat .chat-actions button[hx-post$='/accept']").await?;
    wait_text(a, "#chat .chat-head", "会话中").await?;
    wait_text(b, "#lists", "排队中（0）").await?;
    wait_without(b, "#lists .queue-form", FOLLOWER_LABEL).await?;
    wait_text(b, "#lists", "接待：amy显示名").await?;
    wait_text(a, "#chat .budget", "可回复").await?;
    shots.take(a, "2-accepted").await?;

    // 3. A replies with Enter — on the desktop by inserting the quick reply from
    // the knowledge base — the fake WeChat receives it; A sees 已送达.
    let reply = REPLY;
    let box_ = find(a, "#chat textarea[name='text']").await?;
    if device == Device::Desktop {
        wait_text(a, "#side .kb", "快递进度").await?;
        click(a, "#side .kb-entry [data-kb-insert]").await?;
        assert_eq!(
            box_.prop("value").await?.as_deref(),
            Some(reply),
            "quick reply inserted"
        );
    } else {
        box_.send_keys(reply).await?;
    }
    box_.send_keys("\u{E007}").await?; // Enter
    wait_text(a, "#timeline", reply).await?;
    let deadline = Instant::now() + WAIT;
    loop {
        let sent = d.fake.fake.sent_to(FOLLOWER);
        if sent
            .iter()
            .any(|s| s.msgtype == "text" && s.body["text"]["content"].as_str() == Some(reply))
        {
            break;
        }
        if Instant::now() > deadline {
            bail!("the fake WeChat never received the reply; sent: {sent:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_text(a, "#timeline .row-out:last-child .delivery", "已送达").await?;
    shots.take(a, "3-delivered").await?;

    // 4. The follower answers: it appears live in A's chat.
    let now = d.server.state.clock.now().as_second();
    d.server
        .push(
            &d.account,
            "safe",
            &text_push("好的,谢谢!能帮我改一下地址吗?", 9002, now),
        )
        .await;
    wait_text(a, "#timeline", "能帮我改一下地址吗").await?;

    // 5. A transfers to B with a note; B accepts.
    chat_action(a, device, "transfer").await?;
    let select = find(a, "dialog[open] select[name='target']").await?;
    select.select_by_value(&format!("u{}", d.bob.0)).await?;
    find(a, "dialog[open] textarea[name='note']")
        .await?
        .send_keys("客户要改收货地址,请跟进")
        .await?;
    shots.take(a, "5-transfer-dialog").await?;
    click(a, "dialog[open] button[type='submit']").await?;
    wait_text(a, "#chat", "等待对方接受").await?;
    wait_text(b, "#lists .transfer-request", "客户要改收货地址").await?;
    shots.take(b, "5-transfer-request").await?;
    click(b, "#lists .transfer-request button.primary").await?;
    wait_text(b, "#chat .chat-head", "bob显示名").await?;
    wait_text(a, "#chat", "该会话由 bob显示名 接待").await?;
    if device == Device::Desktop {
        wait_text(b, "#side", FOLLOWER).await?;
    }

    // 6. B ends with a category.
    chat_action(b, device, "end").await?;
    shots.take(b, "6-end-dialog").await?;
    // Without a category the server refuses, with the reason, in the dialog.
    click(b, "dialog[open] button[type='submit']").await?;
    wait_text(b, "dialog[open] .dialog-error", "请至少选择一个咨询分类").await?;
    click(b, "dialog[open] input[name='category']").await?;
    click(b, "dialog[open] button[type='submit']").await?;
    wait_text(b, "#chat .chat-head", "已接待").await?;
    wait_text(a, "#lists", "会话中（0）").await?;
    shots.take(b, "6-ended").await?;
    // The follower's name stays readable beside 重新发起会话 on a phone too.
    let name = b
        .execute(
            "const e = document.querySelector('#chat .chat-label'); \
             return [e.getBoundingClientRect().width, e.scrollWidth];",
            vec![],
        )
        .await?;
    let (shown, needed) = (
        name[0].as_f64().unwrap_or(0.0),
        name[1].as_f64().unwrap_or(0.0),
    );
    anyhow::ensure!(
        shown + 1.0 >= needed,
        "the chat head cuts the follower's name: {shown} of {needed} px"
    );

    // 7. History shows the messages and the conversation with its category.
    let follower: i64 = find(b, "#chat .chat")
        .await?
        .attr("data-follower")
        .await?
        .unwrap_or_default()
        .parse()?;
    b.goto(&at(&format!("/console/f/{follower}/history")))
        .await?;
    wait_text(b, "main", "预计明天送达").await?;
    wait_text(b, "main table", "物流咨询").await?;
    wait_text(b, "main table", "已接待").await?;
    shots.take(b, "7-history").await?;
    check_no_horizontal_overflow(b, "history").await?;
    Ok(())
}

async fn login(c: &Client, user: &str, pass: &str) -> Result<()> {
    wait_path(c, "/login").await?;
    fill(c, "username", user).await?;
    fill(c, "password", pass).await?;
    click(c, "form[action='/login'] button[type=submit]").await
}

async fn logout(c: &Client, shots: &Shots) -> Result<()> {
    let summary = find(c, "details.user-menu > summary").await?;
    summary.click().await?;
    let button = c
        .wait()
        .at_most(WAIT)
        .for_element(Locator::XPath("//details[contains(@class,'user-menu')]//form[@action='/logout']//button[contains(., '退出登录')]"))
        .await
        .context("退出登录 button")?;
    let details = find(c, "details.user-menu").await?;
    assert!(
        details.attr("open").await?.is_some(),
        "clicking the avatar should open the user menu"
    );
    assert!(
        button.is_displayed().await?,
        "退出登录 should be visible once the menu is open"
    );
    shots.take(c, "09-user-menu-open").await?;
    button.click().await?;
    Ok(())
}

/// The console shell: sidebar with 会话, the top bar with the user's name.
async fn check_shell(c: &Client, device: Device, name: &str, role: &str) -> Result<()> {
    find(c, ".shell .sidebar nav a[href='/console']").await?;
    let shown = find(c, ".topbar .user-menu .user-name")
        .await?
        .prop("textContent")
        .await?
        .unwrap_or_default();
    assert_eq!(
        shown.trim(),
        name,
        "the top bar should carry the display name"
    );
    let avatar = text_of(c, ".topbar .avatar").await?;
    assert_eq!(
        avatar.trim(),
        name.chars().next().unwrap_or_default().to_string(),
        "avatar letter"
    );
    let menu_role = find(c, ".user-menu .menu-role")
        .await?
        .prop("textContent")
        .await?
        .unwrap_or_default();
    assert!(
        menu_role.contains(role) && menu_role.contains(name),
        "name and role in the user menu: {menu_role:?}"
    );
    let title = c.title().await?;
    assert!(title.contains("kefu 客服"), "page title: {title:?}");

    let sidebar = sidebar_rect(c).await?;
    let menu_button = find(c, "label.menu-button").await?;
    match device {
        Device::Desktop => {
            assert!(
                sidebar.0 >= 0.0 && sidebar.2 >= 150.0,
                "desktop sidebar should be on screen: {sidebar:?}"
            );
            assert!(!menu_button.is_displayed().await?, "no ☰ on the desktop");
            let name_el = find(c, ".topbar .user-name").await?;
            assert!(
                name_el.is_displayed().await?,
                "display name visible in the desktop top bar"
            );
        }
        Device::Phone => {
            assert!(
                sidebar.0 + sidebar.2 <= 0.5,
                "phone sidebar should start hidden off-screen: {sidebar:?}"
            );
            assert!(
                menu_button.is_displayed().await?,
                "☰ should be shown on the phone"
            );
        }
    }
    Ok(())
}

async fn nav_text(c: &Client) -> Result<String> {
    Ok(find(c, ".sidebar nav")
        .await?
        .prop("textContent")
        .await?
        .unwrap_or_default())
}

/// Clicks ☰ and waits until the sidebar has slid in.
async fn open_phone_menu(c: &Client) -> Result<()> {
    let before = sidebar_rect(c).await?;
    assert!(
        before.0 + before.2 <= 0.5,
        "sidebar should be closed before ☰: {before:?}"
    );
    click(c, "label.menu-button").await?;
    let deadline = Instant::now() + WAIT;
    loop {
        let r = sidebar_rect(c).await?;
        if r.0 >= -0.5 {
            assert!(r.2 >= 150.0, "open sidebar too narrow: {r:?}");
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the sidebar did not slide in after clicking ☰ (rect {r:?})");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn wait_sidebar_hidden(c: &Client) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        let r = sidebar_rect(c).await?;
        if r.0 + r.2 <= 0.5 {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the phone sidebar stayed open (rect {r:?})");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// (x, y, width, height) of the sidebar, as laid out (transforms included).
async fn sidebar_rect(c: &Client) -> Result<(f64, f64, f64, f64)> {
    let v = c
        .execute(
            "var r = document.querySelector('.sidebar').getBoundingClientRect(); return [r.x, r.y, r.width, r.height];",
            vec![],
        )
        .await?;
    let n = |i: usize| v.get(i).and_then(Value::as_f64).unwrap_or(f64::NAN);
    Ok((n(0), n(1), n(2), n(3)))
}

async fn check_viewport(c: &Client, device: Device) -> Result<()> {
    let v = c
        .execute("return [window.innerWidth, window.innerHeight];", vec![])
        .await?;
    let (w, h) = (v[0].as_f64().unwrap_or(0.0), v[1].as_f64().unwrap_or(0.0));
    match device {
        Device::Phone => assert_eq!((w, h), (375.0, 812.0), "phone viewport"),
        Device::Desktop => assert!(w >= 1200.0 && h >= 700.0, "desktop viewport is {w}×{h}"),
    }
    Ok(())
}

/// Our CSS and JS and the vendored htmx really load (CSP, hashes, MIME types).
async fn check_assets(c: &Client) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        let v = c
            .execute(
                "return [document.readyState, document.styleSheets.length, \
                 getComputedStyle(document.querySelector('.auth-card')).borderTopLeftRadius, \
                 typeof window.htmx];",
                vec![],
            )
            .await?;
        if v[0] == json!("complete") {
            assert!(v[1].as_u64().unwrap_or(0) >= 1, "no stylesheet loaded: {v}");
            assert_eq!(v[2], json!("12px"), "app.css not applied: {v}");
            assert_eq!(v[3], json!("object"), "htmx did not load: {v}");
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("page never finished loading: {v}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The page itself must not scroll sideways (wide tables scroll in their own box).
async fn check_no_horizontal_overflow(c: &Client, what: &str) -> Result<()> {
    let v = c
        .execute(
            "return [document.documentElement.scrollWidth, window.innerWidth];",
            vec![],
        )
        .await?;
    let (scroll, width) = (v[0].as_f64().unwrap_or(0.0), v[1].as_f64().unwrap_or(0.0));
    assert!(
        scroll <= width + 0.5,
        "{what}: page is {scroll}px wide in a {width}px viewport"
    );
    Ok(())
}

async fn find(c: &Client, css: &str) -> Result<Element> {
    c.wait()
        .at_most(WAIT)
        .for_element(Locator::Css(css))
        .await
        .with_context(|| format!("waiting for {css}"))
}

async fn click(c: &Client, css: &str) -> Result<()> {
    let e = find(c, css).await?;
    scroll_into_view(c, &e).await?;
    e.click().await.with_context(|| format!("clicking {css}"))
}

/// Types into the visible input `name` of the page's main form.
async fn fill(c: &Client, name: &str, value: &str) -> Result<()> {
    let css = format!("main form:not([role=search]) input[name='{name}']");
    let e = find(c, &css).await?;
    scroll_into_view(c, &e).await?;
    e.clear().await?;
    e.send_keys(value)
        .await
        .with_context(|| format!("typing into {name}"))?;
    let now = e.prop("value").await?.unwrap_or_default();
    assert_eq!(now, value, "field {name} should hold what was typed");
    Ok(())
}

async fn scroll_into_view(c: &Client, e: &Element) -> Result<()> {
    let arg = serde_json::to_value(e)?;
    c.execute("arguments[0].scrollIntoView({block: 'center'});", vec![arg])
        .await?;
    Ok(())
}

async fn text_of(c: &Client, css: &str) -> Result<String> {
    // Retried when htmx replaced the element in between.
    let mut last = None;
    for _ in 0..5 {
        match find(c, css).await?.text().await {
            Ok(t) => return Ok(t),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(anyhow!("reading {css}: {last:?}"))
}

/// Waits until the element `css` exists and its text contains `want`.
async fn wait_text(c: &Client, css: &str, want: &str) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    let mut last = String::new();
    loop {
        // htmx may swap the element between finding and reading it (stale): retry.
        if let Ok(e) = c.find(Locator::Css(css)).await {
            if let Ok(text) = e.prop("textContent").await {
                last = text.unwrap_or_default();
                if last.contains(want) {
                    return Ok(());
                }
            }
        }
        if Instant::now() > deadline {
            let url = c
                .current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default();
            bail!("{css} never contained {want:?} on {url}; last text: {last:?}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the browser is on `path` (redirects followed).
async fn wait_path(c: &Client, path: &str) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        let url = c.current_url().await?;
        if url.path() == path && ready(c).await? {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("expected to arrive at {path}, still at {url}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn ready(c: &Client) -> Result<bool> {
    Ok(c.execute("return document.readyState;", vec![]).await? == json!("complete"))
}

// ---------------------------------------------------------------------------
// 工作报表

/// 工作报表 in a real browser (issue 10): a super admin opens 工作报表,
/// picks a range, sees the table and the chart of each report, and 导出
/// answers with a workbook. A day of work is seeded straight into the
/// database (the numbers themselves are checked in `tests/reports.rs`).
/// On a phone the charts keep labels one can read (they scroll sideways).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_flow() {
    reports_run("reports_flow", Device::Desktop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_phone_flow() {
    reports_run("reports_phone_flow", Device::Phone).await;
}

async fn reports_run(test: &'static str, device: Device) {
    let driver = ChromeDriver::start().await;
    let client = driver.connect(device).await;
    let server = TestServer::start().await;
    server
        .user(ADMIN_USER, kefu::model::Role::SuperAdmin, &[])
        .await;
    seed_day(&server).await;
    // Evening of the seeded day (22:00 in Shanghai): the whole day is past.
    server
        .state
        .clock
        .advance(jiff::SignedDuration::from_hours(12));
    let shots = Shots::new(test);
    let task = {
        let (c, url, shots) = (client.clone(), server.url.clone(), shots.clone());
        tokio::spawn(async move { reports(&c, &url, &shots, device).await })
    };
    let outcome = task.await;
    if !matches!(outcome, Ok(Ok(()))) {
        let _ = shots.take(&client, "failure").await;
    }
    let _ = client.close().await;
    server.stop().await;
    drop(driver);
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("[{test}] {e:#}"),
        Err(e) => panic!("[{test}] flow task failed: {e}"),
    }
}

async fn reports(c: &Client, base: &str, shots: &Shots, device: Device) -> Result<()> {
    let at = |p: &str| format!("{base}{p}");
    c.goto(&at("/login")).await?;
    login(c, ADMIN_USER, common::PASSWORD).await?;
    wait_path(c, "/console").await?;
    if device == Device::Phone {
        open_phone_menu(c).await?;
    }
    click(c, "a.nav-item[href='/admin/reports/workload']").await?;
    wait_path(c, "/admin/reports/workload").await?;
    for kind in ["workload", "categories", "hourly", "quality", "service"] {
        if kind != "workload" {
            click(c, &format!("nav.tabs a[href='/admin/reports/{kind}']")).await?;
            wait_path(c, &format!("/admin/reports/{kind}")).await?;
        }
        // Pick the range (a date input's typing depends on the locale: set it).
        let set = if kind == "quality" {
            "document.querySelector(\"input[name=date]\").value = '2026-11-20';"
        } else {
            "document.querySelector(\"input[name=from]\").value = '2026-11-20';
             document.querySelector(\"input[name=to]\").value = '2026-11-20';"
        };
        c.execute(set, vec![]).await?;
        click(c, "form.filters button[type=submit]").await?;
        let deadline = Instant::now() + WAIT;
        while !c
            .current_url()
            .await?
            .query()
            .unwrap_or_default()
            .contains("2026-11-20")
        {
            if Instant::now() > deadline {
                bail!("{kind}: the filter was not submitted");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        wait_text(c, "table.report tbody", "").await?;
        let body = text_of(c, "main").await?;
        if body.contains("没有符合条件的数据") && kind != "quality" {
            bail!("{kind}: the seeded day shows no data");
        }
        if matches!(kind, "hourly" | "quality") {
            find(c, "figure.report-chart svg").await?;
            // The axis labels as drawn on the screen, in CSS pixels.
            let px = c
                .execute(
                    "return document.querySelector('figure.report-chart .chart-text')
                       .getBoundingClientRect().height;",
                    vec![],
                )
                .await?
                .as_f64()
                .unwrap_or(0.0);
            anyhow::ensure!(px >= 8.0, "{kind}: chart labels {px:.1} px high");
        }
        shots.take(c, kind).await?;
        // 导出: the link answers with a workbook.
        let got = c
            .execute(
                "const a = document.querySelector('a[download]');
                 return fetch(a.href).then(r => [r.status, r.headers.get('content-type'),
                   r.headers.get('content-disposition')]);",
                vec![],
            )
            .await?;
        let got: (u16, String, String) = serde_json::from_value(got)?;
        if got.0 != 200 || !got.1.contains("spreadsheetml") || !got.2.contains("attachment") {
            bail!("{kind}: 导出 answered {got:?}");
        }
    }
    Ok(())
}

/// One day (2026-11-20, Asia/Shanghai) of two agents in one group: a
/// conversation every hour from 09:00 to 20:00, accepted, answered, ended with
/// a category, some rated; statuses changing along the day.
async fn seed_day(server: &TestServer) {
    let group = server.group("售后服务", "after-sales").await;
    let amy = server.user("amy", kefu::model::Role::Agent, &[group]).await;
    let bob = server.user("bob", kefu::model::Role::Agent, &[group]).await;
    let acc = server.account("plain", "http://127.0.0.1:9").await;
    let day0 = "2026-11-20T00:00:00+08:00[Asia/Shanghai]"
        .parse::<jiff::Zoned>()
        .expect("the seeded day")
        .timestamp()
        .as_millisecond();
    server
        .state
        .db
        .write(move |c| -> kefu::db::DbResult<()> {
            let min = 60_000i64;
            let exec = |sql: &str, p: &[&dyn rusqlite::ToSql]| -> kefu::db::DbResult<i64> {
                c.execute(sql, p).map_err(kefu::db::DbError::from)?;
                Ok(c.last_insert_rowid())
            };
            let parent = exec(
                "INSERT INTO categories (group_id, name) VALUES (?1, '售后')",
                &[&group],
            )?;
            let cats = [
                exec(
                    "INSERT INTO categories (group_id, parent_id, name) VALUES (?1, ?2, '退货')",
                    &[&group, &parent],
                )?,
                exec(
                    "INSERT INTO categories (group_id, parent_id, name) VALUES (?1, ?2, '物流')",
                    &[&group, &parent],
                )?,
            ];
            for (who, status, h, m) in [
                (amy, "online", 9, 0),
                (bob, "online", 9, 30),
                (amy, "busy", 12, 0),
                (amy, "online", 13, 0),
                (bob, "away", 15, 0),
                (bob, "online", 15, 40),
                (amy, "offline", 18, 0),
                (bob, "offline", 21, 0),
            ] {
                let t = day0 + (h * 60 + m) * min;
                exec(
                    "INSERT INTO agent_status_log (user_id, status, at) VALUES (?1, ?2, ?3)",
                    &[&who, &status, &t],
                )?;
            }
            for (i, h) in (9..=20i64).enumerate() {
                let i = i as i64;
                let agent = if i % 3 == 2 { bob } else { amy };
                let t = day0 + h * 60 * min + (i * 7 % 40) * min;
                let openid = format!("oSeedFan{i:02}");
                let f = exec(
                    "INSERT INTO followers (account_id, openid, first_seen_at, last_seen_at)
                     VALUES (?1, ?2, ?3, ?3)",
                    &[&acc.id, &openid, &t],
                )?;
                let (acc_at, end) = (t + (2 + i % 4) * min, t + (15 + i) * min);
                let conv = exec(
                    "INSERT INTO conversations (account_id, follower_id, group_id, state, agent_id,
                        opened_at, queued_at, accepted_at, ended_at)
                     VALUES (?1, ?2, ?3, 'ended', ?4, ?5, ?5, ?6, ?7)",
                    &[&acc.id, &f, &group, &agent, &t, &acc_at, &end],
                )?;
                for (step, actor, at) in [
                    ("open", None, t),
                    ("accept", Some(agent), acc_at),
                    ("end_by_agent", Some(agent), end),
                ] {
                    exec(
                        "INSERT INTO conversation_events (conversation_id, at, step, actor_id, group_id)
                         VALUES (?1, ?2, ?3, ?4, ?5)",
                        &[&conv, &at, &step, &actor, &group],
                    )?;
                }
                for k in 0..(2 + i % 3) {
                    let at = t + k * 3 * min;
                    exec(
                        "INSERT INTO messages (account_id, follower_id, direction, kind, content,
                            created_at, received_at, conversation_id)
                         VALUES (?1, ?2, 'in', 'text', '请问', ?3, ?3, ?4)",
                        &[&acc.id, &f, &at, &conv],
                    )?;
                    let reply = acc_at + (k + 1) * (20 + i * 5) * 1000;
                    exec(
                        "INSERT INTO messages (account_id, follower_id, direction, kind, content,
                            sender_id, created_at, received_at, conversation_id)
                         VALUES (?1, ?2, 'out', 'text', '您好', ?3, ?4, ?4, ?5)",
                        &[&acc.id, &f, &agent, &reply, &conv],
                    )?;
                }
                exec(
                    "INSERT INTO conversation_categories (conversation_id, category_id) VALUES (?1, ?2)",
                    &[&conv, &cats[(i % 2) as usize]],
                )?;
                if i % 2 == 0 {
                    let score = 3 + i % 3;
                    exec(
                        "INSERT INTO surveys (conversation_id, state, score, solved, sent_at, answered_at)
                         VALUES (?1, 'answered', ?2, 1, ?3, ?3)",
                        &[&conv, &score, &end],
                    )?;
                }
            }
            Ok(())
        })
        .await
        .expect("seed a day of work");
}

// ---------------------------------------------------------------------------
// Screenshots

#[derive(Clone)]
struct Shots {
    dir: PathBuf,
    test: &'static str,
}

impl Shots {
    fn new(test: &'static str) -> Shots {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("screenshots");
        std::fs::create_dir_all(&dir).expect("create target/screenshots");
        // Old pictures of this test would be misleading.
        if let Ok(entries) = std::fs::read_dir(&dir) {
            for e in entries.flatten() {
                if e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("{test}-"))
                {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        Shots { dir, test }
    }

    async fn take(&self, c: &Client, step: &str) -> Result<()> {
        let png = c
            .screenshot()
            .await
            .with_context(|| format!("screenshot {step}"))?;
        assert!(
            png.starts_with(b"\x89PNG"),
            "screenshot {step} is not a PNG"
        );
        let path = self.dir.join(format!("{}-{step}.png", self.test));
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        eprintln!("[{}] screenshot {}", self.test, path.display());
        Ok(())
    }
}

// ---------------------------------------------------------------------------
// chromedriver

fn binary(env: &str, default: &str) -> PathBuf {
    let path = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    assert!(
        path.exists(),
        "{} not found: the browser tests need Chromium and chromedriver \
         (apt-get install -y chromium chromium-driver fonts-noto-cjk), or set {env}",
        path.display()
    );
    path
}

/// A chromedriver process on a loopback port; shut down (and killed if need
/// be) when dropped, taking its browsers with it.
struct ChromeDriver {
    child: Child,
    port: u16,
    chromium: PathBuf,
    dir: TempDir,
}

impl ChromeDriver {
    async fn start() -> ChromeDriver {
        let exe = binary("KEFU_CHROMEDRIVER", "/usr/bin/chromedriver");
        let chromium = binary("KEFU_CHROMIUM", "/usr/bin/chromium");
        let mut last_error = String::new();
        // A free port may be taken between asking and binding: try a few.
        for _ in 0..3 {
            let dir = tempfile::tempdir().expect("temp dir for chromedriver");
            let log = dir.path().join("chromedriver.log");
            let port = free_port();
            let child = Command::new(&exe)
                .arg(format!("--port={port}"))
                .arg(format!("--log-path={}", log.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| panic!("cannot start {}: {e}", exe.display()));
            let mut driver = ChromeDriver {
                child,
                port,
                chromium: chromium.clone(),
                dir,
            };
            match driver.wait_listening(Duration::from_secs(20)).await {
                Ok(()) => return driver,
                Err(e) => {
                    last_error = format!(
                        "{e}; log: {}",
                        std::fs::read_to_string(&log).unwrap_or_default()
                    )
                }
            }
        }
        panic!("chromedriver did not start: {last_error}");
    }

    async fn wait_listening(&mut self, within: Duration) -> Result<()> {
        let deadline = Instant::now() + within;
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.port));
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!("chromedriver exited early with {status}");
            }
            if tokio::net::TcpStream::connect(addr).await.is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "chromedriver did not listen on port {} within {within:?}",
                    self.port
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// A browser session with a fresh profile.
    async fn connect(&self, device: Device) -> Client {
        self.connect_lang(device, "zh-CN").await
    }

    /// A browser whose interface (and so `Accept-Language`) is `lang`.
    async fn connect_lang(&self, device: Device, lang: &str) -> Client {
        // Each session its own profile: two agents are two separate browsers.
        static SESSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = SESSIONS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let profile = self.dir.path().join(format!("profile-{n}"));
        std::fs::create_dir_all(&profile).expect("profile dir");
        let mut args = vec![
            "--headless=new".to_string(),
            "--no-sandbox".into(),
            "--disable-gpu".into(),
            "--disable-dev-shm-usage".into(),
            "--disable-background-networking".into(),
            "--disable-component-update".into(),
            "--disable-sync".into(),
            "--no-first-run".into(),
            format!("--lang={lang}"),
            format!("--accept-lang={lang}"),
            format!("--user-data-dir={}", profile.display()),
        ];
        let mut chrome = json!({ "binary": self.chromium.to_string_lossy() });
        match device {
            Device::Desktop => args.push("--window-size=1280,900".into()),
            Device::Phone => {
                args.push("--window-size=375,812".into());
                chrome["mobileEmulation"] = json!({
                    "deviceMetrics": { "width": 375, "height": 812, "pixelRatio": 2.0, "mobile": true, "touch": true },
                    "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) \
                                  Chrome/130.0.0.0 Mobile Safari/537.36",
                });
            }
        }
        chrome["args"] = json!(args);
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert("goog:chromeOptions".into(), chrome);
        let url = format!("http://127.0.0.1:{}", self.port);
        // A busy machine sometimes drops the first session request (the
        // transport fails, chromedriver logs nothing): ask again, twice.
        let mut attempt = 0;
        let client = loop {
            attempt += 1;
            match ClientBuilder::rustls()
                .expect("rustls")
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(c) => break Ok(c),
                Err(e) if attempt < 3 => {
                    eprintln!("chromedriver session attempt {attempt} failed: {e}; retrying");
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                Err(e) => break Err(e),
            }
        };
        let client = client
            .map_err(|e| anyhow!("{e}"))
            .unwrap_or_else(|e| {
                let log = std::fs::read_to_string(self.dir.path().join("chromedriver.log")).unwrap_or_default();
                let tail: String = log.lines().rev().take(40).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n");
                panic!("cannot open a Chromium session through chromedriver: {e}\n--- chromedriver.log (tail) ---\n{tail}")
            });
        if device == Device::Desktop {
            client
                .set_window_size(1280, 900)
                .await
                .expect("window size");
        }
        client
    }
}

impl Drop for ChromeDriver {
    fn drop(&mut self) {
        // Ask nicely first: /shutdown also quits the browsers it started.
        if let Ok(mut s) = TcpStream::connect_timeout(
            &SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)),
            Duration::from_secs(1),
        ) {
            use std::io::{Read, Write};
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let _ = write!(
                s,
                "GET /shutdown HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nConnection: close\r\n\r\n",
                self.port
            );
            let mut sink = Vec::new();
            let _ = s.read_to_end(&mut sink);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a free port");
    l.local_addr().expect("local addr").port()
}

// ---------------------------------------------------------------------------
// 工作时间 → 节假日, seen from the simulator

const HOLIDAY_NAME: &str = "公司年会";
/// Today in Asia/Shanghai on the test server's clock (2026-11-20T02:00:00Z).
const HOLIDAY_DATE: &str = "2026-11-20";
const HOLIDAY_REPLY: &str = "今天公司年会,客服休息,明天为您服务。";

/// C1–C3 in a real browser: a follower of the simulation account is welcomed
/// in work hours; the super admin then enables the time plan and adds a
/// holiday covering today on 设置 → 工作时间; a new follower writing during
/// the holiday gets that holiday's reply in the simulator's chat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeplan_holiday_flow() {
    let started = Instant::now();
    let driver = ChromeDriver::start().await;
    let client = driver.connect(Device::Desktop).await;
    let server = TestServer::start().await;
    server
        .user(ADMIN_USER, kefu::model::Role::SuperAdmin, &[])
        .await;
    // The workers `kefu serve` runs: the outbox sender and the media fetcher.
    let sender = tokio::spawn(
        server
            .state
            .wechat
            .sender(&server.state.db, &server.state.clock)
            .run(),
    );
    let fetcher = tokio::spawn(
        server
            .state
            .wechat
            .fetcher(&server.state.db, &server.state.clock)
            .run(),
    );
    let shots = Shots::new("timeplan_holiday_flow");
    let task = {
        let (c, url, shots) = (client.clone(), server.url.clone(), shots.clone());
        tokio::spawn(async move { timeplan_holiday(&c, &url, &shots).await })
    };
    let outcome = task.await;
    if !matches!(outcome, Ok(Ok(()))) {
        if let Ok(url) = client.current_url().await {
            eprintln!("[timeplan_holiday_flow] failed at {url}");
        }
        let _ = shots.take(&client, "failure").await;
    }
    sender.abort();
    fetcher.abort();
    let _ = client.close().await;
    server.stop().await;
    drop(driver);
    match outcome {
        Ok(Ok(())) => eprintln!(
            "[timeplan_holiday_flow] passed in {:.1?}",
            started.elapsed()
        ),
        Ok(Err(e)) => panic!("[timeplan_holiday_flow] {e:#}"),
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("[timeplan_holiday_flow] flow task failed: {e}"),
    }
}

async fn timeplan_holiday(c: &Client, base: &str, shots: &Shots) -> Result<()> {
    let at = |p: &str| format!("{base}{p}");
    c.goto(&at("/login")).await?;
    login(c, ADMIN_USER, common::PASSWORD).await?;
    wait_path(c, "/console").await?;

    // A simulation account and a first follower, in work hours (Friday 10:00).
    c.goto(&at("/admin/simulator")).await?;
    wait_text(c, "main", "模拟器让您扮演一位粉丝").await?;
    click(c, "form[action='/admin/simulator/account'] button").await?;
    wait_text(c, "#flash", "已创建模拟公众号").await?;
    let first = new_sim_follower(c).await?;
    sim_say(c, "你好").await?;
    wait_text(c, "#sim-chat", "欢迎咨询").await?;
    let chat = text_of(c, "#sim-chat").await?;
    anyhow::ensure!(
        !chat.contains(HOLIDAY_REPLY),
        "no holiday yet, but the chat says: {chat}"
    );
    shots.take(c, "01-simulator-welcome").await?;

    // 设置 → 工作时间: switch the plan on.
    c.goto(&at("/admin/timeplan")).await?;
    wait_path(c, "/admin/timeplan").await?;
    wait_text(c, ".topbar-title", "工作时间").await?;
    wait_text(c, "#timeplan-status", "未启用工作时间").await?;
    let switch = find(c, "#weekly input[name='enabled']").await?;
    anyhow::ensure!(
        !switch.is_selected().await?,
        "a new account's plan should start switched off"
    );
    click(c, "#weekly label.switch").await?;
    anyhow::ensure!(
        find(c, "#weekly input[name='enabled']")
            .await?
            .is_selected()
            .await?,
        "clicking 启用工作时间 should tick it"
    );
    click(c, "#weekly button[type=submit]").await?;
    wait_text(c, "#flash", "工作时间已保存").await?;
    wait_text(c, "#timeplan-status", "当前：工作时间").await?;
    wait_text(c, "#timeplan-status", "2026-11-20 18:00 周五 结束工作时间").await?;
    anyhow::ensure!(
        find(c, "#weekly input[name='enabled']")
            .await?
            .is_selected()
            .await?,
        "the saved plan should show as enabled"
    );
    wait_text(c, "#holidays tbody", "暂无节假日").await?;

    // The holiday: today, with its own reply.
    fill_in(c, "#holidays input[name='name']", HOLIDAY_NAME).await?;
    fill_date(c, "#holidays input[name='start']", HOLIDAY_DATE).await?;
    fill_date(c, "#holidays input[name='end']", HOLIDAY_DATE).await?;
    fill_in(c, "#holidays textarea[name='reply']", HOLIDAY_REPLY).await?;
    shots.take(c, "02-timeplan-holiday-filled").await?;
    click(c, "#holidays button[type=submit]").await?;
    wait_text(c, "#flash", &format!("节假日「{HOLIDAY_NAME}」已添加")).await?;
    let row = text_of(c, "#holidays tbody").await?;
    for cell in [HOLIDAY_NAME, HOLIDAY_DATE, HOLIDAY_REPLY, "删除"] {
        anyhow::ensure!(row.contains(cell), "holiday list should show {cell}: {row}");
    }
    anyhow::ensure!(
        !row.contains(&format!("{HOLIDAY_DATE} 至")),
        "a one-day holiday is one date: {row}"
    );
    // Still no custom workday: the holiday went to its own list.
    wait_text(c, "#workdays tbody", "暂无自定义工作日").await?;
    wait_text(c, "#timeplan-status", &format!("节假日（{HOLIDAY_NAME}）")).await?;
    // Saturday and Sunday are days off: work starts again on Monday.
    wait_text(c, "#timeplan-status", "2026-11-23 09:00 周一 开始工作时间").await?;
    check_no_horizontal_overflow(c, "timeplan").await?;
    c.execute("window.scrollTo(0, 0);", vec![]).await?;
    shots.take(c, "03-timeplan-top").await?;
    scroll_into_view(c, &find(c, "#holidays").await?).await?;
    shots.take(c, "04-timeplan-holidays").await?;

    // Back to the simulator: a new follower (no conversation yet) writes.
    c.goto(&at("/admin/simulator")).await?;
    wait_text(c, ".sim-followers", "已关注").await?;
    let second = new_sim_follower(c).await?;
    anyhow::ensure!(
        second != first,
        "+ 新粉丝关注公众号 should make a new follower, got {first} again"
    );
    sim_say(c, "在吗").await?;
    wait_text(c, "#sim-chat", HOLIDAY_REPLY).await?;
    let chat = text_of(c, "#sim-chat").await?;
    anyhow::ensure!(
        !chat.contains("欢迎咨询"),
        "on a holiday the welcome must not be sent: {chat}"
    );
    anyhow::ensure!(
        !chat.contains("你好"),
        "the new follower's chat should not show the first one's messages: {chat}"
    );
    let followers = c.find_all(Locator::Css(".sim-followers li a")).await?.len();
    anyhow::ensure!(
        followers == 2,
        "two simulated followers, listed {followers}"
    );
    check_no_horizontal_overflow(c, "simulator").await?;
    shots.take(c, "05-simulator-holiday-reply").await?;

    // The first follower's chat still holds the welcome only.
    c.goto(&at(&format!("/admin/simulator?follower={first}")))
        .await?;
    wait_text(c, "#sim-chat", "欢迎咨询").await?;
    let chat = text_of(c, "#sim-chat").await?;
    anyhow::ensure!(
        !chat.contains(HOLIDAY_REPLY),
        "the first follower wrote before the holiday was added: {chat}"
    );
    Ok(())
}

/// Clicks 「+ 新粉丝关注公众号」 and returns the new follower's id, from the
/// address the simulator goes to.
async fn new_sim_follower(c: &Client) -> Result<String> {
    let before = c.current_url().await?;
    click(c, "form[action='/admin/simulator/act'].inline button").await?;
    let deadline = Instant::now() + WAIT;
    let id = loop {
        let url = c.current_url().await?;
        let follower = url
            .query_pairs()
            .find(|(k, _)| k == "follower")
            .map(|(_, v)| v.into_owned());
        if let Some(id) = follower.filter(|_| url != before) {
            if ready(c).await? {
                break id;
            }
        }
        if Instant::now() > deadline {
            bail!("no new follower after 新粉丝关注公众号; at {url}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    anyhow::ensure!(
        id.parse::<i64>().is_ok_and(|n| n > 0),
        "the simulator should open the new follower, got follower={id:?}"
    );
    wait_text(c, ".sim-title", "我是").await?;
    wait_text(c, "#sim-chat", "[关注了公众号]").await?;
    Ok(id)
}

/// The simulated follower sends a text.
async fn sim_say(c: &Client, text: &str) -> Result<()> {
    let input = find(c, ".sim-input input[name='text']").await?;
    input.send_keys(text).await?;
    click(c, ".sim-input button[value='text']").await?;
    wait_text(c, "#sim-chat", text).await
}

/// Types into the field `css` (an input or a textarea).
async fn fill_in(c: &Client, css: &str, value: &str) -> Result<()> {
    let e = find(c, css).await?;
    scroll_into_view(c, &e).await?;
    e.clear().await?;
    e.send_keys(value)
        .await
        .with_context(|| format!("typing into {css}"))?;
    let now = e.prop("value").await?.unwrap_or_default();
    anyhow::ensure!(now == value, "{css} holds {now:?}, typed {value:?}");
    Ok(())
}

/// Types a date (`YYYY-MM-DD`) into the date picker `css`, the way a person
/// does: the digits of each part in the order the browser's locale shows them
/// (年/月/日 in zh-CN, 月/日/年 in en-US), stepping on after the year (a year
/// may have up to six digits, so the picker does not move on by itself).
async fn fill_date(c: &Client, css: &str, date: &str) -> Result<()> {
    let e = find(c, css).await?;
    scroll_into_view(c, &e).await?;
    let [year, month, day] = {
        let p: Vec<&str> = date.split('-').collect();
        anyhow::ensure!(p.len() == 3, "not a YYYY-MM-DD date: {date}");
        [p[0], p[1], p[2]]
    };
    let order = c
        .execute(
            "return new Intl.DateTimeFormat(undefined, \
             {year: 'numeric', month: '2-digit', day: '2-digit'}) \
             .formatToParts(new Date(2026, 10, 20)) \
             .map(p => p.type).filter(t => t !== 'literal');",
            vec![],
        )
        .await?;
    let order: Vec<String> = serde_json::from_value(order)?;
    let arg = serde_json::to_value(&e)?;
    c.execute("arguments[0].focus();", vec![arg]).await?;
    for part in &order {
        match part.as_str() {
            "year" => {
                e.send_keys(year).await?;
                e.send_keys(&fantoccini::key::Key::Right.to_string())
                    .await?;
            }
            "month" => e.send_keys(month).await?,
            "day" => e.send_keys(day).await?,
            other => bail!("unexpected date part {other} in {order:?}"),
        }
    }
    let now = e.prop("value").await?.unwrap_or_default();
    anyhow::ensure!(
        now == date,
        "{css} holds {now:?}, typed {date:?} in the order {order:?}"
    );
    Ok(())
}

// ---- issue 13: fixes ----

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue13_console_desktop() {
    issue13_console_run("issue13_console_desktop", Device::Desktop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn issue13_console_phone() {
    issue13_console_run("issue13_console_phone", Device::Phone).await;
}

/// The console fixes of issue 13 in two browsers (amy and bob): the status
/// dot follows 在线 → 离开 — an emoji picked is 👍 in the box and /:strong on
/// the wire; a saved 备注名 renames the list entry and the chat header (for
/// bob too); the flash floats (the chat does not move), and an old one goes at
/// the next action — the 10 MB warning and the transfer request alike;
/// 转接 and 结束 leave their lines in the timeline.
async fn issue13_console_run(test: &'static str, device: Device) {
    use kefu::model::Role;
    let driver = ChromeDriver::start().await;
    let (a, b) = (driver.connect(device).await, driver.connect(device).await);
    let server = TestServer::start().await;
    let fake = common::FakeServer::start().await;
    fake.fake.add_account(common::APPID, common::SECRET);
    let g = server.group("售后服务", "after-sales").await;
    server.user("amy", Role::Agent, &[g]).await;
    let bob = server.user("bob", Role::Agent, &[g]).await;
    let account = server.account("safe", &fake.url).await;
    let aid = account.id;
    server
        .state
        .db
        .write(move |c| -> kefu::db::DbResult<()> {
            kefu::db::accounts::set_groups(c, aid, &[g])?;
            let s = kefu::db::settings::GroupSettings {
                agents_see_queue: true,
                ..Default::default()
            };
            kefu::db::settings::set_group(c, g, &s)?;
            c.execute(
                "INSERT INTO categories (group_id, name) VALUES (?1, '地址修改')",
                [g],
            )?;
            Ok(())
        })
        .await
        .expect("link the account and configure the group");
    server.state.wechat.forget_account(aid);
    let (st, stop) = (server.state.clone(), tokio::sync::watch::channel(false));
    let sender = tokio::spawn(
        st.wechat
            .sender(&st.db, &st.clock)
            .run_until(stop.1.clone()),
    );
    let shots = Shots::new(test);
    let desk = std::sync::Arc::new(Desk {
        server,
        fake,
        account,
        bob,
    });
    let task = {
        let (a, b, d, shots) = (a.clone(), b.clone(), desk.clone(), shots.clone());
        tokio::spawn(async move { issue13_console(&a, &b, &d, device, &shots).await })
    };
    let outcome = task.await;
    if !matches!(outcome, Ok(Ok(()))) {
        let _ = shots.take(&a, "failure-amy").await;
        let _ = shots.take(&b, "failure-bob").await;
    }
    let _ = stop.0.send(true);
    let _ = sender.await;
    let _ = a.close().await;
    let _ = b.close().await;
    if let Ok(d) = std::sync::Arc::try_unwrap(desk) {
        d.server.stop().await;
    }
    drop(driver);
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("[{test}] {e:#}"),
        Err(e) => panic!("[{test}] flow task failed: {e}"),
    }
}

/// Clicks `css`, again when htmx swapped the element between finding and clicking.
async fn click_fresh(c: &Client, css: &str) -> Result<()> {
    let mut last = None;
    for _ in 0..10 {
        match click(c, css).await {
            Ok(()) => return Ok(()),
            Err(e) => last = Some(e),
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Err(last.unwrap_or_else(|| anyhow!("clicking {css}")))
}

/// Runs `js` until it returns `want` (or fails after [`WAIT`]).
async fn wait_js(c: &Client, js: &str, want: Value) -> Result<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        let got = c.execute(js, vec![]).await?;
        if got == want {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{js} gave {got}, not {want}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn issue13_console(
    a: &Client,
    b: &Client,
    d: &Desk,
    device: Device,
    shots: &Shots,
) -> Result<()> {
    let base = d.server.url.clone();
    let at = |p: &str| format!("{base}{p}");
    for (c, who) in [(a, "amy"), (b, "bob")] {
        c.goto(&at("/login")).await?;
        login(c, who, common::PASSWORD).await?;
        wait_path(c, "/console").await?;
        wait_js(
            c,
            "return document.getElementById('workspace').dataset.live || '';",
            json!("on"),
        )
        .await?;
    }

    // Bug 3: 在线 → 离开 turns the dot grey at once (and back).
    let dot =
        "return getComputedStyle(document.querySelector('.status-pick .dot')).backgroundColor;";
    let online = a.execute(dot, vec![]).await?;
    find(a, ".status-bar select[name='status']")
        .await?
        .select_by_value("away")
        .await?;
    wait_text(a, "#flash", "状态已切换为离开").await?;
    wait_js(a, dot, json!("rgb(144, 147, 153)")).await?;
    shots.take(a, "1-status-away").await?;
    find(a, ".status-bar select[name='status']")
        .await?
        .select_by_value("online")
        .await?;
    wait_js(a, dot, online).await?;

    // A follower writes; amy accepts.
    let now = d.server.state.clock.now().as_second();
    d.server
        .push(
            &d.account,
            "safe",
            &text_push("快递到了吗/:strong", 9301, now),
        )
        .await;
    wait_text(a, "#lists", FOLLOWER_LABEL).await?;
    click_fresh(a, ".item[data-state='queued'] .item-link").await?;
    click_fresh(a, "#chat .chat-actions button[hx-post$='/accept']").await?;
    wait_text(a, "#chat .chat-head", "会话中").await?;
    // The follower's /:strong shows as 👍.
    wait_text(a, "#timeline .row-in .emoji", "👍").await?;

    // Bug 10: the picker puts 👍 in the box; WeChat receives /:strong.
    click(a, "#chat button[data-toggle^='emoji-']").await?;
    click(a, "#chat .emoji-picker button[title='强']").await?;
    let box_ = find(a, "#chat textarea[name='text']").await?;
    assert_eq!(
        box_.prop("value").await?.as_deref(),
        Some("👍"),
        "the picker inserts the emoji"
    );
    box_.send_keys("已发货").await?;
    box_.send_keys("\u{E007}").await?; // Enter
    let deadline = Instant::now() + WAIT;
    while !d
        .fake
        .fake
        .sent_to(FOLLOWER)
        .iter()
        .any(|s| s.body["text"]["content"].as_str() == Some("/:strong已发货"))
    {
        if Instant::now() > deadline {
            bail!(
                "WeChat never got /:strong: {:?}",
                d.fake.fake.sent_to(FOLLOWER)
            );
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_text(a, "#timeline .row-out .text", "👍已发货").await?;
    shots.take(a, "2-emoji-sent").await?;

    // Bug 3: a saved 备注名 renames the chat header and the list entries.
    if device == Device::Phone {
        click(a, "#chat .chat-more").await?;
        click(a, "#chat .side-toggle").await?;
    }
    let remark = find(a, "#side input[name='remark']").await?;
    remark.clear().await?;
    remark.send_keys("王女士").await?;
    click(a, "#side .profile-form button[type='submit']").await?;
    wait_text(a, "#side", "资料已保存").await?;
    wait_text(a, "#side .facts", "王女士").await?;
    if device == Device::Phone {
        click(a, "#side .side-head .back").await?;
    }
    wait_text(a, "#chat .chat-label", "王女士").await?;
    wait_text(a, "#lists .item-label", "王女士").await?;
    wait_text(b, "#lists .item-label", "王女士").await?;
    shots.take(a, "3-renamed").await?;

    // Bug 5: the flash floats over the console — the chat does not move.
    // Where the chat pane starts and where the reply box ends, on screen,
    // measured with no message showing (an earlier one may still be there).
    let composer_bottom = "const top = document.getElementById('workspace').getBoundingClientRect().top; \
         const box = document.getElementById('composer').getBoundingClientRect(); \
         return [Math.round(top), Math.round(box.bottom), box.bottom <= window.innerHeight];";
    a.execute("document.getElementById('flash').innerHTML = '';", vec![])
        .await?;
    let before = a.execute(composer_bottom, vec![]).await?;
    a.execute(
        "const input = document.querySelector('#chat input[type=file][data-upload]');
         const dt = new DataTransfer();
         dt.items.add(new File([new Uint8Array(11 * 1024 * 1024)], 'big.png', { type: 'image/png' }));
         input.files = dt.files;
         input.dispatchEvent(new Event('change', { bubbles: true }));",
        vec![],
    )
    .await?;
    wait_text(a, "#flash", "图片不能超过 10 MB").await?;
    let after = a.execute(composer_bottom, vec![]).await?;
    anyhow::ensure!(
        before == after,
        "the flash pushed the reply box from {before} to {after}"
    );
    shots.take(a, "4-flash-floats").await?;
    // … and goes at the next action.
    chat_action(a, device, "note").await?;
    wait_without(a, "#flash", "图片不能超过").await?;
    click(a, "dialog[open] button[data-close-dialog]").await?;

    // Bug 5: bob's transfer request goes once he accepted it.
    chat_action(a, device, "transfer").await?;
    find(a, "dialog[open] select[name='target']")
        .await?
        .select_by_value(&format!("u{}", d.bob.0))
        .await?;
    find(a, "dialog[open] textarea[name='note']")
        .await?
        .send_keys("客户要改地址")
        .await?;
    click(a, "dialog[open] button[type='submit']").await?;
    wait_text(b, "#flash", "请求将会话转接给您").await?;
    shots.take(b, "5-transfer-toast").await?;
    click_fresh(b, "#lists .transfer-request button.primary").await?;
    wait_text(b, "#chat .chat-head", "bob显示名").await?;
    wait_without(b, "#flash", "请求将会话转接给您").await?;

    // Bug 6: bob ends with a category and a remark; the timeline tells the story.
    chat_action(b, device, "end").await?;
    click(b, "dialog[open] input[name='category']").await?;
    find(b, "dialog[open] textarea[name='remark']")
        .await?
        .send_keys("新地址已登记")
        .await?;
    click(b, "dialog[open] button[type='submit']").await?;
    wait_text(
        b,
        "#timeline",
        "结束会话，咨询分类：地址修改，备注：新地址已登记",
    )
    .await?;
    wait_text(
        b,
        "#timeline",
        "转接：amy显示名 → bob显示名（客户要改地址）",
    )
    .await?;
    wait_text(b, "#timeline", "amy显示名 接入会话").await?;
    shots.take(b, "6-steps-in-timeline").await?;
    if device == Device::Desktop {
        wait_text(b, "#side .facts", "amy显示名").await?;
        wait_text(b, "#side .facts", "bob显示名").await?;
    }
    Ok(())
}

/// The admin side of issue 13 at desktop size: the 组标识 pattern works in
/// Chromium (v flag), the automation preview starts at the top, the binding
/// card has its values and 复制 buttons and explains a failed 测试连接 — and the
/// simulator shows a real picture and emoji.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn issue13_admin_desktop() {
    let driver = ChromeDriver::start().await;
    let client = driver.connect(Device::Desktop).await;
    let server = TestServer::start().await;
    server
        .user(ADMIN_USER, kefu::model::Role::SuperAdmin, &[])
        .await;
    let fake = common::FakeServer::start().await;
    // Bound with a secret WeChat does not know: 测试连接 fails with 40125.
    fake.fake
        .add_account(common::APPID, "another-secret-0123456789abcdef0");
    let fetcher = tokio::spawn(
        server
            .state
            .wechat
            .fetcher(&server.state.db, &server.state.clock)
            .run(),
    );
    let shots = Shots::new("issue13_admin_desktop");
    let task = {
        let (c, url, shots, srv) = (
            client.clone(),
            server.url.clone(),
            shots.clone(),
            server.state.clone(),
        );
        let api = fake.url.clone();
        tokio::spawn(async move { issue13_admin(&c, &url, &api, &srv, &shots).await })
    };
    let outcome = task.await;
    if !matches!(outcome, Ok(Ok(()))) {
        let _ = shots.take(&client, "failure").await;
    }
    fetcher.abort();
    let _ = client.close().await;
    server.stop().await;
    drop(driver);
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("[issue13_admin_desktop] {e:#}"),
        Err(e) => panic!("[issue13_admin_desktop] flow task failed: {e}"),
    }
}

async fn issue13_admin(
    c: &Client,
    base: &str,
    api: &str,
    state: &kefu::state::AppState,
    shots: &Shots,
) -> Result<()> {
    let at = |p: &str| format!("{base}{p}");
    c.goto(&at("/login")).await?;
    login(c, ADMIN_USER, common::PASSWORD).await?;
    wait_path(c, "/console").await?;

    // Bug 8: the browser checks the 组标识 (an invalid pattern is ignored).
    c.goto(&at("/admin/groups")).await?;
    wait_path(c, "/admin/groups").await?;
    let valid = |v: &str| {
        format!(
            "const i = document.querySelector('main form input[name=ident]'); i.value = {v:?}; return i.checkValidity();"
        )
    };
    assert_eq!(
        c.execute(&valid("after sales"), vec![]).await?,
        json!(false),
        "a space is refused"
    );
    assert_eq!(
        c.execute(&valid("售后"), vec![]).await?,
        json!(false),
        "Chinese is refused"
    );
    assert_eq!(
        c.execute(&valid("after-sales_2"), vec![]).await?,
        json!(true),
        "- and _ pass"
    );

    // Item 15: no alarm before there is an account.
    c.goto(&at("/admin/accounts")).await?;
    wait_text(c, "table.list", "还没有绑定公众号").await?;
    anyhow::ensure!(
        c.find(Locator::Css(".alert-error")).await.is_err(),
        "a red box before any account"
    );
    shots.take(c, "1-accounts-empty").await?;

    // A real account (its API on the fake WeChat), then its card.
    let f = kefu::db::accounts::AccountFields {
        name: "小店服务号".into(),
        app_id: common::APPID.into(),
        app_secret: common::SECRET.into(),
        token: common::WX_TOKEN.into(),
        aes_key: common::AES_KEY.into(),
        mode: "safe".into(),
        api_base: api.into(),
        ..Default::default()
    };
    let id = kefu::channel::create(&state.db, &state.clock, &kefu::team::Acting::shell(), f)
        .await
        .map_err(|e| anyhow!("account: {e:?}"))?;
    c.goto(&at(&format!("/admin/accounts/{id}"))).await?;
    wait_text(c, ".bind-values", common::AES_KEY).await?;
    // The URL stays on one line (it scrolls inside its box instead of breaking).
    let lines = c
        .execute(
            "const r = document.createRange(); \
             r.selectNodeContents(document.querySelector('.bind-values code.url')); \
             return r.getClientRects().length;",
            vec![],
        )
        .await?;
    assert_eq!(lines, json!(1), "the webhook URL wraps");
    click(
        c,
        &format!(".bind-values button[data-copy='{}']", common::WX_TOKEN),
    )
    .await?;
    wait_text(c, "#flash", &format!("已复制：{}", common::WX_TOKEN)).await?;
    click(c, "button[hx-post$='/test']").await?;
    wait_text(c, "#test-result", "解决办法：").await?;
    wait_text(c, "#test-result", "AppSecret").await?;
    check_no_horizontal_overflow(c, "account card").await?;
    shots.take(c, "2-account-test-failed").await?;
    c.execute(
        "document.querySelector('.card h2').scrollIntoView({block: 'start'});",
        vec![],
    )
    .await?;
    shots.take(c, "2-account-card").await?;

    // Bug 11a: the preview starts at the top, also after typing.
    c.goto(&at("/admin/automation")).await?;
    wait_path(c, "/admin/automation").await?;
    let long: String = (1..=40).map(|n| format!("第 {n} 行说明\n")).collect();
    let welcome = find(c, "textarea[name='welcome']").await?;
    scroll_into_view(c, &welcome).await?;
    welcome.send_keys(&long).await?;
    wait_text(c, "#preview", "第 40 行说明").await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let v = c
        .execute(
            "const p = document.getElementById('preview'); return [p.scrollTop, p.scrollHeight > p.clientHeight];",
            vec![],
        )
        .await?;
    assert_eq!(v, json!([0, true]), "a long preview, shown from the top");
    c.execute("window.scrollTo(0, 0);", vec![]).await?;
    shots.take(c, "3-automation-preview").await?;

    // Bug 10: the simulator's photo is a picture, its faces are emoji.
    c.goto(&at("/admin/simulator")).await?;
    click(c, "form[action='/admin/simulator/account'] button").await?;
    wait_text(c, "#flash", "已创建模拟公众号").await?;
    click(c, "form[action='/admin/simulator/act'].inline button").await?;
    wait_text(c, "#sim-chat", "[关注了公众号]").await?;
    let input = find(c, ".sim-input input[name='text']").await?;
    input.send_keys("收到了/:strong谢谢").await?;
    click(c, ".sim-input button[value='text']").await?;
    wait_text(c, "#sim-chat .emoji", "👍").await?;
    click(c, ".sim-input button[value='image']").await?;
    let img = find(c, "#sim-chat .kind-image img").await?;
    let deadline = Instant::now() + WAIT;
    loop {
        let w = c
            .execute(
                "const i = document.querySelector('#sim-chat .kind-image img'); return i && i.complete ? i.naturalWidth : 0;",
                vec![],
            )
            .await?;
        if w.as_u64().unwrap_or(0) >= 100 {
            break;
        }
        if Instant::now() > deadline {
            bail!("the simulator's picture never loaded ({w})");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    scroll_into_view(c, &img).await?;
    let chat = text_of(c, "#sim-chat").await?;
    anyhow::ensure!(
        !chat.contains("/:strong"),
        "a raw code in the simulator: {chat}"
    );
    shots.take(c, "4-simulator").await?;
    Ok(())
}

// ---- issue 12: search ----

/// 消息管理 in a real browser (issue 12): the super admin searches a
/// two-character word, sees the hits with the word marked, opens one (the
/// follower's history, scrolled to that message), exports the result as a
/// workbook and a PDF, and looks at an agent's 已接待 list.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_flow() {
    let driver = ChromeDriver::start().await;
    let client = driver.connect(Device::Desktop).await;
    let server = TestServer::start().await;
    server
        .user(ADMIN_USER, kefu::model::Role::SuperAdmin, &[])
        .await;
    let amy = seed_search(&server).await;
    let shots = Shots::new("search_flow");
    let task = {
        let (c, url, shots) = (client.clone(), server.url.clone(), shots.clone());
        tokio::spawn(async move { search(&c, &url, &shots, amy).await })
    };
    let outcome = task.await;
    if !matches!(outcome, Ok(Ok(()))) {
        let _ = shots.take(&client, "failure").await;
    }
    let _ = client.close().await;
    server.stop().await;
    drop(driver);
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("[search_flow] {e:#}"),
        Err(e) => panic!("[search_flow] flow task failed: {e}"),
    }
}

async fn search(c: &Client, base: &str, shots: &Shots, amy: kefu::model::UserId) -> Result<()> {
    let at = |p: &str| format!("{base}{p}");
    c.goto(&at("/login")).await?;
    login(c, ADMIN_USER, common::PASSWORD).await?;
    wait_path(c, "/console").await?;
    click(c, "a.nav-item[href='/admin/messages']").await?;
    wait_path(c, "/admin/messages").await?;
    let q = find(c, "form[role=search] input[name=q]").await?;
    q.send_keys("退款").await?;
    click(c, "form[role=search] button[type=submit]").await?;
    let deadline = Instant::now() + WAIT;
    while !c
        .current_url()
        .await?
        .query()
        .unwrap_or_default()
        .contains("q=")
    {
        if Instant::now() > deadline {
            bail!("the search was not submitted");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    wait_text(c, "table.messages tbody", "退款").await?;
    let marks = c
        .find_all(Locator::Css("table.messages tbody mark"))
        .await?;
    let rows = c
        .find_all(Locator::Css("table.messages tbody tr[data-message]"))
        .await?;
    if rows.len() != 3 || marks.len() < 3 {
        bail!(
            "expected 3 hits with 退款 marked, got {} rows and {} marks",
            rows.len(),
            marks.len()
        );
    }
    for m in &marks {
        if m.text().await? != "退款" {
            bail!("a mark holds {:?}", m.text().await?);
        }
    }
    if text_of(c, "table.messages tbody")
        .await?
        .contains("物流三天")
    {
        bail!("a message without 退款 is listed");
    }
    shots.take(c, "results").await?;

    // Export: both links answer with files.
    for (fmt, kind) in [("xlsx", "spreadsheetml"), ("pdf", "application/pdf")] {
        let got = c
            .execute(
                &format!(
                    "const a = document.querySelector('a[download][href*=\"format={fmt}\"]');
                     return fetch(a.href).then(r => [r.status, r.headers.get('content-type'),
                       r.headers.get('content-disposition')]);"
                ),
                vec![],
            )
            .await?;
        let got: (u16, String, String) = serde_json::from_value(got)?;
        if got.0 != 200 || !got.1.contains(kind) || !got.2.contains("attachment") {
            bail!("导出 {fmt} answered {got:?}");
        }
    }

    // Open the oldest hit: the history page, scrolled to that message.
    let last = rows.last().context("a hit")?;
    let id = last.attr("data-message").await?.context("data-message")?;
    let link = last.find(Locator::Css("a")).await?;
    scroll_into_view(c, &link).await?;
    link.click().await?;
    let deadline = Instant::now() + WAIT;
    while !c.current_url().await?.path().ends_with("/history") {
        if Instant::now() > deadline {
            bail!("查看 did not open the history");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let target = find(c, &format!("#m-{id}")).await?;
    let text = target.text().await?;
    if !text.contains("退款") {
        bail!("the history's message #{id} reads {text:?}");
    }
    let visible = c
        .execute(
            "const r = arguments[0].getBoundingClientRect();
             return r.top >= 0 && r.bottom <= window.innerHeight;",
            vec![serde_json::to_value(&target)?],
        )
        .await?;
    if visible != json!(true) {
        bail!("the message #{id} is not scrolled into view");
    }
    // …and marked: the row is the page's :target, its bubble outlined.
    let marked = c
        .execute(
            "const row = arguments[0];
             const bubble = row.querySelector('.bubble');
             return row.matches(':target') && getComputedStyle(bubble).outlineStyle === 'solid';",
            vec![serde_json::to_value(&target)?],
        )
        .await?;
    if marked != json!(true) {
        bail!("the message #{id} opened from the search is not highlighted");
    }
    // The page ends at the hit; newer messages are one link away.
    let newest = c
        .execute(
            "return [...document.querySelectorAll('a')].some(a => a.textContent.includes('最新的消息'));",
            vec![],
        )
        .await?;
    if newest != json!(true) {
        bail!("the history opened at a hit has no link to the newest messages");
    }
    shots.take(c, "history").await?;

    // 已接待 of an agent, picked by the admin.
    c.goto(&at(&format!("/console/served?agent={amy}"))).await?;
    wait_text(c, "table.served tbody", "张三").await?;
    shots.take(c, "served").await?;
    Ok(())
}

/// An agent's two ended conversations with a few messages each, stored the
/// way the webhook and the console store them (so indexed for search), and
/// enough older messages that the history page has to scroll.
async fn seed_search(server: &TestServer) -> kefu::model::UserId {
    use kefu::db::messages::{NewInbound, NewOutbound};
    let group = server.group(GROUP_NAME, GROUP_IDENT).await;
    let amy = server.user("amy", kefu::model::Role::Agent, &[group]).await;
    let acc = server.account("plain", "http://127.0.0.1:9").await.id;
    let now = server.state.clock.now();
    server
        .state
        .db
        .write(move |c| -> kefu::db::DbResult<()> {
            let start = now - jiff::SignedDuration::from_hours(2);
            type Talk = (&'static str, &'static str, &'static [(bool, &'static str)]);
            let talks: [Talk; 2] = [
                (
                    "oSearchZhang000001",
                    "张三",
                    &[
                        (true, "你好，我要退款"),
                        (false, "好的，退款会在 1–3 个工作日内原路退回。"),
                        (true, "谢谢"),
                    ],
                ),
                (
                    "oSearchLi000000002",
                    "李四",
                    &[
                        (true, "物流三天没更新了"),
                        (false, "已为您催促仓库"),
                        (true, "那我申请退款吧"),
                    ],
                ),
            ];
            let mut k = 0;
            for (openid, remark, lines) in talks {
                let f = kefu::db::followers::upsert(c, acc, openid, start)?;
                kefu::db::followers::set_remark(c, f, remark)?;
                // Older chatter, so the page must scroll to the hit.
                for i in 0..30 {
                    k += 1;
                    let when = start + jiff::SignedDuration::from_secs(k);
                    kefu::db::messages::insert_inbound(
                        c,
                        acc,
                        f,
                        &NewInbound {
                            dedup_key: format!("old{k}"),
                            wx_msg_id: None,
                            kind: kefu::model::MessageKind::Text,
                            event: String::new(),
                            content: format!("在吗？第 {i} 次"),
                            data: json!({}),
                            raw: String::new(),
                            created_at: when,
                            conversation: None,
                        },
                        when,
                    )?;
                }
                c.execute(
                    "INSERT INTO conversations (account_id, follower_id, group_id, state, agent_id,
                        opened_at, queued_at, accepted_at, ended_at)
                     VALUES (?1, ?2, ?3, 'ended', ?4, ?5, ?5, ?5, ?6)",
                    rusqlite::params![acc, f, group, amy, kefu::db::ms(start), kefu::db::ms(now)],
                )
                .map_err(kefu::db::DbError::from)?;
                let conv = kefu::model::ConversationId(c.last_insert_rowid());
                for (inbound, text) in lines {
                    k += 60;
                    let when = start + jiff::SignedDuration::from_secs(k);
                    if *inbound {
                        kefu::db::messages::insert_inbound(
                            c,
                            acc,
                            f,
                            &NewInbound {
                                dedup_key: format!("m{k}"),
                                wx_msg_id: None,
                                kind: kefu::model::MessageKind::Text,
                                event: String::new(),
                                content: text.to_string(),
                                data: json!({}),
                                raw: String::new(),
                                created_at: when,
                                conversation: Some(conv),
                            },
                            when,
                        )?;
                    } else {
                        let id = kefu::db::messages::insert_outbound(
                            c,
                            &NewOutbound {
                                account: acc,
                                follower: f,
                                kind: kefu::model::MessageKind::Text,
                                content: text,
                                data: &json!({}),
                                sender: Some(amy),
                            },
                            when,
                        )?;
                        kefu::db::messages::attach(c, id, conv)?;
                    }
                }
            }
            Ok(())
        })
        .await
        .expect("seed conversations to search");
    amy
}

// ---- issue 12: knowledge tree ----

const KB_FOLLOWER: &str = "oE2EKbTree_5531";
const KB_REPLY: &str = "您好！我是售后客服，很高兴为您服务。";

/// E3 in a real browser: the super admin builds a two-level knowledge tree on
/// 知识库 (a folder given to the group, a sub-folder added with its ＋, an
/// entry in it); the agent then inserts that entry from the quick replies of
/// a conversation they hold, which counts one use.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn knowledge_tree_flow() {
    let driver = ChromeDriver::start().await;
    let client = driver.connect(Device::Desktop).await;
    let server = TestServer::start().await;
    let fake = common::FakeServer::start().await;
    fake.fake.add_account(common::APPID, common::SECRET);
    let g = server.group(GROUP_NAME, GROUP_IDENT).await;
    server
        .user(ADMIN_USER, kefu::model::Role::SuperAdmin, &[])
        .await;
    server.user("amy", kefu::model::Role::Agent, &[g]).await;
    let account = server.account("safe", &fake.url).await;
    let aid = account.id;
    server
        .state
        .db
        .write(move |c| -> kefu::db::DbResult<()> {
            kefu::db::accounts::set_groups(c, aid, &[g])?;
            let s = kefu::db::settings::GroupSettings {
                agents_see_queue: true,
                ..Default::default()
            };
            kefu::db::settings::set_group(c, g, &s)
        })
        .await
        .expect("link the account");
    server.state.wechat.forget_account(aid);
    let shots = Shots::new("knowledge_tree_flow");
    let server = std::sync::Arc::new(server);
    let task = {
        let (c, srv, shots) = (client.clone(), server.clone(), shots.clone());
        tokio::spawn(async move { knowledge_tree(&c, &srv, &account, &shots).await })
    };
    let outcome = task.await;
    if !matches!(outcome, Ok(Ok(()))) {
        let _ = shots.take(&client, "failure").await;
    }
    let _ = client.close().await;
    if let Ok(s) = std::sync::Arc::try_unwrap(server) {
        s.stop().await;
    }
    drop(fake);
    drop(driver);
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("[knowledge_tree_flow] {e:#}"),
        Err(e) => panic!("[knowledge_tree_flow] flow task failed: {e}"),
    }
}

async fn knowledge_tree(
    c: &Client,
    srv: &TestServer,
    account: &kefu::db::accounts::Account,
    shots: &Shots,
) -> Result<()> {
    let at = |p: &str| srv.at(p);
    c.goto(&at("/login")).await?;
    login(c, ADMIN_USER, common::PASSWORD).await?;
    wait_path(c, "/console").await?;

    // 1. The menu's 知识库 opens the tree editor; a top-level folder for the group.
    click(c, "nav a[href='/admin/kb']").await?;
    wait_path(c, "/admin/kb").await?;
    wait_text(c, "#tree", "还没有内容").await?;
    fill(c, "title", "售后常用").await?;
    c.find(Locator::Css(
        "form[action='/admin/kb/nodes'] input[name='kind'][value='folder']",
    ))
    .await?
    .click()
    .await?;
    click(c, "form[action='/admin/kb/nodes'] button[type=submit]").await?;
    wait_text(c, "#tree", "售后常用").await?;

    // 2. ＋ on it adds a child folder, then ＋ on that the entry.
    click(c, "#tree a[title='添加下级']").await?;
    fill(c, "title", "开场").await?;
    c.find(Locator::Css(
        "form[action='/admin/kb/nodes'] input[name='kind'][value='folder']",
    ))
    .await?
    .click()
    .await?;
    click(c, "form[action='/admin/kb/nodes'] button[type=submit]").await?;
    wait_text(c, "#tree", "开场").await?;
    let folder = srv
        .state
        .db
        .read(|c| -> kefu::db::DbResult<i64> {
            Ok(kefu::db::tree::all(c, kefu::db::tree::TreeKind::Kb)?
                .into_iter()
                .find(|n| n.title == "开场")
                .map(|n| n.id)
                .unwrap_or_default())
        })
        .await?;
    click(
        c,
        &format!("#tree li[data-node='{folder}'] a[title='添加下级']"),
    )
    .await?;
    fill(c, "title", "开始接待").await?;
    let body = find(c, "form[action='/admin/kb/nodes'] textarea[name='body']").await?;
    body.send_keys(KB_REPLY).await?;
    fill(c, "keywords", "开始，接待").await?;
    click(c, "form[action='/admin/kb/nodes'] button[type=submit]").await?;
    wait_text(c, "#tree", "开始接待").await?;
    let tree = text_of(c, "#tree .kb-tree").await?;
    let (a, b, e) = (
        tree.find("售后常用").unwrap_or(usize::MAX),
        tree.find("开场").unwrap_or(usize::MAX),
        tree.find("开始接待").unwrap_or(usize::MAX),
    );
    if !(a < b && b < e && e != usize::MAX) {
        bail!("the tree is not in order: {tree:?}");
    }
    wait_text(c, "#search", KB_REPLY).await?;
    shots.take(c, "1-tree").await?;

    // 3. The agent holds a conversation and inserts the entry from the tree.
    logout(c, shots).await?;
    login(c, "amy", common::PASSWORD).await?;
    wait_path(c, "/console").await?;
    let now = srv.state.clock.now().as_second();
    let push = format!(
        "<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{KB_FOLLOWER}]]></FromUserName>\
         <CreateTime>{now}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[在吗？]]></Content>\
         <MsgId>7731</MsgId></xml>"
    );
    let resp = srv.push(account, "safe", &push).await;
    if resp.status() != 200 {
        bail!("push refused: {}", resp.status());
    }
    c.goto(&at("/console")).await?;
    click(c, ".item[data-state='queued'] .item-link").await?;
    wait_text(c, "#chat", "在吗？").await?;
    click(c, "#chat .chat-actions button[hx-post$='/accept']").await?;
    wait_text(c, "#chat .chat-head", "会话中").await?;
    wait_text(c, "#side .kb", "开始接待").await?;
    wait_text(c, "#side .kb", "开场").await?;
    click(c, "#side .kb-entry [data-kb-insert]").await?;
    let value = find(c, "#chat textarea[name='text']")
        .await?
        .prop("value")
        .await?
        .unwrap_or_default();
    if value != KB_REPLY {
        bail!("the entry was not inserted: {value:?}");
    }
    shots.take(c, "2-console").await?;
    let deadline = Instant::now() + WAIT;
    loop {
        let uses = srv
            .state
            .db
            .read(|c| -> kefu::db::DbResult<i64> {
                Ok(kefu::db::tree::all(c, kefu::db::tree::TreeKind::Kb)?
                    .into_iter()
                    .find(|n| n.title == "开始接待")
                    .map(|n| n.uses)
                    .unwrap_or_default())
            })
            .await?;
        if uses == 1 {
            break;
        }
        if Instant::now() > deadline {
            bail!("inserting did not count a use: {uses}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The agent menu’s 知识库 — the read-only view.
    c.goto(&at("/console/kb/view")).await?;
    wait_text(c, "main", KB_REPLY).await?;
    shots.take(c, "3-readonly").await?;
    Ok(())
}

// ---- lead: the interface language (issue 13) ----

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn language_desktop_flow() {
    language_run("language_desktop", Device::Desktop).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn language_phone_flow() {
    language_run("language_phone", Device::Phone).await;
}

async fn language_run(test: &'static str, device: Device) {
    let driver = ChromeDriver::start().await;
    let client = driver.connect_lang(device, "en-US").await;
    let server = TestServer::start().await;
    server.user(AGENT_USER, kefu::model::Role::Agent, &[]).await;
    let shots = Shots::new(test);
    let task = {
        let (c, url, shots) = (client.clone(), server.url.clone(), shots.clone());
        tokio::spawn(async move { language(&c, &url, &shots, device).await })
    };
    let outcome = task.await;
    if !matches!(outcome, Ok(Ok(()))) {
        let _ = shots.take(&client, "failure").await;
    }
    let _ = client.close().await;
    server.stop().await;
    drop(driver);
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(e)) => panic!("[{test}] {e:#}"),
        Err(e) => panic!("[{test}] flow task failed: {e}"),
    }
}

/// An English browser gets the sign-in page in English; the user's own choice
/// (zh-CN until changed) then wins; switching to English in 个人中心 redraws
/// every page in English.
async fn language(c: &Client, base: &str, shots: &Shots, device: Device) -> Result<()> {
    c.goto(&format!("{base}/login")).await?;
    wait_text(c, "h1", "Sign in").await?;
    let lang = c
        .execute("return document.documentElement.lang;", vec![])
        .await?;
    if lang != json!("en") {
        bail!("the sign-in page should say lang=en, got {lang}");
    }
    let body = text_of(c, "body").await?;
    if body
        .chars()
        .any(|ch| ('\u{4e00}'..='\u{9fff}').contains(&ch))
    {
        bail!("Chinese on the English sign-in page: {body}");
    }
    shots.take(c, "1-login-en").await?;

    // The password below is the test server's, see tests/common.
    login(c, AGENT_USER, "secret-pass-1").await?;
    wait_path(c, "/console").await?;
    // This user has not chosen yet: zh-CN, whatever the browser says.
    let nav = c
        .execute(
            "return document.querySelector('.sidebar nav').textContent;",
            vec![],
        )
        .await?;
    if !nav
        .as_str()
        .is_some_and(|t| t.contains("会话") && t.contains("知识库"))
    {
        bail!("a user who chose nothing should get Chinese: {nav}");
    }
    c.goto(&format!("{base}/console/me")).await?;
    wait_text(c, "#language h2", "界面语言").await?;
    let select = find(c, "select[name=locale]").await?;
    select.select_by_value("en").await?;
    click(c, "form[action='/console/me/locale'] button[type=submit]").await?;
    wait_text(c, "#flash", "The interface is now in English").await?;
    wait_text(c, "#language h2", "Language").await?;
    shots.take(c, "2-me-en").await?;
    if device == Device::Phone {
        open_phone_menu(c).await?;
    }
    let nav = text_of(c, ".sidebar nav").await?;
    for want in ["Conversations", "Knowledge base", "FAQ", "Served"] {
        if !nav.contains(want) {
            bail!("the English menu lacks {want}: {nav}");
        }
    }
    shots.take(c, "2-menu-en").await?;
    if device == Device::Phone {
        c.goto(&format!("{base}/console/me")).await?;
    }
    // And back: the choice is per user and instant.
    let select = find(c, "select[name=locale]").await?;
    select.select_by_value("zh-CN").await?;
    click(c, "form[action='/console/me/locale'] button[type=submit]").await?;
    wait_text(c, "#flash", "界面语言已切换为简体中文").await?;
    shots.take(c, "3-me-zh").await?;
    Ok(())
}

// ---- h-con: phone console and English console ----

/// Opens the ⋯ menu of the chat on a phone first (on a desktop its entries
/// are in the chat's header), then clicks the entry opening dialog `dialog`.
async fn chat_action(c: &Client, device: Device, dialog: &str) -> Result<()> {
    if device == Device::Phone {
        click(c, "#chat .chat-more").await?;
        click(
            c,
            &format!("#chat .chat-menu [data-open-dialog^='{dialog}-']"),
        )
        .await
    } else {
        click(c, &format!("#chat button[data-open-dialog^='{dialog}-']")).await
    }
}

/// A phone-sized browser of `w`×`h` CSS pixels (the shared [`Device::Phone`] is 375×812).
async fn phone_session(driver: &ChromeDriver, w: u32, h: u32) -> Result<Client> {
    let profile = driver
        .dir
        .path()
        .join(format!("phone-{w}x{h}-{}", common::rand_u32()));
    std::fs::create_dir_all(&profile)?;
    let args = vec![
        "--headless=new".to_string(),
        "--no-sandbox".into(),
        "--disable-gpu".into(),
        "--disable-dev-shm-usage".into(),
        "--disable-background-networking".into(),
        "--disable-component-update".into(),
        "--disable-sync".into(),
        "--no-first-run".into(),
        "--lang=zh-CN".into(),
        format!("--window-size={w},{h}"),
        format!("--user-data-dir={}", profile.display()),
    ];
    let chrome = json!({
        "binary": driver.chromium.to_string_lossy(),
        "args": args,
        "mobileEmulation": {
            "deviceMetrics": { "width": w, "height": h, "pixelRatio": 2.0, "mobile": true, "touch": true },
            "userAgent": "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) \
                          Chrome/130.0.0.0 Mobile Safari/537.36",
        },
    });
    let mut caps = serde_json::Map::new();
    caps.insert("browserName".into(), json!("chrome"));
    caps.insert("goog:chromeOptions".into(), chrome);
    let url = format!("http://127.0.0.1:{}", driver.port);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match ClientBuilder::rustls()?
            .capabilities(caps.clone())
            .connect(&url)
            .await
        {
            Ok(c) => return Ok(c),
            Err(e) if attempt < 3 => {
                eprintln!("phone session attempt {attempt} failed: {e}; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) => bail!("cannot open a {w}x{h} phone session: {e}"),
        }
    }
}

/// Issue 13, item 13: the console on a phone (375×812 and 390×844, in zh-CN
/// and in English) with an open chat — one compact header row (name, reply
/// budget, ⋯), the messages over at least 70% of the screen, a one-row reply
/// box that grows with its text, no Enter hint, a visible 自动接入 label; the
/// ⋯ menu holds the chat's actions, and 结束 from it opens the end dialog,
/// whose refusal for want of a 咨询分类 shows inside the dialog (item 16). Then the
/// desktop console in English, its header as before.
/// Screenshots: `target/screenshots/phone_console-<lang>-<width>*.png` and
/// `desktop_console-en-*.png`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn phone_console() {
    use kefu::i18n::Lang;
    use kefu::model::Role;
    let driver = ChromeDriver::start().await;
    let server = TestServer::start().await;
    let fake = common::FakeServer::start().await;
    fake.fake.add_account(common::APPID, common::SECRET);
    let g = server.group("Support", "support").await;
    let amy = server.user("amy", Role::Agent, &[g]).await;
    let account = server.account("safe", &fake.url).await;
    let aid = account.id;
    server
        .state
        .db
        .write(move |c| -> kefu::db::DbResult<()> {
            kefu::db::accounts::set_groups(c, aid, &[g])?;
            c.execute("UPDATE accounts SET name = 'Test OA' WHERE id = ?1", [aid])?;
            c.execute("UPDATE users SET display_name = 'Amy' WHERE id = ?1", [amy])?;
            let s = kefu::db::settings::GroupSettings {
                agents_see_queue: true,
                require_category: true,
                ..Default::default()
            };
            kefu::db::settings::set_group(c, g, &s)?;
            c.execute(
                "INSERT INTO categories (group_id, name) VALUES (?1, 'Shipping')",
                [g],
            )?;
            Ok(())
        })
        .await
        .expect("link the account and configure the group");
    server.state.wechat.forget_account(aid);
    // A follower in conversation with amy, with a few lines each way.
    let now = server.state.clock.now().as_second();
    for (i, text) in [
        "hello, where is my parcel?",
        "order 20261120-0042",
        "it was due yesterday",
    ]
    .iter()
    .enumerate()
    {
        server
            .push(&account, "safe", &text_push(text, 9700 + i as u64, now))
            .await;
    }
    let conv: i64 = server
        .state
        .db
        .read(|c| -> kefu::db::DbResult<i64> {
            Ok(c.query_row("SELECT max(id) FROM conversations", [], |r| r.get(0))?)
        })
        .await
        .expect("the conversation");
    let shots = Shots::new("phone_console");
    let desktop_shots = Shots::new("desktop_console");
    let mut failures = Vec::new();
    for (lang, w, h) in [
        (Lang::Zh, 375, 812),
        (Lang::Zh, 390, 844),
        (Lang::En, 375, 812),
        (Lang::En, 390, 844),
    ] {
        server
            .state
            .db
            .write(move |c| -> kefu::db::DbResult<()> {
                kefu::db::users::set_locale(c, amy, lang)?;
                if lang == Lang::En {
                    // What the follower was sent automatically is the merchant's
                    // text, never translated: in English for these pictures.
                    c.execute(
                        "UPDATE messages SET content = CASE WHEN content LIKE '%Amy%'
                           THEN 'Hi, this is Amy. Happy to help!'
                           ELSE 'Welcome! You are next in the queue, an agent will be with you shortly.' END
                         WHERE direction = 'out' AND sender_id IS NULL",
                        [],
                    )?;
                }
                Ok(())
            })
            .await
            .expect("locale");
        let c = match phone_session(&driver, w, h).await {
            Ok(c) => c,
            Err(e) => panic!("{e:#}"),
        };
        let outcome = phone_console_at(&c, &server.url, conv, lang, w, h, &shots).await;
        if outcome.is_err() {
            let _ = shots
                .take(&c, &format!("failure-{}-{w}", lang.code()))
                .await;
        }
        let _ = c.close().await;
        if let Err(e) = outcome {
            failures.push(format!("{} {w}x{h}: {e:#}", lang.code()));
        }
    }
    // The desktop console in English.
    let c = driver.connect(Device::Desktop).await;
    let outcome = desktop_console_english(&c, &server.url, conv, &desktop_shots).await;
    if outcome.is_err() {
        let _ = desktop_shots.take(&c, "failure").await;
    }
    let _ = c.close().await;
    if let Err(e) = outcome {
        failures.push(format!("desktop en: {e:#}"));
    }
    server.stop().await;
    drop(driver);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

async fn phone_console_at(
    c: &Client,
    base: &str,
    conv: i64,
    lang: kefu::i18n::Lang,
    w: u32,
    h: u32,
    shots: &Shots,
) -> Result<()> {
    use kefu::i18n::Lang;
    let en = lang == Lang::En;
    let tag = format!("{}-{w}", lang.code());
    c.goto(&format!("{base}/login")).await?;
    login(c, "amy", common::PASSWORD).await?;
    wait_path(c, "/console").await?;
    c.goto(&format!("{base}/console?c={conv}")).await?;
    let vp = c
        .execute("return [window.innerWidth, window.innerHeight];", vec![])
        .await?;
    anyhow::ensure!(vp == json!([w, h]), "viewport {vp}, not {w}x{h}");
    let queued = c
        .execute(
            "return !!document.querySelector(\"#chat .chat-actions button[hx-post$='/accept']\");",
            vec![],
        )
        .await?;
    if queued == json!(true) {
        click(c, "#chat .chat-actions button[hx-post$='/accept']").await?;
    }
    wait_text(
        c,
        "#chat .chat-head .budget",
        if en { "left" } else { "可回复" },
    )
    .await?;
    wait_text(c, "#timeline", "it was due yesterday").await?;
    find(c, "#composer textarea").await?;

    // One header row: the name, the budget and ⋯ side by side, a slim bar.
    let head = c
        .execute(
            "const head = document.querySelector('#chat .chat-head');
             const shown = [...head.querySelectorAll('.back, .chat-label, .budget, .chat-more')]
               .filter(e => e.offsetWidth > 0).map(e => e.getBoundingClientRect());
             const mids = shown.map(r => r.top + r.height / 2);
             return [head.getBoundingClientRect().height, shown.length,
                     Math.max(...mids) - Math.min(...mids)];",
            vec![],
        )
        .await?;
    let (head_h, shown, spread) = (
        head[0].as_f64().unwrap_or(999.0),
        head[1].as_u64().unwrap_or(0),
        head[2].as_f64().unwrap_or(999.0),
    );
    anyhow::ensure!(
        head_h <= 52.0 && shown == 4 && spread <= 4.0,
        "the chat header is not one row: {head}"
    );
    // The messages take at least 70% of the screen.
    let share = c
        .execute(
            "return document.getElementById('timeline').getBoundingClientRect().height / window.innerHeight;",
            vec![],
        )
        .await?
        .as_f64()
        .unwrap_or(0.0);
    anyhow::ensure!(share >= 0.70, "the messages take {share:.2} of the height");
    eprintln!(
        "[phone_console] {tag}: header {head_h}px high, {shown} items in one row \
         (centres within {spread}px); messages {:.0}% of the height",
        share * 100.0
    );
    // The reply box is one row; the Enter hint is hidden; 自动接入 is labelled.
    let ui = c
        .execute(
            "const box = document.querySelector('#composer textarea');
             const hint = document.querySelector('#composer .enter-hint');
             const auto = document.querySelector('.auto-accept-label');
             return [Math.round(box.getBoundingClientRect().height),
                     Math.round(document.getElementById('composer').getBoundingClientRect().height),
                     getComputedStyle(hint).display, auto.offsetWidth > 0, auto.textContent.trim()];",
            vec![],
        )
        .await?;
    let (box_h, composer_h) = (
        ui[0].as_f64().unwrap_or(999.0),
        ui[1].as_f64().unwrap_or(999.0),
    );
    anyhow::ensure!(
        box_h <= 44.0 && composer_h <= 60.0,
        "the reply box is not one row: {ui}"
    );
    anyhow::ensure!(
        ui[2] == json!("none"),
        "the Enter hint shows on a phone: {ui}"
    );
    let auto = if en { "Auto-accept" } else { "自动接入" };
    anyhow::ensure!(
        ui[3] == json!(true) && ui[4] == json!(auto),
        "自动接入 label: {ui}"
    );
    check_no_horizontal_overflow(c, "phone console").await?;
    shots.take(c, &tag).await?;

    // The box grows with the text (and not past a third of the screen).
    let grown = c
        .execute(
            "const box = document.querySelector('#composer textarea');
             box.value = 'line one\\nline two\\nline three\\nline four';
             box.dispatchEvent(new Event('input', { bubbles: true }));
             return Math.round(box.getBoundingClientRect().height);",
            vec![],
        )
        .await?
        .as_f64()
        .unwrap_or(0.0);
    anyhow::ensure!(
        grown > box_h + 30.0 && grown <= f64::from(h) * 0.31,
        "four lines: the box is {grown}px (one row: {box_h}px)"
    );
    eprintln!("[phone_console] {tag}: reply box {box_h}px, {grown}px with four lines");
    shots.take(c, &format!("{tag}-typing")).await?;
    c.execute(
        "const box = document.querySelector('#composer textarea'); box.value = '';
         box.dispatchEvent(new Event('input', { bubbles: true }));",
        vec![],
    )
    .await?;

    // The ⋯ menu holds the chat's actions.
    click(c, "#chat .chat-more").await?;
    let menu = c
        .execute(
            "const m = document.querySelector('#chat .chat-menu');
             return [getComputedStyle(m).display,
                     [...m.children].filter(e => e.offsetWidth > 0).map(e => e.textContent.trim())];",
            vec![],
        )
        .await?;
    anyhow::ensure!(menu[0] == json!("flex"), "the ⋯ menu did not open: {menu}");
    let entries: Vec<&str> = menu[1]
        .as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let want: &[&str] = if en {
        &[
            "Transfer",
            "End",
            "Ask for a rating",
            "Mark",
            "Tag",
            "History",
            "Profile",
        ]
    } else {
        &["转接", "结束", "邀请评价", "标注", "标签", "历史", "资料"]
    };
    for entry in want {
        anyhow::ensure!(
            entries.contains(entry),
            "{entry} missing from the menu: {entries:?}"
        );
    }
    shots.take(c, &format!("{tag}-menu")).await?;
    // 结束 from the menu: the dialog opens (the menu closes); refused without
    // a category, it says so inside the dialog.
    click(c, "#chat .chat-menu [data-open-dialog^='end-']").await?;
    find(c, "dialog[open]").await?;
    let closed = c
        .execute(
            "return getComputedStyle(document.querySelector('#chat .chat-menu')).display;",
            vec![],
        )
        .await?;
    anyhow::ensure!(closed == json!("none"), "the menu stayed open: {closed}");
    click(c, "dialog[open] button[type='submit']").await?;
    let refusal = if en {
        "Choose at least one category"
    } else {
        "请至少选择一个咨询分类"
    };
    wait_text(c, "dialog[open] .dialog-error", refusal).await?;
    let inside = c
        .execute(
            "const d = document.querySelector('dialog[open]').getBoundingClientRect();
             const e = document.querySelector('dialog[open] .dialog-error').getBoundingClientRect();
             return e.height > 0 && e.top >= d.top && e.bottom <= d.bottom;",
            vec![],
        )
        .await?;
    anyhow::ensure!(
        inside == json!(true),
        "the refusal is not inside the dialog"
    );
    shots.take(c, &format!("{tag}-end-refused")).await?;
    click(c, "dialog[open] button[data-close-dialog]").await?;
    // 资料 from the menu shows the side pane.
    click(c, "#chat .chat-more").await?;
    click(c, "#chat .chat-menu .side-toggle").await?;
    wait_js(
        c,
        "return document.getElementById('workspace').dataset.view;",
        json!("side"),
    )
    .await?;
    wait_text(c, "#side", if en { "Today's work" } else { "今日工作" }).await?;
    if en {
        let body = text_of(c, "body").await?;
        anyhow::ensure!(
            common::chinese_in(&body).is_empty(),
            "Chinese on the English phone console: {:?}",
            common::chinese_in(&body)
        );
    }
    Ok(())
}

async fn desktop_console_english(c: &Client, base: &str, conv: i64, shots: &Shots) -> Result<()> {
    c.goto(&format!("{base}/login")).await?;
    login(c, "amy", common::PASSWORD).await?;
    wait_path(c, "/console").await?;
    c.goto(&format!("{base}/console?c={conv}")).await?;
    wait_text(c, "#chat .chat-head", "In conversation").await?;
    wait_text(c, "#side", "Today's work").await?;
    wait_text(c, "#side .kb", "My replies").await?;
    // The desktop header as before: the actions in it, no ⋯.
    let head = c
        .execute(
            "const more = document.querySelector('#chat .chat-more');
             const end = document.querySelector('#chat button[data-open-dialog^=\"end-\"]');
             return [more.offsetWidth, end.offsetWidth > 0,
                     getComputedStyle(document.querySelector('#composer .enter-hint')).display];",
            vec![],
        )
        .await?;
    anyhow::ensure!(
        head[0] == json!(0) && head[1] == json!(true) && head[2] != json!("none"),
        "desktop header: {head}"
    );
    let body = text_of(c, "body").await?;
    anyhow::ensure!(
        common::chinese_in(&body).is_empty(),
        "Chinese on the English console: {:?}",
        common::chinese_in(&body)
    );
    shots.take(c, "en-chat").await?;
    chat_action(c, Device::Desktop, "transfer").await?;
    find(c, "dialog[open] select[name='target']").await?;
    shots.take(c, "en-transfer-dialog").await?;
    click(c, "dialog[open] button[data-close-dialog]").await?;
    c.goto(&format!("{base}/console/served")).await?;
    wait_text(c, "main", "ended by Amy").await?;
    shots.take(c, "en-served").await?;
    Ok(())
}
