//! PDF transcripts (F6) over real HTTP: a conversation with a follower's
//! words, an agent's reply, an internal note, an uploaded image, a transfer
//! and an end, exported as one conversation and as the follower's history.
//! Read back with poppler (`pdftotext`, `pdffonts`, `pdftoppm`): the Chinese
//! lines in order, the font embedded as a subset, one page rendered to
//! `target/screenshots/transcript.png` for a person to look at. An agent of
//! another group gets nothing; every export is in the audit log.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{APPID, Browser, FakeServer, SECRET, TestServer};
use kefu::db::{self, DbResult};
use kefu::model::{ConversationId, FollowerId, Role};
use reqwest::StatusCode;
use std::path::{Path, PathBuf};
use std::process::Command;

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

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (StatusCode, String) {
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
        (r.status(), r.text().await.unwrap_or_default())
    }

    async fn ok(&self, path: &str, fields: &[(&str, &str)]) -> String {
        let (s, body) = self.post(path, fields).await;
        assert_eq!(s, StatusCode::OK, "{path}: {body}");
        body
    }

    async fn upload(&self, id: ConversationId, name: &str, bytes: Vec<u8>) {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(name.to_string());
        let form = reqwest::multipart::Form::new().part("file", part);
        let r = self
            .b
            .client
            .post(format!("{}/console/c/{id}/image", self.base))
            .header("X-CSRF-Token", &self.csrf)
            .header("HX-Request", "true")
            .multipart(form)
            .send()
            .await
            .expect("upload");
        let s = r.status();
        assert_eq!(s, StatusCode::OK, "{}", r.text().await.unwrap_or_default());
    }

    async fn download(&self, path: &str) -> reqwest::Response {
        self.b
            .client
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .expect("GET")
    }
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

