//! The fake WeChat API over real HTTP, the way kefu's client meets it: served on
//! a loopback port-0 listener and called with reqwest. Each test builds its own
//! fake, so they run in parallel without sharing state.

#![allow(clippy::unwrap_used)]

use std::time::Duration;

use kefu::wechat::fake::{Api, Delivery, Failure, FakeWechat};
use serde_json::{Value, json};

const APPID: &str = "wx5f0b6c7d8e9fa0b1";
const SECRET: &str = "0123456789abcdef0123456789abcdef";

struct Wx {
    fake: FakeWechat,
    base: String,
    http: reqwest::Client,
}

async fn start() -> Wx {
    let fake = FakeWechat::new();
    fake.add_account(APPID, SECRET);
    let base = serve(fake.router()).await;
    Wx {
        fake,
        base,
        http: reqwest::Client::new(),
    }
}

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

impl Wx {
    async fn get(&self, path: &str) -> Value {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "GET {path}");
        resp.json().await.unwrap()
    }

    async fn post(&self, path: &str, body: &Value) -> Value {
        self.post_raw(path, serde_json::to_vec(body).unwrap()).await
    }

    async fn post_raw(&self, path: &str, body: Vec<u8>) -> Value {
        let resp = self
            .http
            .post(format!("{}{path}", self.base))
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "POST {path}");
        resp.json().await.unwrap()
    }

    async fn token(&self) -> String {
        let body = self
            .get(&format!(
                "/cgi-bin/token?grant_type=client_credential&appid={APPID}&secret={SECRET}"
            ))
            .await;
        body["access_token"].as_str().unwrap().to_owned()
    }

    async fn send_text(&self, token: &str, openid: &str, content: &str) -> Value {
        let msg = json!({"touser": openid, "msgtype": "text", "text": {"content": content}});
        self.post(
            &format!("/cgi-bin/message/custom/send?access_token={token}"),
            &msg,
        )
        .await
    }

    async fn upload(&self, token: &str, kind: &str, file_name: &str, bytes: Vec<u8>) -> Value {
        let part = reqwest::multipart::Part::bytes(bytes).file_name(file_name.to_owned());
        let form = reqwest::multipart::Form::new().part("media", part);
        let url = format!(
            "{}/cgi-bin/media/upload?access_token={token}&type={kind}",
            self.base
        );
        let resp = self.http.post(url).multipart(form).send().await.unwrap();
        assert_eq!(resp.status(), 200);
        resp.json().await.unwrap()
    }
}

fn errcode(body: &Value) -> i64 {
    body["errcode"].as_i64().unwrap_or(0)
}

fn ok() -> Value {
    json!({"errcode": 0, "errmsg": "ok"})
}

#[tokio::test]
async fn tokens_are_long_distinct_and_counted() {
    let wx = start().await;
    let url = format!("/cgi-bin/token?grant_type=client_credential&appid={APPID}&secret={SECRET}");
    let first = wx.get(&url).await;
    let second = wx.get(&url).await;
    assert_eq!(first["expires_in"], 7200);
    let (a, b) = (
        first["access_token"].as_str().unwrap(),
        second["access_token"].as_str().unwrap(),
    );
    assert!(a.len() >= 100, "token of {} chars", a.len());
    assert_ne!(a, b);
    assert_eq!(wx.fake.token_requests(), 2);

    wx.fake.set_token_ttl(60);
    assert_eq!(wx.get(&url).await["expires_in"], 60);
}

