//! G6: kefu serves HTTPS itself when given a certificate and key, and marks
//! cookies `Secure` whenever its public URL is https.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{PASSWORD, TestServer};
use kefu::model::Role;
use reqwest::StatusCode;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_tls_from_pem_files_with_secure_cookies() {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let srv = TestServer::start_with(|config, dir| {
        let (c, k) = (dir.join("cert.pem"), dir.join("key.pem"));
        std::fs::write(&c, cert.cert.pem()).unwrap();
        std::fs::write(&k, cert.signing_key.serialize_pem()).unwrap();
        config.tls = Some((c, k));
    })
    .await;
    assert!(srv.url.starts_with("https://"));
    srv.user("amy", Role::Agent, &[]).await;

    let trusting = reqwest::Certificate::from_pem(cert.cert.pem().as_bytes()).unwrap();
    let client = reqwest::Client::builder()
        .tls_certs_only([trusting])
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let health = client.get(srv.at("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    assert_eq!(health.text().await.unwrap(), "ok");

    let page = client.get(srv.at("/login")).send().await.unwrap();
    let pre = page
        .headers()
        .get("set-cookie")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    assert!(pre.contains("Secure") && pre.contains("HttpOnly"), "{pre}");
    let token = common::extract_csrf(&page.text().await.unwrap()).unwrap();
    let cookie = pre.split(';').next().unwrap().to_string();
    let login = client
        .post(srv.at("/login"))
        .header("Cookie", cookie)
        .form(&[
            ("username", "amy"),
            ("password", PASSWORD),
            ("_csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(login.status(), StatusCode::SEE_OTHER);
    let session = login
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("kefu_session="))
        .unwrap();
    assert!(
        session.contains("Secure") && session.contains("SameSite=Lax"),
        "{session}"
    );

    // Plain HTTP to the TLS port gets nowhere.
    let plain = reqwest::get(srv.url.replace("https://", "http://") + "/healthz").await;
    assert!(plain.is_err() || !plain.unwrap().status().is_success());
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_base_url_marks_cookies_secure_behind_a_proxy() {
    let srv = TestServer::start_with(|config, _| {
        config.base_url = Some("https://kefu.example.com".into());
        config.trusted_proxies = kefu::config::TrustedProxies::loopback();
    })
    .await;
    srv.user("amy", Role::Agent, &[]).await;
    let r = reqwest::Client::new()
        .get(srv.at("/login"))
        .header("X-Forwarded-For", "203.0.113.9")
        .send()
        .await
        .unwrap();
    let c = r.headers()["set-cookie"].to_str().unwrap();
    assert!(c.contains("Secure"), "{c}");
    let ip = kefu::web::session::client_ip(
        &{
            let mut h = reqwest::header::HeaderMap::new();
            h.insert(
                "x-forwarded-for",
                "198.51.100.1, 203.0.113.9".parse().unwrap(),
            );
            h
        },
        Some("127.0.0.1:1".parse().unwrap()),
        &kefu::config::TrustedProxies::loopback(),
    );
    assert_eq!(
        ip, "203.0.113.9",
        "the proxy's own entry, not the client's claim"
    );
    srv.stop().await;
}
