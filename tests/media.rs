//! Inbound media (A9): downloaded after the push was acknowledged, kept under
//! the data folder within type and size limits, served only to logged-in users.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{APPID, Browser, FakeServer, SECRET, TestServer};
use kefu::model::{MediaState, Role};
use reqwest::StatusCode;

fn image_push(msg_id: i64, media_id: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[oMedia]]></FromUserName>\
         <CreateTime>1763604000</CreateTime><MsgType><![CDATA[image]]></MsgType>\
         <PicUrl><![CDATA[]]></PicUrl><MediaId><![CDATA[{media_id}]]></MediaId><MsgId>{msg_id}</MsgId></xml>"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn media_is_fetched_after_the_answer_and_served_to_users_only() {
    let wx = FakeServer::start().await;
    wx.fake.add_account(APPID, SECRET);
    let png: Vec<u8> = [
        &[0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a][..],
        &[7u8; 2000][..],
    ]
    .concat();
    wx.fake.put_media("MEDIA_OK", "image/png", png.clone());
    wx.fake.put_media(
        "MEDIA_HTML",
        "text/html",
        b"<script>alert(1)</script>".to_vec(),
    );
    wx.fake
        .put_media("MEDIA_BIG", "image/jpeg", vec![0u8; 11 * 1024 * 1024]);

    let srv = TestServer::start().await;
    // The account serves the only group there is; amy is in it.
    let g0 = srv.group("客服组", "kefu").await;
    srv.user("amy", Role::Agent, &[g0]).await;
    // Queued followers' files are queue details: the group shows them to agents.
    srv.state
        .db
        .write(move |c| {
            let mut s = kefu::db::settings::group(c, g0)?;
            s.agents_see_queue = true;
            kefu::db::settings::set_group(c, g0, &s)
        })
        .await
        .unwrap();
    let acc = srv.account("safe", &wx.url).await;
    for (i, id) in ["MEDIA_OK", "MEDIA_HTML", "MEDIA_BIG", "MEDIA_GONE"]
        .iter()
        .enumerate()
    {
        let r = srv
            .push(&acc, "safe", &image_push(9000 + i as i64, id))
            .await;
        assert_eq!(r.status(), StatusCode::OK);
    }
    let rows = || {
        let db = srv.state.db.clone();
        async move {
            db.read(|c| -> kefu::db::DbResult<Vec<kefu::db::media::Media>> {
                let ids: Vec<i64> = c
                    .prepare("SELECT id FROM media ORDER BY id")?
                    .query_map([], |r| r.get(0))?
                    .collect::<Result<_, _>>()?;
                ids.into_iter()
                    .map(|i| Ok(kefu::db::media::get(c, kefu::model::MediaId(i))?.unwrap()))
                    .collect()
            })
            .await
            .unwrap()
        }
    };
    assert!(
        rows().await.iter().all(|m| m.state == MediaState::Pending),
        "nothing fetched before the answer"
    );

    let fetcher = srv.state.wechat.fetcher(&srv.state.db, &srv.state.clock);
    for _ in 0..12 {
        fetcher.pass().await.unwrap();
        srv.state.clock.advance(jiff::SignedDuration::from_mins(10));
    }
    let media = rows().await;
    assert_eq!(media[0].state, MediaState::Stored);
    assert_eq!(
        (media[0].content_type.as_str(), media[0].size),
        ("image/png", png.len() as i64)
    );
    assert_eq!(media[1].state, MediaState::Failed);
    assert!(
        media[1].error.contains("不支持的文件类型"),
        "{}",
        media[1].error
    );
    assert_eq!(media[2].state, MediaState::Failed);
    assert!(media[2].error.contains("超过 10 MB"), "{}", media[2].error);
    assert_eq!(
        media[3].state,
        MediaState::Failed,
        "unknown media id: WeChat refuses, not retried for ever"
    );
    let on_disk = srv.dir.path().join("media").join(&media[0].path);
    assert_eq!(std::fs::read(on_disk).unwrap(), png);

    let url = format!("/media/{}", media[0].id);
    let anon = Browser::new(&srv);
    let r = anon.get(&url).await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "anonymous visitors go to the login page"
    );
    let amy = srv.login("amy").await;
    let r = amy.get(&url).await;
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.bytes().await.unwrap().to_vec(), png);
    // Byte ranges, as Safari asks for video.
    let r = amy
        .client
        .get(srv.at(&url))
        .header("Range", "bytes=0-7")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(r.bytes().await.unwrap().to_vec(), png[..8].to_vec());
    // Agents and admins of another group do not see it, by id or otherwise.
    let g = srv.group("售前", "pre").await;
    srv.user("bob", Role::Agent, &[g]).await;
    srv.user("lead", Role::Admin, &[g]).await;
    for other in ["bob", "lead"] {
        let b = srv.login(other).await;
        assert_eq!(
            b.get(&url).await.status(),
            StatusCode::NOT_FOUND,
            "{other} is not in the follower's group"
        );
    }
    assert_eq!(amy.get(&url).await.status(), StatusCode::OK, "amy is");
    for bad in [
        format!("/media/{}", media[1].id),
        "/media/..%2F..%2Fkefu.db".into(),
        "/media/999".into(),
    ] {
        assert_eq!(amy.get(&bad).await.status(), StatusCode::NOT_FOUND, "{bad}");
    }
    srv.stop().await;
}