#[tokio::test]
async fn bad_credentials_answer_like_wechat() {
    let wx = start().await;
    let wrong = wx
        .get(&format!(
            "/cgi-bin/token?grant_type=client_credential&appid={APPID}&secret=nope"
        ))
        .await;
    assert_eq!(errcode(&wrong), 40125);
    assert!(
        wrong["errmsg"]
            .as_str()
            .unwrap()
            .starts_with("invalid appsecret")
    );
    assert!(wrong.get("access_token").is_none());

    let unknown = wx
        .get("/cgi-bin/token?grant_type=client_credential&appid=wxnobody&secret=x")
        .await;
    assert_eq!(errcode(&unknown), 40013);
    let grant = wx
        .get(&format!(
            "/cgi-bin/token?grant_type=password&appid={APPID}&secret={SECRET}"
        ))
        .await;
    assert_eq!(errcode(&grant), 40002);
    assert_eq!(wx.fake.token_requests(), 3, "failed fetches count too");
}

#[tokio::test]
async fn calls_check_the_access_token() {
    let wx = start().await;
    wx.fake.add_follower(APPID, "oA", "", &[]);
    assert_eq!(
        errcode(&wx.get("/cgi-bin/user/info?openid=oA").await),
        41001
    );
    assert_eq!(
        errcode(
            &wx.get("/cgi-bin/user/info?openid=oA&access_token=made-up")
                .await
        ),
        40001
    );

    let old = wx.token().await;
    let new = wx.token().await;
    let info = |t: &str| format!("/cgi-bin/user/info?openid=oA&access_token={t}");
    assert_eq!(
        errcode(&wx.get(&info(&old)).await),
        40001,
        "replaced token, no grace"
    );
    assert_eq!(wx.get(&info(&new)).await["openid"], "oA");

    wx.fake.expire_tokens();
    assert_eq!(errcode(&wx.get(&info(&new)).await), 40001);

    wx.fake.set_token_ttl(1);
    let short = wx.token().await;
    assert_eq!(wx.get(&info(&short)).await["subscribe"], 1);
    tokio::time::sleep(Duration::from_millis(1100)).await;
    assert_eq!(errcode(&wx.get(&info(&short)).await), 42001);
}

#[tokio::test]
async fn a_grace_keeps_the_replaced_token_working() {
    let wx = start().await;
    wx.fake.set_token_grace(300);
    let old = wx.token().await;
    let _new = wx.token().await;
    let sent = wx.send_text(&old, "oA", "still fine").await;
    assert_eq!(sent, ok());
}

#[tokio::test]
async fn stable_token_is_reused_until_forced_and_apart_from_token() {
    let wx = start().await;
    let ask = |force: bool| json!({"grant_type": "client_credential", "appid": APPID, "secret": SECRET, "force_refresh": force});
    let first = wx.post("/cgi-bin/stable_token", &ask(false)).await;
    let again = wx.post("/cgi-bin/stable_token", &ask(false)).await;
    assert_eq!(first["access_token"], again["access_token"]);
    assert!(again["expires_in"].as_u64().unwrap() <= 7200);

    let plain = wx.token().await;
    let stable = first["access_token"].as_str().unwrap();
    assert_eq!(
        wx.send_text(stable, "oA", "a").await,
        ok(),
        "token() leaves the stable token alone"
    );

    let forced = wx.post("/cgi-bin/stable_token", &ask(true)).await;
    assert_ne!(forced["access_token"], first["access_token"]);
    assert_eq!(errcode(&wx.send_text(stable, "oA", "b").await), 40001);
    assert_eq!(wx.send_text(&plain, "oA", "c").await, ok());

    let wrong = json!({"grant_type": "client_credential", "appid": APPID, "secret": "x"});
    assert_eq!(
        errcode(&wx.post("/cgi-bin/stable_token", &wrong).await),
        40125
    );
}

