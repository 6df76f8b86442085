//! Exports in the exporting user's language (issue 13): one conversation's
//! PDF transcript, 消息管理 as a workbook and a PDF, a report workbook and the
//! follow-up lists, downloaded by an English-speaking admin and read back
//! (`pdftotext`, calamine) — English headings, English file names, and no
//! Chinese but the fixture's own words — and by a Chinese-speaking one, who
//! still gets the Chinese headings. One English page is rendered to
//! `target/screenshots/transcript-en.png` to look at (the font draws Latin text).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use calamine::{Data, Reader, Xlsx};
use common::{APPID, Browser, FakeServer, SECRET, TestServer, chinese_in};
use kefu::db::{self, DbResult};
use kefu::model::{ConversationId, Role};
use reqwest::StatusCode;
use std::path::Path;
use std::process::Command;

/// A signed-in tab that posts the console's htmx forms.
struct Tab {
    b: Browser,
    csrf: String,
    base: String,
}

impl Tab {
    async fn login(srv: &TestServer, name: &str) -> Tab {
        let b = srv.login(name).await;
        let csrf = b.csrf().await;
        Tab {
            b,
            csrf,
            base: srv.url.clone(),
        }
    }

    async fn ok(&self, path: &str, fields: &[(&str, &str)]) {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        form.push(("_csrf", &self.csrf));
        let r = self
            .b
            .client
            .post(format!("{}{path}", self.base))
            .header("HX-Request", "true")
            .form(&form)
            .send()
            .await
            .expect("POST");
        let status = r.status();
        assert_eq!(
            status,
            StatusCode::OK,
            "{path}: {}",
            r.text().await.unwrap_or_default()
        );
    }

    async fn locale(&self, lang: &str) {
        let r = self
            .b
            .post_form("/console/me/locale", &[("locale", lang)])
            .await;
        assert!(r.status().is_redirection(), "{}", r.status());
    }

    /// A download: its `Content-Disposition` and bytes.
    async fn download(&self, path: &str) -> (String, Vec<u8>) {
        let r = self.b.get(path).await;
        assert_eq!(r.status(), StatusCode::OK, "GET {path}");
        let cd = r.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .to_string();
        (cd, r.bytes().await.unwrap().to_vec())
    }
}

fn tool(name: &str, args: &[&str]) -> String {
    let out = Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name} (poppler-utils) is needed: {e}"));
    assert!(out.status.success(), "{name} {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A PDF's text; with `shot`, its first page also goes to
/// `target/screenshots/{shot}.png`.
fn pdf_text(bytes: &[u8], shot: Option<&str>) -> String {
    assert!(bytes.starts_with(b"%PDF"), "a PDF");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("export.pdf");
    std::fs::write(&file, bytes).unwrap();
    let f = file.to_str().unwrap();
    if let Some(name) = shot {
        let shots = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("target")
            .join("screenshots");
        std::fs::create_dir_all(&shots).unwrap();
        let prefix = shots.join(name);
        tool(
            "pdftoppm",
            &[
                "-png",
                "-r",
                "60",
                "-f",
                "1",
                "-l",
                "1",
                "-singlefile",
                f,
                prefix.to_str().unwrap(),
            ],
        );
    }
    tool("pdftotext", &["-enc", "UTF-8", f, "-"])
}

/// `needles` appear in `hay` in this order (spaces ignored: pdftotext drops
/// some between ideographs).
fn in_order(hay: &str, needles: &[&str]) {
    let hay = hay.replace(' ', "");
    let mut at = 0;
    for n in needles {
        let n = &n.replace(' ', "");
        match hay[at..].find(n) {
            Some(i) => at += i + n.len(),
            None => panic!("{n:?} missing or out of order after byte {at} in:\n{hay}"),
        }
    }
}

/// A workbook's sheet `name` as text cells (whether it exists is asserted).
fn sheet(bytes: &[u8], name: &str) -> Vec<Vec<String>> {
    let mut book: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes.to_vec())).expect("xlsx");
    let names = book.sheet_names();
    let range = book
        .worksheet_range(name)
        .unwrap_or_else(|e| panic!("sheet {name} in {names:?}: {e}"));
    range
        .rows()
        .map(|r| {
            r.iter()
                .map(|c| match c {
                    Data::String(s) => s.clone(),
                    other => other.to_string(),
                })
                .collect()
        })
        .collect()
}

