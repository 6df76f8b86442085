//! Walks the whole route table (`kefu::web::routes()`) and checks that every
//! protected route refuses anonymous visitors (redirect to /login, or 401 for
//! htmx and JSON) and every role below the one it declares (403), while the
//! declared role gets through.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Browser, TestServer};
use kefu::model::Role;
use kefu::web::{Access, routes};
use reqwest::{Method, StatusCode};

fn rank(a: Access) -> u8 {
    match a {
        Access::Public => 0,
        Access::Agent => 1,
        Access::Admin => 2,
        Access::SuperAdmin => 3,
    }
}

async fn call(
    b: &Browser,
    srv: &TestServer,
    method: &Method,
    path: &str,
    htmx: bool,
) -> reqwest::Response {
    let token = b.csrf().await;
    let mut req = b
        .client
        .request(method.clone(), srv.at(path))
        .header("X-CSRF-Token", token);
    if htmx {
        req = req.header("HX-Request", "true");
    }
    if *method == Method::POST {
        // A harmless, invalid form: authorization must be decided before validation.
        req = req.form(&[("unused", "1")]);
    }
    req.send().await.expect("request")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_protected_route_refuses_anonymous_and_lower_roles() {
    let srv = TestServer::start().await;
    let g = srv.group("售前", "pre").await;
    srv.user("boss", Role::SuperAdmin, &[]).await;
    srv.user("lead", Role::Admin, &[g]).await;
    let agent_id = srv.user("amy", Role::Agent, &[g]).await;

    let anon = Browser::new(&srv);
    let by_rank = [
        (1u8, srv.login("amy").await),
        (2, srv.login("lead").await),
        (3, srv.login("boss").await),
    ];

    let table = routes();
    assert!(table.len() >= 25, "the table lists every route");
    let mut protected = 0;
    for r in &table {
        let path = r.path.replace(
            "{id}",
            &if r.path.starts_with("/admin/groups") {
                g.to_string()
            } else {
                agent_id.to_string()
            },
        );
        if r.access == Access::Public {
            continue;
        }
        protected += 1;
        let what = format!("{} {}", r.method, r.path);

        let resp = call(&anon, &srv, &r.method, &path, false).await;
        assert_eq!(
            resp.status(),
            StatusCode::SEE_OTHER,
            "{what}: anonymous page request"
        );
        let loc = resp.headers()["location"].to_str().unwrap().to_string();
        assert!(loc.starts_with("/login"), "{what}: redirected to {loc}");
        let resp = call(&anon, &srv, &r.method, &path, true).await;
        assert_eq!(
            resp.status(),
            StatusCode::UNAUTHORIZED,
            "{what}: anonymous htmx request"
        );

        for (role_rank, b) in &by_rank {
            let resp = call(b, &srv, &r.method, &path, false).await;
            let status = resp.status();
            if *role_rank < rank(r.access) {
                assert_eq!(
                    status,
                    StatusCode::FORBIDDEN,
                    "{what}: role rank {role_rank} must be refused"
                );
                assert!(resp.text().await.unwrap().contains("您没有权限访问此页面"));
            } else {
                assert!(
                    status != StatusCode::FORBIDDEN && status != StatusCode::UNAUTHORIZED,
                    "{what}: role rank {role_rank} must get through, got {status}"
                );
            }
        }
    }
    assert!(protected >= 20, "protected routes walked: {protected}");
    srv.stop().await;
}