#[tokio::test]
async fn injected_errcodes_come_first_then_success() {
    let wx = start().await;
    let token = wx.token().await;
    wx.fake.fail_next(Api::CustomSend, Failure::ErrCode(-1), 2);
    let first = wx.send_text(&token, "oA", "1").await;
    assert_eq!(errcode(&first), -1);
    assert!(
        first["errmsg"]
            .as_str()
            .unwrap()
            .starts_with("system error")
    );
    assert_eq!(errcode(&wx.send_text(&token, "oA", "2").await), -1);
    assert_eq!(wx.send_text(&token, "oA", "3").await, ok());
    let sent: Vec<String> = wx
        .fake
        .sent()
        .iter()
        .map(|s| s.body["text"]["content"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(sent, ["3"], "failed calls are not recorded");

    // Failures are per endpoint: the token endpoint is untouched by CustomSend's.
    wx.fake.fail_next(Api::Token, Failure::ErrCode(40164), 1);
    let refused = wx
        .get(&format!(
            "/cgi-bin/token?grant_type=client_credential&appid={APPID}&secret={SECRET}"
        ))
        .await;
    assert_eq!(errcode(&refused), 40164);
    assert!(!wx.token().await.is_empty());
}

#[tokio::test]
async fn injected_http_errors_and_delays() {
    let wx = start().await;
    wx.fake.fail_next(Api::Token, Failure::Http(500), 1);
    let url = format!(
        "{}/cgi-bin/token?grant_type=client_credential&appid={APPID}&secret={SECRET}",
        wx.base
    );
    let resp = wx.http.get(&url).send().await.unwrap();
    assert_eq!(resp.status(), 500);
    assert!(resp.json::<Value>().await.is_err(), "a text body, not JSON");

    let token = wx.token().await;
    wx.fake.fail_next(
        Api::CustomSend,
        Failure::Delay(Duration::from_millis(300)),
        1,
    );
    let started = std::time::Instant::now();
    assert_eq!(wx.send_text(&token, "oA", "slow").await, ok());
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(wx.fake.sent().len(), 1);
}

#[tokio::test]
async fn custom_send_records_chinese_as_sent() {
    let wx = start().await;
    let mut deliveries = wx.fake.watch();
    let token = wx.token().await;
    let raw =
        r#"{"touser":"oCN","msgtype":"text","text":{"content":"您好，请问有什么可以帮您？😀"}}"#;
    let path = format!("/cgi-bin/message/custom/send?access_token={token}");
    assert_eq!(wx.post_raw(&path, raw.as_bytes().to_vec()).await, ok());

    let sent = wx.fake.sent_to("oCN");
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].appid, APPID);
    assert_eq!(sent[0].msgtype, "text");
    assert_eq!(
        sent[0].body["text"]["content"],
        "您好，请问有什么可以帮您？😀"
    );
    assert_eq!(sent[0].raw, raw);
    assert!(wx.fake.sent_to("someone-else").is_empty());
    match deliveries.try_recv().unwrap() {
        Delivery::Message(m) => assert_eq!(m.touser, "oCN"),
        other => panic!("unexpected {other:?}"),
    }
}

#[tokio::test]
async fn custom_send_refuses_what_wechat_refuses() {
    let wx = start().await;
    let token = wx.token().await;
    let path = format!("/cgi-bin/message/custom/send?access_token={token}");
    let cases: &[(&str, &[u8], i64)] = &[
        ("not json", b"{\"touser\":\"oA\",", 47001),
        (
            "not utf-8",
            b"{\"touser\":\"oA\",\"msgtype\":\"text\",\"text\":{\"content\":\"\xff\"}}",
            47001,
        ),
        ("empty body", b"", 44002),
        (
            "unknown msgtype",
            br#"{"touser":"oA","msgtype":"sticker","sticker":{}}"#,
            40008,
        ),
        (
            "no touser",
            br#"{"msgtype":"text","text":{"content":"x"}}"#,
            40003,
        ),
        (
            "empty text",
            br#"{"touser":"oA","msgtype":"text","text":{"content":""}}"#,
            44004,
        ),
        (
            "text without text",
            br#"{"touser":"oA","msgtype":"text"}"#,
            47001,
        ),
        (
            "unknown media",
            br#"{"touser":"oA","msgtype":"image","image":{"media_id":"nope"}}"#,
            40007,
        ),
    ];
    for (name, body, code) in cases {
        let answer = wx.post_raw(&path, body.to_vec()).await;
        assert_eq!(errcode(&answer), *code, "{name}: {answer}");
    }
    assert!(wx.fake.sent().is_empty());

    wx.fake.add_follower(APPID, "oGone", "", &[]);
    wx.fake.remove_follower(APPID, "oGone");
    assert_eq!(errcode(&wx.send_text(&token, "oGone", "hi").await), 43004);

    let menu = json!({"touser": "oA", "msgtype": "msgmenu", "msgmenu": {
        "head_content": "您对本次服务是否满意？", "list": [{"id": "101", "content": "满意"}], "tail_content": "谢谢"}});
    assert_eq!(wx.post(&path, &menu).await, ok());
}