/// Nothing Chinese in `text` but lines of the stored messages (`data`: the
/// greetings and queue notices the merchant wrote, which are follower-facing
/// and not translated).
fn no_chinese(what: &str, text: &str, data: &[String]) {
    let squeeze = |s: &str| s.replace([' ', '\n'], "");
    let data: Vec<String> = data.iter().map(|d| squeeze(d)).collect();
    let ours: Vec<&str> = text
        .lines()
        .filter(|l| {
            let l = squeeze(l);
            l.is_empty() || !data.iter().any(|d| d.contains(&l))
        })
        .collect();
    let found = chinese_in(&ours.join("\n"));
    assert!(
        found.is_empty(),
        "{what} shows Chinese to an English user:\n{}",
        found.join("\n")
    );
}

fn text_xml(openid: &str, text: &str, now_s: i64, id: u64) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_3f2e1d0c9b8a]]></ToUserName>\
         <FromUserName><![CDATA[{openid}]]></FromUserName>\
         <CreateTime>{now_s}</CreateTime>\
         <MsgType><![CDATA[text]]></MsgType>\
         <Content><![CDATA[{text}]]></Content>\
         <MsgId>{id}</MsgId></xml>"
    )
}

fn location_xml(openid: &str, now_s: i64, id: u64) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_3f2e1d0c9b8a]]></ToUserName>\
         <FromUserName><![CDATA[{openid}]]></FromUserName>\
         <CreateTime>{now_s}</CreateTime>\
         <MsgType><![CDATA[location]]></MsgType>\
         <Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y>\
         <Scale>20</Scale><Label><![CDATA[]]></Label>\
         <MsgId>{id}</MsgId></xml>"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exports_speak_the_language_of_whoever_downloads_them() {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let srv = TestServer::start().await;
    let acc = srv.account("plain", &wx.url).await;
    let group = srv.group("Aftersales", "after").await;
    let acc_id = acc.id;
    srv.state
        .db
        .write(move |c| -> DbResult<()> {
            db::accounts::set_groups(c, acc_id, &[group])?;
            // Names a test chose: English, so that any Chinese left is ours.
            c.execute("UPDATE accounts SET name = 'Shop'", [])?;
            Ok(())
        })
        .await
        .unwrap();
    srv.state.wechat.forget_account(acc_id);
    let settings = db::settings::GroupSettings {
        agents_see_queue: true,
        ..Default::default()
    };
    srv.state
        .db
        .write(move |c| db::settings::set_group(c, group, &settings))
        .await
        .unwrap();
    srv.user("amy", Role::Agent, &[group]).await;
    srv.user("root", Role::SuperAdmin, &[]).await;
    srv.state
        .db
        .write(|c| -> DbResult<usize> {
            Ok(c.execute("UPDATE users SET display_name = upper(username)", [])?)
        })
        .await
        .unwrap();
    let amy = Tab::login(&srv, "amy").await;
    let root = Tab::login(&srv, "root").await;
    let openid = "oFanEnglish0001";
    let now_s = || srv.state.clock.now().as_second();
    let tick = || srv.state.clock.advance(jiff::SignedDuration::from_secs(40));

    let xml = text_xml(openid, "Hello, my parcel is late /::(", now_s(), 9_100_001);
    assert_eq!(srv.push(&acc, "plain", &xml).await.status(), StatusCode::OK);
    let conv: ConversationId = srv
        .state
        .db
        .read(|c| -> DbResult<ConversationId> {
            Ok(c.query_row("SELECT max(id) FROM conversations", [], |r| r.get(0))?)
        })
        .await
        .unwrap();
    tick();
    amy.ok(&format!("/console/c/{conv}/accept"), &[]).await;
    tick();
    amy.ok(
        &format!("/console/c/{conv}/reply"),
        &[("text", "Sorry about that, let me check.")],
    )
    .await;
    tick();
    amy.ok(
        &format!("/console/c/{conv}/note"),
        &[("body", "Call the courier")],
    )
    .await;
    tick();
    let xml = location_xml(openid, now_s(), 9_100_002);
    assert_eq!(srv.push(&acc, "plain", &xml).await.status(), StatusCode::OK);
    tick();
    amy.ok(
        &format!("/console/c/{conv}/mark"),
        &[("note", "Ring back tomorrow")],
    )
    .await;
    tick();
    amy.ok(&format!("/console/c/{conv}/end"), &[("remark", "Resolved")])
        .await;
    let data: Vec<String> = srv
        .state
        .db
        .read(|c| -> DbResult<Vec<String>> {
            let mut stmt = c.prepare("SELECT content FROM messages")?;
            let rows = stmt.query_map([], |r| r.get(0))?;
            Ok(rows.collect::<Result<_, _>>()?)
        })
        .await
        .unwrap();
    let day = srv
        .state
        .clock
        .now()
        .to_zoned(srv.state.config.timezone.clone())
        .date()
        .to_string();

    // (a) One conversation's transcript, in English.
    amy.locale("en").await;
    let (cd, pdf) = amy
        .download(&format!("/console/c/{conv}/transcript.pdf"))
        .await;
    assert!(
        cd.contains("filename=\"transcript.pdf\"")
            && cd.ends_with(&format!("UTF-8''conversation-{conv}-{day}.pdf")),
        "{cd}"
    );
    let text = pdf_text(&pdf, Some("transcript-en"));
    in_order(
        &text,
        &[
            &format!("Conversation #{conv}"),
            "Official account: Shop",
            "Customer: Visitor 0001",
            "OpenID: oFanEnglish0001",
            "Agents: AMY",
            &format!("Period: {day}"),
            "Exported by: AMY (amy)",
            "Conversation started",
            "Customer",
            // A WeChat face, named in the reader's language.
            "Hello, my parcel is late [Sad]",
            "AMY accepted the conversation",
            "Agent AMY",
            "Sorry about that, let me check.",
            "[Internal note] AMY",
            "Call the courier",
            "[Location] Unnamed place (latitude 23.134521, longitude 113.358803)",
            "AMY ended the conversation, remark: Resolved",
            "Page 1 of 1",
        ],
    );
    no_chinese("the transcript", &text, &data);

    // The same transcript for a Chinese-speaking admin.
    let (cd, pdf) = root
        .download(&format!("/console/c/{conv}/transcript.pdf"))
        .await;
    assert!(
        cd.contains("UTF-8''%E4%BC%9A%E8%AF%9D%E8%AE%B0%E5%BD%95-"),
        "{cd}"
    ); // 会话记录-
    let text = pdf_text(&pdf, None);
    in_order(
        &text,
        &[
            &format!("会话记录 #{conv}"),
            "公众号：Shop",
            "客户：访客0001",
            "接待客服：AMY",
            "导出人：ROOT（root）",
            "会话开始",
            "AMY 接入会话",
            "客服 AMY",
            "【内部备注】AMY",
            "[位置] 未命名地点（纬度 23.134521，经度 113.358803）",
            "AMY 结束会话，备注：Resolved",
            "第 1 页 / 共 1 页",
        ],
    );

    // (b) 消息管理 as a workbook and as a PDF, in English.
    root.locale("en").await;
    let (cd, xlsx) = root.download("/admin/messages?format=xlsx").await;
    assert!(
        cd.contains("filename=\"report.xlsx\"") && cd.contains("UTF-8''messages_"),
        "{cd}"
    );
    let rows = sheet(&xlsx, "Messages");
    assert_eq!(rows[0], ["Group", "Sender", "Role", "Message", "Time"]);
    let roles: Vec<&str> = rows[1..].iter().map(|r| r[2].as_str()).collect();
    assert!(
        roles.contains(&"Follower") && roles.contains(&"Agent"),
        "{rows:?}"
    );
    assert!(
        rows.iter()
            .any(|r| r[1] == "Visitor 0001" && r[3] == "Hello, my parcel is late 🙁"),
        "{rows:?}"
    );
    let ours: Vec<String> = rows
        .iter()
        .map(|r| format!("{} {} {} {}", r[0], r[1], r[2], r[4]))
        .collect();
    no_chinese("the messages workbook", &ours.join("\n"), &[]);
    let (cd, pdf) = root.download("/admin/messages?format=pdf").await;
    assert!(
        cd.contains("filename=\"messages.pdf\"")
            && cd.contains("UTF-8''messages_")
            && cd.ends_with(".pdf"),
        "{cd}"
    );
    let text = pdf_text(&pdf, None);
    // A search result's header names its filters, not one conversation's
    // customer, OpenID and agents.
    for absent in ["Customer:", "OpenID", "Agents:", "Period:"] {
        assert!(!text.contains(absent), "{absent} in {text}");
    }
    in_order(
        &text,
        &[
            "Messages (",
            "Dates: ",
            "Exported by: ROOT (root)",
            "Visitor 0001",
            "[Location]",
            "Agent AMY",
            "Sorry about that, let me check.",
            "Automatic reply",
            "Customer",
            "Hello, my parcel is late [Sad]",
            "Page 1 of 1",
        ],
    );
    no_chinese("the messages PDF", &text, &data);
    let (_, pdf) = root.download("/admin/messages?q=parcel&format=pdf").await;
    let text = pdf_text(&pdf, None);
    in_order(
        &text,
        &[
            "Messages (1 in all)",
            "Dates: ",
            "Search: parcel",
            "Hello, my parcel is late [Sad]",
        ],
    );

    // (c) A report workbook, in English.
    let (cd, xlsx) = root
        .download(&format!(
            "/admin/reports/workload?from={day}&to={day}&idle=1&format=xlsx"
        ))
        .await;
    assert!(cd.ends_with(&format!("UTF-8''workload_{day}.xlsx")), "{cd}");
    let rows = sheet(&xlsx, "Workload");
    assert_eq!(rows[0][..3], ["Agent", "Username", "Followers served"]);
    assert!(rows.iter().any(|r| r[0] == "AMY"), "{rows:?}");
    assert_eq!(rows.last().unwrap()[0], "Total");
    no_chinese("the workload workbook", &format!("{rows:?}"), &[]);

    // The follow-up lists, in English.
    let (cd, pdf) = root.download("/console/marks?state=all&format=pdf").await;
    assert!(cd.ends_with("UTF-8''marks.pdf"), "{cd}");
    let text = pdf_text(&pdf, None);
    in_order(
        &text,
        &[
            "Marks",
            "Filters: State All",
            "Rows: 1 row",
            "Exported by: ROOT (root)",
            "Visitor 0001",
            "Note: Ring back tomorrow",
            "Page 1 of 1",
        ],
    );
    no_chinese("the marks PDF", &text, &[]);
    let (cd, xlsx) = root.download("/console/tagged?format=xlsx").await;
    assert!(cd.ends_with("UTF-8''tagged-conversations.xlsx"), "{cd}");
    let rows = sheet(&xlsx, "Tagged conversations");
    assert_eq!(
        rows[0],
        [
            "Tag",
            "Customer",
            "Tagged message",
            "Remark",
            "Agent",
            "Time"
        ]
    );
    let (cd, pdf) = root.download("/admin/kb/export.pdf").await;
    assert!(cd.ends_with("UTF-8''Knowledge%20base.pdf"), "{cd}");
    let text = pdf_text(&pdf, None);
    in_order(&text, &["Knowledge base", "Filters: All", "Rows: 0 rows"]);
    no_chinese("the knowledge base PDF", &text, &[]);

    // The same in Chinese: headings, sheet names and file names.
    root.locale("zh-CN").await;
    let (cd, xlsx) = root.download("/admin/messages?format=xlsx").await;
    assert!(
        cd.contains("UTF-8''%E6%B6%88%E6%81%AF%E7%AE%A1%E7%90%86_"),
        "{cd}"
    ); // 消息管理_
    let rows = sheet(&xlsx, "消息管理");
    assert_eq!(
        rows[0],
        ["客服组", "发送者", "角色类型", "消息内容", "消息时间"]
    );
    assert!(
        rows.iter().any(|r| r[1] == "访客0001" && r[2] == "客户"),
        "{rows:?}"
    );
    let (_, pdf) = root.download("/admin/messages?format=pdf").await;
    let text = pdf_text(&pdf, None);
    in_order(
        &text,
        &[
            "消息管理（共",
            "日期：",
            " 至 ",
            "导出人：ROOT（root）",
            "第 1 页 / 共 1 页",
        ],
    );
    let (cd, xlsx) = root
        .download(&format!(
            "/admin/reports/workload?from={day}&to={day}&idle=1&format=xlsx"
        ))
        .await;
    assert!(cd.contains("UTF-8''%E5%B7%A5%E4%BD%9C"), "{cd}"); // 工作量统计_
    let rows = sheet(&xlsx, "工作量统计");
    assert_eq!(rows[0][..3], ["客服昵称", "客服账号", "个人接待人数"]);
    assert_eq!(rows.last().unwrap()[0], "合计");
    let (_, pdf) = root.download("/console/marks?state=all&format=pdf").await;
    in_order(
        &pdf_text(&pdf, None),
        &[
            "标注列表",
            "筛选条件：状态 全部",
            "条数：1 条",
            "备注：Ring back tomorrow",
        ],
    );
    srv.stop().await;
}