/// A real PNG (stored deflate, no compression): a blue-to-green gradient
/// with a white diagonal, so a rendered page shows it is a picture.
fn png(w: u32, h: u32) -> Vec<u8> {
    fn crc(data: &[u8]) -> u32 {
        let mut c = 0xFFFF_FFFFu32;
        for &b in data {
            c ^= u32::from(b);
            for _ in 0..8 {
                c = if c & 1 == 1 {
                    0xEDB8_8320 ^ (c >> 1)
                } else {
                    c >> 1
                };
            }
        }
        !c
    }
    fn chunk(out: &mut Vec<u8>, kind: &[u8], data: &[u8]) {
        out.extend((data.len() as u32).to_be_bytes());
        let mut body = kind.to_vec();
        body.extend(data);
        out.extend(&body);
        out.extend(crc(&body).to_be_bytes());
    }
    let mut raw = Vec::new();
    for y in 0..h {
        raw.push(0u8);
        for x in 0..w {
            let diag = (x * h / w).abs_diff(y) < 3;
            let px = if diag {
                [255, 255, 255]
            } else {
                [40, (x * 200 / w) as u8 + 30, (y * 200 / h) as u8 + 40]
            };
            raw.extend(px);
        }
    }
    let mut z = vec![0x78, 0x01];
    let blocks: Vec<&[u8]> = raw.chunks(65535).collect();
    for (i, b) in blocks.iter().enumerate() {
        z.push(u8::from(i + 1 == blocks.len()));
        z.extend((b.len() as u16).to_le_bytes());
        z.extend((!(b.len() as u16)).to_le_bytes());
        z.extend(*b);
    }
    let (mut a, mut bsum) = (1u32, 0u32);
    for &x in &raw {
        a = (a + u32::from(x)) % 65521;
        bsum = (bsum + a) % 65521;
    }
    z.extend(((bsum << 16) | a).to_be_bytes());
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut ihdr = Vec::new();
    ihdr.extend(w.to_be_bytes());
    ihdr.extend(h.to_be_bytes());
    ihdr.extend([8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &ihdr);
    chunk(&mut out, b"IDAT", &z);
    chunk(&mut out, b"IEND", &[]);
    out
}

fn tool(name: &str, args: &[&str]) -> String {
    let out = Command::new(name)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{name} (poppler-utils) is needed: {e}"));
    assert!(out.status.success(), "{name} {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).into_owned()
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

async fn audit_exports(srv: &TestServer) -> Vec<(String, String)> {
    srv.state
        .db
        .read(|c| -> DbResult<Vec<(String, String)>> {
            let rows = db::audit::list(
                c,
                &db::audit::AuditFilter {
                    action: Some(kefu::model::AuditAction::TranscriptExport),
                    actors: db::audit::Actors::All,
                    ..Default::default()
                },
            )?;
            // Summaries are stored as catalogue messages: read in zh-CN.
            Ok(rows
                .into_iter()
                .map(|r| {
                    let target = kefu::i18n::shown_in(kefu::i18n::Lang::Zh, &r.target);
                    (r.actor_name, target.into_owned())
                })
                .collect())
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transcript_reads_in_order_with_an_embedded_subset_font() {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let srv = TestServer::start().await;
    let acc = srv.account("plain", &wx.url).await;
    let group = srv.group("售后组", "after").await;
    let other = srv.group("售前组", "before").await;
    let acc_id = acc.id;
    srv.state
        .db
        .write(move |c| db::accounts::set_groups(c, acc_id, &[group]))
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
    let bob_id = srv.user("bob", Role::Agent, &[group]).await;
    srv.user("amy", Role::Agent, &[group]).await;
    srv.user("carl", Role::Agent, &[other]).await;
    let amy = Tab::login(&srv, "amy").await;
    let bob = Tab::login(&srv, "bob").await;
    let carl = Tab::login(&srv, "carl").await;
    let openid = "oFanTranscript01";
    let say = |text: &str, n: u64| {
        let xml = text_xml(
            openid,
            text,
            srv.state.clock.now().as_second(),
            8_100_000 + n,
        );
        let (srv, acc) = (&srv, &acc);
        async move {
            let r = srv.push(acc, "plain", &xml).await;
            assert_eq!(r.status(), StatusCode::OK);
        }
    };
    let tick = || srv.state.clock.advance(jiff::SignedDuration::from_secs(40));

    say("你好，我的订单三天了还没到/::)", 1).await;
    let (conv, follower): (ConversationId, FollowerId) = srv
        .state
        .db
        .read(|c| -> DbResult<(ConversationId, FollowerId)> {
            Ok(c.query_row(
                "SELECT id, follower_id FROM conversations ORDER BY id DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )?)
        })
        .await
        .unwrap();
    tick();
    amy.ok(&format!("/console/c/{conv}/accept"), &[]).await;
    tick();
    amy.ok(
        &format!("/console/c/{conv}/reply"),
        &[("text", "您好，请提供订单号，我马上为您查询物流。")],
    )
    .await;
    tick();
    amy.ok(
        &format!("/console/c/{conv}/note"),
        &[("body", "客户很着急，优先处理")],
    )
    .await;
    tick();
    amy.upload(conv, "物流截图.png", png(320, 200)).await;
    tick();
    say("订单号是 ABC-20261120，谢谢👍🎉", 2).await;
    tick();
    amy.ok(
        &format!("/console/c/{conv}/transfer"),
        &[
            ("target", &format!("u{}", bob_id.0)),
            ("note", "请跟进物流"),
        ],
    )
    .await;
    let transfer: i64 = srv
        .state
        .db
        .read(move |c| -> DbResult<i64> {
            Ok(c.query_row(
                "SELECT max(id) FROM transfers WHERE conversation_id = ?1",
                [conv],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    tick();
    bob.ok(&format!("/console/transfers/{transfer}/accept"), &[])
        .await;
    tick();
    bob.ok(
        &format!("/console/c/{conv}/reply"),
        &[("text", "已为您加急处理，预计明天送达。")],
    )
    .await;
    tick();
    bob.ok(&format!("/console/c/{conv}/end"), &[("remark", "已加急")])
        .await;

    // One conversation.
    let r = amy
        .download(&format!("/console/c/{conv}/transcript.pdf"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "application/pdf");
    let cd = r.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        cd.starts_with("attachment;") && cd.contains("filename*=UTF-8''%E4%BC%9A%E8%AF%9D"),
        "{cd}"
    );
    let pdf = r.bytes().await.unwrap();
    assert!(pdf.starts_with(b"%PDF"), "a PDF");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("transcript.pdf");
    std::fs::write(&file, &pdf).unwrap();
    let f = file.to_str().unwrap();
    let text = tool("pdftotext", &["-enc", "UTF-8", f, "-"]);
    in_order(
        &text,
        &[
            "会话记录",
            "公众号",
            "OpenID：oFanTranscript01",
            "amy显示名",
            "bob显示名",
            "导出人：amy显示名（amy）",
            "会话开始",
            "客户",
            "你好，我的订单三天了还没到[微笑]",
            "amy显示名 接入会话",
            "客服 amy显示名",
            "您好，请提供订单号，我马上为您查询物流。",
            "【内部备注】amy显示名",
            "客户很着急，优先处理",
            "客服 amy显示名",
            "订单号是 ABC-20261120，谢谢[强][表情]",
            "转接：amy显示名 → bob显示名（请跟进物流）",
            "已为您加急处理，预计明天送达。",
            "bob显示名 结束会话，备注：已加急",
            "第 1 页 / 共 1 页",
        ],
    );
    assert!(
        !text.contains("文件缺失"),
        "the uploaded image is shown: {text}"
    );
    let fonts = tool("pdffonts", &[f]);
    let line = fonts
        .lines()
        .find(|l| l.contains("NotoSansSC") || l.contains("Noto"))
        .unwrap_or_else(|| panic!("the Noto font is embedded:\n{fonts}"));
    let name = line.split_whitespace().next().unwrap();
    assert!(
        name.len() > 7 && name.as_bytes()[6] == b'+',
        "a subset name (ABCDEF+…): {fonts}"
    );
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert!(
        cols.windows(3)
            .any(|w| w == ["yes", "yes", "yes"] || w == ["yes", "yes", "no"]),
        "emb and sub yes: {fonts}"
    );
    assert!(
        pdf.len() < 600_000,
        "a subset, not the whole font: {}",
        pdf.len()
    );

    // A page to look at.
    let shots = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let prefix: PathBuf = shots.join("transcript");
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
    assert!(shots.join("transcript.png").exists());

    // The follower's history over today, from the history page's button.
    let day = srv
        .state
        .clock
        .now()
        .to_zoned(srv.state.config.timezone.clone())
        .date()
        .to_string();
    let page = amy
        .b
        .text(&format!(
            "/console/f/{follower}/history?from={day}&to={day}"
        ))
        .await
        .1;
    assert!(
        page.contains(&format!(
            "/console/f/{follower}/history.pdf?from={day}&to={day}"
        )) && page.contains("导出 PDF"),
        "{page}"
    );
    // 重新发起会话 only when no conversation is open.
    let fid = follower;
    let open: i64 = srv
        .state
        .db
        .read(move |c| -> kefu::db::DbResult<i64> {
            Ok(c.query_row(
                "SELECT count(*) FROM conversations WHERE follower_id = ?1 AND state <> 'ended'",
                [fid],
                |r| r.get(0),
            )?)
        })
        .await
        .unwrap();
    assert_eq!(page.contains("/reopen"), open == 0, "open: {open}");
    // Dates that cannot be used are said on the page, not a bare error.
    for (range, why) in [
        ("from=2026-12-31&to=2026-01-01", "开始日期不能晚于结束日期"),
        ("from=31/12/2026", "日期格式应为"),
    ] {
        let (s, page) = amy
            .b
            .text(&format!("/console/f/{follower}/history?{range}"))
            .await;
        assert_eq!(s, StatusCode::OK, "{range}");
        assert!(page.contains(why), "{range}: {page}");
    }
    let r = bob
        .download(&format!(
            "/console/f/{follower}/history.pdf?from={day}&to={day}"
        ))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    std::fs::write(&file, r.bytes().await.unwrap()).unwrap();
    let text = tool("pdftotext", &["-enc", "UTF-8", f, "-"]);
    in_order(
        &text,
        &[
            "历史消息",
            &format!("时间范围：{day} 至 {day}"),
            "你好，我的订单三天了还没到[微笑]",
            "客户很着急，优先处理",
            "已为您加急处理，预计明天送达。",
        ],
    );
    let (s, _) = amy
        .b
        .text(&format!(
            "/console/f/{follower}/history.pdf?from=2026-13-01"
        ))
        .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // Another group's agent gets nothing, and nothing is recorded for them.
    for path in [
        format!("/console/c/{conv}/transcript.pdf"),
        format!("/console/f/{follower}/history.pdf"),
    ] {
        let s = carl.download(&path).await.status();
        assert!(
            s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND,
            "{path}: {s}"
        );
    }
    // The font's licence ships with the binary's notices, open to anyone.
    let notices = reqwest::get(srv.at("/licenses")).await.unwrap();
    assert_eq!(notices.status(), StatusCode::OK);
    let notices = notices.text().await.unwrap();
    assert!(
        notices.contains("Noto Sans SC") && notices.contains("SIL Open Font License"),
        "{notices}"
    );
    assert!(notices.contains("htmx"), "{notices}");

    let exports = audit_exports(&srv).await;
    assert_eq!(exports.len(), 2, "{exports:?}");
    assert!(
        exports
            .iter()
            .any(|(who, what)| who == "amy" && what == &format!("会话 #{conv}")),
        "{exports:?}"
    );
    assert!(
        exports
            .iter()
            .any(|(who, what)| who == "bob" && what.contains(&format!("粉丝 #{follower}"))),
        "{exports:?}"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_image_file_is_a_labelled_line() {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let srv = TestServer::start().await;
    let acc = srv.account("plain", &wx.url).await;
    let group = srv.group("售后组", "after").await;
    let acc_id = acc.id;
    srv.state
        .db
        .write(move |c| db::accounts::set_groups(c, acc_id, &[group]))
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
    let amy = Tab::login(&srv, "amy").await;
    let xml = text_xml(
        "oFanNoFile01",
        "看图",
        srv.state.clock.now().as_second(),
        8_200_001,
    );
    assert_eq!(srv.push(&acc, "plain", &xml).await.status(), StatusCode::OK);
    let conv: ConversationId = srv
        .state
        .db
        .read(|c| -> DbResult<ConversationId> {
            Ok(c.query_row("SELECT max(id) FROM conversations", [], |r| r.get(0))?)
        })
        .await
        .unwrap();
    amy.ok(&format!("/console/c/{conv}/accept"), &[]).await;
    amy.upload(conv, "a.png", png(40, 30)).await;
    // The file goes away (a restored backup without media, say).
    let uploads = srv.dir.path().join("media").join("uploads");
    std::fs::remove_dir_all(&uploads).unwrap();
    let r = amy
        .download(&format!("/console/c/{conv}/transcript.pdf"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.pdf");
    std::fs::write(&file, r.bytes().await.unwrap()).unwrap();
    let text = tool("pdftotext", &["-enc", "UTF-8", file.to_str().unwrap(), "-"]);
    in_order(&text, &["看图", "[图片]（文件缺失）"]);
    srv.stop().await;
}

/// A transfer to another group names the group it went to ("转接至 售前组"),
/// whichever step follows it there; and a name written with characters of
/// 通用规范汉字表 beyond GB2312 prints as written.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_transfer_to_another_group_names_that_group() {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let srv = TestServer::start().await;
    let acc = srv.account("plain", &wx.url).await;
    let group = srv.group("售后组", "after").await;
    let other = srv.group("售前组", "before").await;
    let acc_id = acc.id;
    let settings = db::settings::GroupSettings {
        agents_see_queue: true,
        ..Default::default()
    };
    srv.state
        .db
        .write(move |c| -> DbResult<()> {
            db::accounts::set_groups(c, acc_id, &[group])?;
            db::settings::set_group(c, group, &settings)?;
            db::settings::set_group(c, other, &settings)
        })
        .await
        .unwrap();
    srv.state.wechat.forget_account(acc_id);
    srv.user("amy", Role::Agent, &[group]).await;
    srv.user("carl", Role::Agent, &[other]).await;
    let amy = Tab::login(&srv, "amy").await;
    let carl = Tab::login(&srv, "carl").await;
    let tick = || srv.state.clock.advance(jiff::SignedDuration::from_secs(30));
    let xml = text_xml(
        "oFanCrossGroup1",
        "想了解一下新品，我叫王堃，同事陶喆推荐的",
        srv.state.clock.now().as_second(),
        8_300_001,
    );
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
        &format!("/console/c/{conv}/transfer"),
        &[("target", &format!("g{}", other.0)), ("note", "售前问题")],
    )
    .await;
    tick();
    carl.ok(&format!("/console/c/{conv}/accept"), &[]).await;
    tick();
    carl.ok(
        &format!("/console/c/{conv}/reply"),
        &[("text", "您好，新品下周上市。")],
    )
    .await;

    let r = carl
        .download(&format!("/console/c/{conv}/transcript.pdf"))
        .await;
    assert_eq!(r.status(), StatusCode::OK);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("t.pdf");
    std::fs::write(&file, r.bytes().await.unwrap()).unwrap();
    let text = tool("pdftotext", &["-enc", "UTF-8", file.to_str().unwrap(), "-"]);
    in_order(
        &text,
        &[
            // 堃 and 喆 are in 通用规范汉字表 but not in GB2312: drawn, not "?".
            "想了解一下新品，我叫王堃，同事陶喆推荐的",
            "amy显示名 接入会话",
            "amy显示名 转接至 售前组（售前问题）",
            "carl显示名 接入会话",
            "您好，新品下周上市。",
        ],
    );
    assert!(!text.contains("其他客服组"), "{text}");
    srv.stop().await;
}