#[tokio::test]
async fn typing_is_recorded() {
    let wx = start().await;
    let token = wx.token().await;
    let path = format!("/cgi-bin/message/custom/typing?access_token={token}");
    assert_eq!(
        wx.post(&path, &json!({"touser": "oA", "command": "Typing"}))
            .await,
        ok()
    );
    assert_eq!(
        wx.post(&path, &json!({"touser": "oA", "command": "CancelTyping"}))
            .await,
        ok()
    );
    assert_eq!(
        errcode(
            &wx.post(&path, &json!({"touser": "oA", "command": "Dance"}))
                .await
        ),
        47001
    );
    let expected = [
        ("oA".to_owned(), "Typing".to_owned()),
        ("oA".to_owned(), "CancelTyping".to_owned()),
    ];
    assert_eq!(wx.fake.typing(), expected);
}

#[tokio::test]
async fn uploaded_media_comes_back_byte_for_byte() {
    let wx = start().await;
    let token = wx.token().await;
    let png: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let up = wx.upload(&token, "image", "photo.png", png.clone()).await;
    assert_eq!(up["type"], "image");
    assert!(up["created_at"].as_i64().unwrap() > 1_600_000_000);
    let media_id = up["media_id"].as_str().unwrap().to_owned();
    assert_eq!(
        wx.fake.uploaded(),
        [(media_id.clone(), "image".to_owned(), 5000)]
    );

    let resp = wx
        .http
        .get(format!(
            "{}/cgi-bin/media/get?access_token={token}&media_id={media_id}",
            wx.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["content-type"], "image/png");
    assert!(
        resp.headers()["content-disposition"]
            .to_str()
            .unwrap()
            .contains(&media_id)
    );
    assert_eq!(resp.bytes().await.unwrap().as_ref(), png.as_slice());

    // The uploaded image can now be sent.
    let msg = json!({"touser": "oA", "msgtype": "image", "image": {"media_id": media_id}});
    let sent = wx
        .post(
            &format!("/cgi-bin/message/custom/send?access_token={token}"),
            &msg,
        )
        .await;
    assert_eq!(sent, ok());

    let missing = wx
        .get(&format!(
            "/cgi-bin/media/get?access_token={token}&media_id=nope"
        ))
        .await;
    assert_eq!(errcode(&missing), 40007);
}

#[tokio::test]
async fn seeded_media_and_videos_as_wechat_serves_them() {
    let wx = start().await;
    let token = wx.token().await;
    wx.fake
        .put_media("inbound-voice", "audio/amr", b"#!AMR\n...".to_vec());
    let voice = wx
        .http
        .get(format!(
            "{}/cgi-bin/media/get?access_token={token}&media_id=inbound-voice",
            wx.base
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(voice.headers()["content-type"], "audio/amr");
    assert_eq!(voice.bytes().await.unwrap().as_ref(), b"#!AMR\n...");

    wx.fake
        .put_media("inbound-video", "video/mp4", b"mp4 bytes".to_vec());
    let video = wx
        .get(&format!(
            "/cgi-bin/media/get?access_token={token}&media_id=inbound-video"
        ))
        .await;
    let url = video["video_url"].as_str().unwrap();
    let bytes = wx
        .http
        .get(url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(bytes.as_ref(), b"mp4 bytes");
}

#[tokio::test]
async fn video_url_keeps_the_prefix_the_router_is_mounted_under() {
    let fake = FakeWechat::new();
    fake.add_account(APPID, SECRET);
    let app = axum::Router::new().nest_service("/simulator/wx", fake.router());
    let wx = Wx {
        fake,
        base: format!("{}/simulator/wx", serve(app).await),
        http: reqwest::Client::new(),
    };
    let token = wx.token().await;
    wx.fake.put_media("v1", "video/mp4", b"clip".to_vec());
    let video = wx
        .get(&format!(
            "/cgi-bin/media/get?access_token={token}&media_id=v1"
        ))
        .await;
    let url = video["video_url"].as_str().unwrap();
    assert!(url.contains("/simulator/wx/"), "{url}");
    assert_eq!(
        wx.http
            .get(url)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap()
            .as_ref(),
        b"clip"
    );
}

#[tokio::test]
async fn uploads_over_wechat_limits_are_refused() {
    let wx = start().await;
    let token = wx.token().await;
    let thumb = wx
        .upload(&token, "thumb", "t.jpg", vec![0; 64 * 1024 + 1])
        .await;
    assert_eq!(errcode(&thumb), 40012);
    let image = wx
        .upload(&token, "image", "big.jpg", vec![0; 2 * 1024 * 1024 + 1])
        .await;
    assert_eq!(errcode(&image), 40009);
    assert!(wx.fake.uploaded().is_empty());

    let fits = wx
        .upload(&token, "thumb", "t.jpg", vec![0; 64 * 1024])
        .await;
    assert!(fits["thumb_media_id"].as_str().is_some(), "{fits}");

    assert_eq!(
        errcode(&wx.upload(&token, "image", "notes.txt", vec![1]).await),
        40005
    );
    assert_eq!(
        errcode(&wx.upload(&token, "sticker", "a.png", vec![1]).await),
        40004
    );

    let unnamed =
        reqwest::multipart::Form::new().part("media", reqwest::multipart::Part::bytes(vec![1]));
    let url = format!(
        "{}/cgi-bin/media/upload?access_token={token}&type=image",
        wx.base
    );
    let answer: Value = wx
        .http
        .post(url)
        .multipart(unnamed)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        errcode(&answer),
        41005,
        "a part without a file name is no media"
    );
}

#[tokio::test]
async fn user_get_pages_through_followers() {
    let wx = start().await;
    wx.fake.set_page_size(4);
    let all: Vec<String> = (0..11).map(|i| format!("oFollower{i:02}")).collect();
    for openid in &all {
        wx.fake.add_follower(APPID, openid, "", &[]);
    }
    wx.fake.add_follower("wxOther", "oElsewhere", "", &[]);
    let token = wx.token().await;

    let mut seen = Vec::new();
    let mut next = String::new();
    let mut counts = Vec::new();
    loop {
        let page = wx
            .get(&format!(
                "/cgi-bin/user/get?access_token={token}&next_openid={next}"
            ))
            .await;
        assert_eq!(page["total"], 11);
        let count = page["count"].as_u64().unwrap();
        counts.push(count);
        if count == 0 {
            assert!(page.get("data").is_none());
            break;
        }
        let ids = page["data"]["openid"].as_array().unwrap();
        assert_eq!(ids.len() as u64, count);
        seen.extend(ids.iter().map(|o| o.as_str().unwrap().to_owned()));
        next = page["next_openid"].as_str().unwrap().to_owned();
        assert_eq!(Some(&next), seen.last());
    }
    assert_eq!(counts, [4, 4, 3, 0]);
    assert_eq!(seen, all);

    let bogus = wx
        .get(&format!(
            "/cgi-bin/user/get?access_token={token}&next_openid=oNobody"
        ))
        .await;
    assert_eq!(errcode(&bogus), 40003);
}

#[tokio::test]
async fn user_info_and_batchget_show_remarks_and_tags() {
    let wx = start().await;
    wx.fake.add_follower(APPID, "oA", "王先生", &[101]);
    wx.fake.add_follower(APPID, "oB", "", &[]);
    let token = wx.token().await;

    let info = wx
        .get(&format!(
            "/cgi-bin/user/info?access_token={token}&openid=oA&lang=zh_CN"
        ))
        .await;
    assert_eq!(info["subscribe"], 1);
    assert_eq!(info["remark"], "王先生");
    assert_eq!(info["tagid_list"], json!([101]));
    assert!(info["subscribe_time"].as_i64().unwrap() > 1_600_000_000);
    assert!(info.get("nickname").is_none(), "no nicknames since 2021");
    let unknown = wx
        .get(&format!(
            "/cgi-bin/user/info?access_token={token}&openid=oZ"
        ))
        .await;
    assert_eq!(errcode(&unknown), 40003);

    let path = format!("/cgi-bin/user/info/batchget?access_token={token}");
    let list = json!({"user_list": [{"openid": "oA", "lang": "zh_CN"}, {"openid": "oB"}]});
    let batch = wx.post(&path, &list).await;
    let openids: Vec<&str> = batch["user_info_list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["openid"].as_str().unwrap())
        .collect();
    assert_eq!(openids, ["oA", "oB"]);
    let too_many: Vec<Value> = (0..101).map(|_| json!({"openid": "oA"})).collect();
    assert_eq!(
        errcode(&wx.post(&path, &json!({"user_list": too_many})).await),
        40032
    );

    let remark = json!({"openid": "oB", "remark": "李女士"});
    assert_eq!(
        wx.post(
            &format!("/cgi-bin/user/info/updateremark?access_token={token}"),
            &remark
        )
        .await,
        ok()
    );
    let info = wx
        .get(&format!(
            "/cgi-bin/user/info?access_token={token}&openid=oB"
        ))
        .await;
    assert_eq!(info["remark"], "李女士");

    wx.fake.remove_follower(APPID, "oB");
    let gone = wx
        .get(&format!(
            "/cgi-bin/user/info?access_token={token}&openid=oB"
        ))
        .await;
    assert_eq!(gone, json!({"subscribe": 0, "openid": "oB"}));
}

#[tokio::test]
async fn tags_create_tag_and_list() {
    let wx = start().await;
    wx.fake.add_follower(APPID, "oA", "", &[]);
    let token = wx.token().await;
    let at = |api: &str| format!("/cgi-bin/{api}?access_token={token}");

    let created = wx
        .post(&at("tags/create"), &json!({"tag": {"name": "VIP客户"}}))
        .await;
    let id = created["tag"]["id"].as_i64().unwrap();
    assert!(id >= 100);
    let again = wx
        .post(&at("tags/create"), &json!({"tag": {"name": "VIP客户"}}))
        .await;
    assert_eq!(errcode(&again), 45157);

    let tagging = json!({"openid_list": ["oA"], "tagid": id});
    assert_eq!(
        wx.post(&at("tags/members/batchtagging"), &tagging).await,
        ok()
    );
    assert_eq!(
        wx.post(&at("tags/getidlist"), &json!({"openid": "oA"}))
            .await["tagid_list"],
        json!([id])
    );
    let members = wx
        .post(
            &at("user/tag/get"),
            &json!({"tagid": id, "next_openid": ""}),
        )
        .await;
    assert_eq!(members["data"]["openid"], json!(["oA"]));

    let tags = wx.get(&at("tags/get")).await;
    let vip = tags["tags"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["id"] == id)
        .unwrap()
        .clone();
    assert_eq!(vip, json!({"id": id, "name": "VIP客户", "count": 1}));

    assert_eq!(
        errcode(
            &wx.post(&at("tags/delete"), &json!({"tag": {"id": 2}}))
                .await
        ),
        45058
    );
    assert_eq!(
        wx.post(&at("tags/delete"), &json!({"tag": {"id": id}}))
            .await,
        ok()
    );
    assert_eq!(
        wx.post(&at("tags/getidlist"), &json!({"openid": "oA"}))
            .await["tagid_list"],
        json!([])
    );
}

#[tokio::test]
async fn templates_and_menus_are_kept() {
    let wx = start().await;
    let token = wx.token().await;
    let template = json!({"touser": "oAgent", "template_id": "tpl-1", "url": "https://kefu.example/c/1",
        "data": {"thing1": {"value": "新会话等待接入"}}});
    let sent = wx
        .post(
            &format!("/cgi-bin/message/template/send?access_token={token}"),
            &template,
        )
        .await;
    assert_eq!(errcode(&sent), 0);
    assert!(sent["msgid"].as_i64().is_some());
    assert_eq!(wx.fake.templates_sent(), [template]);
    let no_id = json!({"touser": "oAgent", "data": {}});
    let refused = wx
        .post(
            &format!("/cgi-bin/message/template/send?access_token={token}"),
            &no_id,
        )
        .await;
    assert_eq!(errcode(&refused), 40037);

    let get = format!("/cgi-bin/menu/get?access_token={token}");
    assert_eq!(errcode(&wx.get(&get).await), 46003);
    let menu = json!({"button": [
        {"type": "click", "name": "联系客服", "key": "KEFU"},
        {"name": "更多", "sub_button": [{"type": "view", "name": "官网", "url": "https://kefu.example"}]},
    ]});
    let create = format!("/cgi-bin/menu/create?access_token={token}");
    assert_eq!(wx.post(&create, &menu).await, ok());
    assert_eq!(wx.fake.menu(APPID), Some(menu));
    let served = wx.get(&get).await;
    assert_eq!(served["menu"]["button"][0]["key"], "KEFU");
    assert_eq!(served["menu"]["button"][0]["sub_button"], json!([]));
    assert_eq!(
        served["menu"]["button"][1]["sub_button"][0]["url"],
        "https://kefu.example"
    );

    let four = json!({"button": [
        {"type": "click", "name": "1", "key": "1"}, {"type": "click", "name": "2", "key": "2"},
        {"type": "click", "name": "3", "key": "3"}, {"type": "click", "name": "4", "key": "4"},
    ]});
    assert_eq!(errcode(&wx.post(&create, &four).await), 40016);
}

#[tokio::test]
async fn window_rules_limit_customer_service_messages() {
    let wx = start().await;
    let token = wx.token().await;
    assert_eq!(wx.send_text(&token, "oW", "rules off").await, ok());

    wx.fake.set_window_rules(true, 2);
    assert_eq!(
        errcode(&wx.send_text(&token, "oW", "no interaction").await),
        45015
    );
    let typing = json!({"touser": "oW", "command": "Typing"});
    let typing_path = format!("/cgi-bin/message/custom/typing?access_token={token}");
    assert_eq!(errcode(&wx.post(&typing_path, &typing).await), 45015);

    wx.fake.record_interaction(APPID, "oW");
    assert_eq!(
        wx.post(&typing_path, &typing).await,
        ok(),
        "typing spends no quota"
    );
    assert_eq!(wx.send_text(&token, "oW", "1").await, ok());
    assert_eq!(wx.send_text(&token, "oW", "2").await, ok());
    let over = wx.send_text(&token, "oW", "3").await;
    assert_eq!(errcode(&over), 45047);
    assert!(
        over["errmsg"]
            .as_str()
            .unwrap()
            .starts_with("out of response count limit")
    );

    wx.fake.record_interaction(APPID, "oW");
    assert_eq!(wx.send_text(&token, "oW", "after reply").await, ok());
    assert_eq!(wx.fake.sent_to("oW").len(), 4);

    wx.fake.set_window_rules(false, 0);
    assert_eq!(wx.send_text(&token, "oOther", "off again").await, ok());
}
