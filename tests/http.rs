//! HTTP scenarios over real loopback HTTP (G1, D1, D12, E1, E2, E12): setup,
//! login, logout, lockout, sessions, CSRF, and the team pages. Each case states
//! status, text that must appear and text that must not.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{Browser, PASSWORD, TestServer, extract_csrf};
use jiff::SignedDuration;
use kefu::model::Role;
use reqwest::StatusCode;

/// One row of a scenario table.
struct Case<'a> {
    name: &'a str,
    method: &'a str,
    path: &'a str,
    form: &'a [(&'a str, &'a str)],
    status: u16,
    contains: &'a [&'a str],
    lacks: &'a [&'a str],
}

async fn run(b: &Browser, cases: &[Case<'_>]) {
    for c in cases {
        let resp = match c.method {
            "GET" => b.get(c.path).await,
            _ => b.post_form(c.path, c.form).await,
        };
        let status = resp.status().as_u16();
        let location = resp
            .headers()
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_string();
        let body = format!("{location}\n{}", resp.text().await.unwrap_or_default());
        assert_eq!(
            status,
            c.status,
            "{}: status (body: {})",
            c.name,
            &body[..body.len().min(600)]
        );
        for s in c.contains {
            assert!(
                body.contains(s),
                "{}: should contain {s:?}; got {}",
                c.name,
                &body[..body.len().min(800)]
            );
        }
        for s in c.lacks {
            assert!(!body.contains(s), "{}: should not contain {s:?}", c.name);
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_run_setup() {
    let srv = TestServer::start().await;
    let b = Browser::new(&srv);
    let code = srv
        .state
        .setup_code()
        .expect("a setup code while nobody exists")
        .to_string();
    let file = std::fs::read_to_string(srv.dir.path().join("setup-code.txt"));
    assert!(
        file.is_err() || file.unwrap().trim() == code,
        "the file holds the same code"
    );
    let code = code.as_str();
    run(
        &b,
        &[
            Case {
                name: "home leads to setup",
                method: "GET",
                path: "/",
                form: &[],
                status: 303,
                contains: &["/setup"],
                lacks: &[],
            },
            Case {
                name: "login leads to setup",
                method: "GET",
                path: "/login",
                form: &[],
                status: 303,
                contains: &["/setup"],
                lacks: &[],
            },
            Case {
                name: "admin leads to setup",
                method: "GET",
                path: "/admin/users",
                form: &[],
                status: 303,
                contains: &["/setup"],
                lacks: &[],
            },
            Case {
                name: "health works before setup",
                method: "GET",
                path: "/healthz",
                form: &[],
                status: 200,
                contains: &["ok"],
                lacks: &[],
            },
            Case {
                name: "setup page",
                method: "GET",
                path: "/setup",
                form: &[],
                status: 200,
                contains: &["首次设置", "确认密码", "name=\"_csrf\""],
                lacks: &[],
            },
            Case {
                name: "wrong setup code",
                method: "POST",
                path: "/setup",
                form: &[
                    ("code", "AAAA-BBBB-CCCC"),
                    ("username", "boss"),
                    ("display_name", "老板"),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                ],
                status: 422,
                contains: &["设置码不正确", "value=\"boss\""],
                lacks: &[],
            },
            Case {
                name: "half-filled setup keeps input",
                method: "POST",
                path: "/setup",
                form: &[("code", code), ("username", "boss"), ("display_name", "")],
                status: 422,
                contains: &["请填写显示名", "value=\"boss\""],
                lacks: &[],
            },
            Case {
                name: "passwords differ",
                method: "POST",
                path: "/setup",
                form: &[
                    ("code", code),
                    ("username", "boss"),
                    ("display_name", "老板"),
                    ("password", "longpassword"),
                    ("confirm", "longpassworx"),
                ],
                status: 422,
                contains: &["两次输入的密码不一致"],
                lacks: &[],
            },
            Case {
                name: "short password",
                method: "POST",
                path: "/setup",
                form: &[
                    ("code", code),
                    ("username", "boss"),
                    ("display_name", "老板"),
                    ("password", "short"),
                    ("confirm", "short"),
                ],
                status: 422,
                contains: &["至少需要 8 个字符"],
                lacks: &[],
            },
            Case {
                name: "bad account name",
                method: "POST",
                path: "/setup",
                form: &[
                    ("code", code),
                    ("username", "bo ss"),
                    ("display_name", "老板"),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                ],
                status: 422,
                contains: &["账号只能包含"],
                lacks: &[],
            },
            Case {
                name: "setup creates the super admin",
                method: "POST",
                path: "/setup",
                form: &[
                    ("code", code),
                    ("username", "boss"),
                    ("display_name", "老板"),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                ],
                status: 303,
                contains: &["/console"],
                lacks: &["/login"],
            },
            Case {
                name: "the new super admin is signed in and greeted",
                method: "GET",
                path: "/console",
                form: &[],
                status: 200,
                contains: &["超级管理员已创建，您已登录", "老板"],
                lacks: &[],
            },
            Case {
                name: "setup page now leads to login",
                method: "GET",
                path: "/setup",
                form: &[],
                status: 303,
                contains: &["/login"],
                lacks: &[],
            },
            Case {
                name: "second setup refused",
                method: "POST",
                path: "/setup",
                form: &[
                    ("code", code),
                    ("username", "evil"),
                    ("display_name", "x"),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                ],
                status: 403,
                contains: &[],
                lacks: &[],
            },
        ],
    )
    .await;
    run(
        &Browser::new(&srv),
        &[Case {
            name: "anonymous console goes to login",
            method: "GET",
            path: "/console",
            form: &[],
            status: 303,
            contains: &["/login?next=%2Fconsole"],
            lacks: &[],
        }],
    )
    .await;
    let users = srv
        .state
        .db
        .read(|c| kefu::db::users::list(c, &Default::default(), &kefu::access::Reach::All))
        .await
        .unwrap();
    assert_eq!(users.len(), 1, "exactly one user: the super admin");
    assert_eq!(users[0].user.role, Role::SuperAdmin);
    assert!(users[0].user.username == "boss");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_logout_previous_login_and_lockout() {
    let srv = TestServer::start().await;
    srv.user("amy", Role::Agent, &[]).await;
    let b = Browser::new(&srv);
    let wrong = [("username", "amy"), ("password", "wrong-password")];
    for i in 0..5 {
        let r = b.post_form("/login", &wrong).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED, "failure {i}");
        assert!(r.text().await.unwrap().contains("账号或密码错误"));
    }
    let good = [("username", "amy"), ("password", PASSWORD)];
    let r = b.post_form("/login", &good).await;
    assert_eq!(
        r.status(),
        StatusCode::TOO_MANY_REQUESTS,
        "locked even with the right password"
    );
    assert!(r.text().await.unwrap().contains("登录失败次数过多"));
    // Unknown accounts get the same answer as wrong passwords.
    let r = b
        .post_form("/login", &[("username", "nobody"), ("password", "x")])
        .await;
    assert!(r.text().await.unwrap().contains("账号或密码错误"));

    srv.state.clock.advance(SignedDuration::from_mins(16));
    let r = b
        .post_form(
            "/login",
            &[
                ("username", "amy"),
                ("password", PASSWORD),
                ("next", "/console/me"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(r.headers()["location"], "/console/me");
    let cookies: Vec<String> = r
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("kefu_session="))
        .expect("session cookie");
    assert!(
        session.contains("HttpOnly") && session.contains("SameSite=Lax"),
        "{session}"
    );
    assert!(
        !session.contains("Secure"),
        "plain http base URL: no Secure flag"
    );
    let (_, page) = b.text("/console/me").await;
    assert!(
        page.contains("这是您的首次登录"),
        "first login is announced"
    );

    // Log out, log in again: the previous login is shown.
    let r = b.post_form("/logout", &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        b.get("/console").await.status(),
        StatusCode::SEE_OTHER,
        "logged out"
    );
    srv.state.clock.advance(SignedDuration::from_hours(1));
    b.post_form("/login", &good).await;
    let (_, page) = b.text("/console").await;
    assert!(
        page.contains("上次登录：2026-11-20 10:16"),
        "previous login in Asia/Shanghai time: {page}"
    );
    assert!(page.contains("IP 127.0.0.1"));

    // Open redirects are refused.
    b.post_form("/logout", &[]).await;
    let r = b
        .post_form(
            "/login",
            &[
                ("username", "amy"),
                ("password", PASSWORD),
                ("next", "//evil.example"),
            ],
        )
        .await;
    assert_eq!(r.headers()["location"], "/console");
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_live_24_hours_after_the_last_request() {
    let srv = TestServer::start().await;
    srv.user("amy", Role::Agent, &[]).await;
    let b = srv.login("amy").await;
    srv.state.clock.advance(SignedDuration::from_hours(23));
    assert_eq!(
        b.get("/console").await.status(),
        StatusCode::OK,
        "23 h idle: still in"
    );
    srv.state.clock.advance(SignedDuration::from_hours(23));
    assert_eq!(
        b.get("/console").await.status(),
        StatusCode::OK,
        "activity renewed it"
    );
    srv.state
        .clock
        .advance(SignedDuration::from_hours(24) + SignedDuration::from_secs(1));
    let r = b.get("/console").await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "24 h idle: out");
    assert!(
        r.headers()["location"]
            .to_str()
            .unwrap()
            .starts_with("/login")
    );
    // htmx and JSON callers get 401, not a redirect.
    let r = b
        .client
        .get(srv.at("/console"))
        .header("HX-Request", "true")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers()["hx-redirect"], "/login");
    let r = b
        .client
        .get(srv.at("/admin/users"))
        .header("Accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn csrf_is_required_on_every_state_change() {
    let srv = TestServer::start().await;
    srv.user("amy", Role::Agent, &[]).await;
    let anon = Browser::new(&srv);
    let r = anon
        .post_form_raw("/login", &[("username", "amy"), ("password", PASSWORD)])
        .await;
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "login form without token"
    );
    assert!(r.text().await.unwrap().contains("页面已过期"));

    let b = srv.login("amy").await;
    let form = [("display_name", "黑客"), ("real_name", ""), ("phone", "")];
    let r = b.post_form_raw("/console/me", &form).await;
    assert_eq!(r.status(), StatusCode::FORBIDDEN, "no token");
    let mut wrong = form.to_vec();
    wrong.push(("_csrf", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"));
    assert_eq!(
        b.post_form_raw("/console/me", &wrong).await.status(),
        StatusCode::FORBIDDEN,
        "wrong token"
    );

    let token = b.csrf().await;
    let mut right = form.to_vec();
    right.push(("_csrf", &token));
    let r = b
        .client
        .post(srv.at("/console/me"))
        .header("Origin", "https://evil.example")
        .form(&right)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "cross-origin with a valid token"
    );
    let r = b
        .client
        .post(srv.at("/console/me"))
        .header("Sec-Fetch-Site", "cross-site")
        .form(&right)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        StatusCode::FORBIDDEN,
        "browser-marked cross-site"
    );

    // htmx: the token travels in a header; errors come back as a fragment.
    let r = b
        .client
        .post(srv.at("/console/me/theme"))
        .header("HX-Request", "true")
        .form(&[("theme", "dark")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert_eq!(r.headers()["hx-retarget"], "#flash");
    assert!(
        r.text()
            .await
            .unwrap()
            .starts_with("<div class=\"alert alert-error\"")
    );
    let r = b
        .client
        .post(srv.at("/console/me/theme"))
        .header("HX-Request", "true")
        .header("X-CSRF-Token", &token)
        .form(&[("theme", "dark")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    let (_, page) = b.text("/console/me").await;
    assert!(page.contains("data-theme=\"dark\""), "theme remembered");
    assert!(
        page.contains("amy显示名"),
        "nothing changed by the refused posts"
    );
    assert!(!page.contains("黑客"));

    // The same-origin form post works.
    let r = b
        .client
        .post(srv.at("/console/me"))
        .header("Origin", &srv.url)
        .form(&right)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_and_groups_pages_enforce_the_team_rules() {
    let srv = TestServer::start().await;
    let pre = srv.group("售前", "pre").await;
    let post = srv.group("售后", "post").await;
    srv.user("boss", Role::SuperAdmin, &[]).await;
    srv.user("lead", Role::Admin, &[pre]).await;
    let other = srv.user("zoe", Role::Agent, &[post]).await;
    let admin = srv.login("lead").await;

    let pre_s = pre.to_string();
    let post_s = post.to_string();
    let zoe = format!("/admin/users/{other}");
    run(
        &admin,
        &[
            Case {
                name: "admin sees own groups' users",
                method: "GET",
                path: "/admin/users",
                form: &[],
                status: 200,
                contains: &["lead"],
                lacks: &["zoe"],
            },
            Case {
                name: "admin cannot open other group's user",
                method: "GET",
                path: &zoe,
                form: &[],
                status: 403,
                contains: &["没有权限"],
                lacks: &[],
            },
            Case {
                name: "admin cannot create an admin",
                method: "POST",
                path: "/admin/users",
                form: &[
                    ("username", "x1"),
                    ("role", "admin"),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                    ("groups", &pre_s),
                ],
                status: 422,
                contains: &["管理员只能添加普通客服"],
                lacks: &[],
            },
            Case {
                name: "admin cannot put an agent in a foreign group",
                method: "POST",
                path: "/admin/users",
                form: &[
                    ("username", "x2"),
                    ("role", "agent"),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                    ("groups", &post_s),
                ],
                status: 422,
                contains: &["请至少选择一个您所在的客服组"],
                lacks: &[],
            },
            Case {
                name: "half-filled user form is answered, input kept",
                method: "POST",
                path: "/admin/users",
                form: &[("username", "newbie"), ("role", "agent")],
                status: 422,
                contains: &["密码至少需要 8 个字符", "value=\"newbie\""],
                lacks: &[],
            },
            Case {
                name: "admin creates an agent in own group",
                method: "POST",
                path: "/admin/users",
                form: &[
                    ("username", "newbie"),
                    ("display_name", "<script>alert(1)</script>"),
                    ("role", "agent"),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                    ("groups", &pre_s),
                ],
                status: 303,
                contains: &["/admin/users"],
                lacks: &[],
            },
            Case {
                name: "follower-controlled text is escaped",
                method: "GET",
                path: "/admin/users",
                form: &[],
                status: 200,
                contains: &[
                    "newbie",
                    "&#60;script&#62;alert(1)&#60;/script&#62;",
                    "用户 newbie 已添加",
                ],
                lacks: &["<script>alert(1)"],
            },
            Case {
                name: "duplicate account",
                method: "POST",
                path: "/admin/users",
                form: &[
                    ("username", "NEWBIE"),
                    ("role", "agent"),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                    ("groups", &pre_s),
                ],
                status: 422,
                contains: &["已存在"],
                lacks: &[],
            },
            Case {
                name: "filter by role",
                method: "GET",
                path: "/admin/users?role=admin",
                form: &[],
                status: 200,
                contains: &["lead"],
                lacks: &["newbie"],
            },
            Case {
                name: "filter by status",
                method: "GET",
                path: "/admin/users?status=disabled",
                form: &[],
                status: 200,
                contains: &["没有符合条件的用户"],
                lacks: &["newbie"],
            },
            Case {
                name: "groups page is super admin only",
                method: "GET",
                path: "/admin/groups",
                form: &[],
                status: 403,
                contains: &[],
                lacks: &[],
            },
        ],
    )
    .await;

    let newbie = srv
        .state
        .db
        .read(|c| kefu::db::users::by_username(c, "newbie"))
        .await
        .unwrap()
        .unwrap()
        .0;
    let agent = srv.login("newbie").await;
    assert_eq!(agent.get("/console").await.status(), StatusCode::OK);
    let path = format!("/admin/users/{}/status", newbie.id);
    let r = admin.post_form(&path, &[("status", "disabled")]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        agent.get("/console").await.status(),
        StatusCode::SEE_OTHER,
        "disabling ends the session"
    );
    let again = Browser::new(&srv);
    let r = again
        .post_form("/login", &[("username", "newbie"), ("password", PASSWORD)])
        .await;
    assert!(r.text().await.unwrap().contains("该账号已被禁用"));

    // Super admin: groups, deletion refused while members remain.
    let boss = srv.login("boss").await;
    let del_pre = format!("/admin/groups/{pre}/delete");
    let r = boss.post_form(&del_pre, &[]).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = boss.text("/admin/groups").await;
    assert!(page.contains("无法删除：该客服组还有 2 名成员"), "{page}");
    run(
        &boss,
        &[
            Case {
                name: "duplicate group ident",
                method: "POST",
                path: "/admin/groups",
                form: &[("name", "新组"), ("ident", "pre"), ("public_visible", "on")],
                status: 422,
                contains: &["组标识 pre 已被使用"],
                lacks: &[],
            },
            Case {
                name: "group without name",
                method: "POST",
                path: "/admin/groups",
                form: &[("ident", "x")],
                status: 422,
                contains: &["请填写组名称"],
                lacks: &[],
            },
            Case {
                name: "add group",
                method: "POST",
                path: "/admin/groups",
                form: &[
                    ("name", "投诉"),
                    ("ident", "complaints"),
                    ("phone", "400-800-1234"),
                    ("public_name", "投诉建议"),
                ],
                status: 303,
                contains: &[],
                lacks: &[],
            },
            Case {
                name: "group listed",
                method: "GET",
                path: "/admin/groups",
                form: &[],
                status: 200,
                contains: &["投诉建议", "complaints", "不显示"],
                lacks: &[],
            },
        ],
    )
    .await;
    let empty = srv.state.db.read(kefu::db::groups::list).await.unwrap();
    let complaints = empty
        .iter()
        .find(|g| g.group.ident == "complaints")
        .unwrap()
        .group
        .id;
    let r = boss
        .post_form(&format!("/admin/groups/{complaints}/delete"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = boss.text("/admin/groups").await;
    assert!(page.contains("客服组已删除") && !page.contains("complaints"));

    // Audit log: the changes above are there with who did them; an admin sees only their groups.
    let (_, log) = boss.text("/admin/audit?action=user_disable").await;
    assert!(
        log.contains("禁用用户") && log.contains("用户 newbie") && log.contains("lead"),
        "{log}"
    );
    let (_, log) = boss.text("/admin/audit?action=group_delete").await;
    assert!(log.contains("客服组 投诉"));
    let (_, log) = admin.text("/admin/audit").await;
    assert!(
        !log.contains("客服组 投诉"),
        "the admin does not see the super admin's actions"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn personal_centre_profile_and_password() {
    let srv = TestServer::start().await;
    let g = srv.group("售前", "pre").await;
    srv.user("amy", Role::Agent, &[g]).await;
    let b = srv.login("amy").await;
    let other_tab = srv.login("amy").await;
    let (status, page) = b.text("/console/me").await;
    assert_eq!(status, StatusCode::OK);
    assert!(page.contains("售前") && page.contains("普通客服") && page.contains("最近登录"));

    let r = b
        .post_form(
            "/console/me",
            &[
                ("display_name", "艾米"),
                ("real_name", "王艾米"),
                ("phone", "138 0000 0000"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, page) = b.text("/console/me").await;
    assert!(page.contains("value=\"王艾米\"") && page.contains("个人信息已保存"));
    let r = b
        .post_form("/console/me", &[("display_name", "艾米"), ("phone", "abc")])
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);

    let r = b
        .post_form(
            "/console/me/password",
            &[
                ("current", "nope-nope"),
                ("password", "new-password-2"),
                ("confirm", "new-password-2"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().await.unwrap().contains("当前密码不正确"));
    let r = b
        .post_form(
            "/console/me/password",
            &[
                ("current", PASSWORD),
                ("password", "new-password-2"),
                ("confirm", "new-password-2"),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        b.get("/console").await.status(),
        StatusCode::OK,
        "this session stays"
    );
    assert_eq!(
        other_tab.get("/console").await.status(),
        StatusCode::SEE_OTHER,
        "other sessions end"
    );
    let fresh = Browser::new(&srv);
    let r = fresh
        .post_form(
            "/login",
            &[("username", "amy"), ("password", "new-password-2")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_is_refused_cleanly() {
    let srv = TestServer::start().await;
    srv.user("boss", Role::SuperAdmin, &[]).await;
    let b = srv.login("boss").await;
    let token = b.csrf().await;
    let big = "x".repeat(2 * 1024 * 1024);
    let sent = b
        .client
        .post(srv.at("/console/me"))
        .header("X-CSRF-Token", &token)
        .form(&[("display_name", big.as_str())])
        .send()
        .await;
    // The server answers 413 as soon as the body passes the limit and closes
    // the connection; the client may still be writing and see the reset instead.
    match sent {
        Ok(r) => assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE),
        Err(e) => assert!(e.is_request() || e.is_body(), "{e:?}"),
    }
    // The pooled connection the server closed may be tried once more and
    // fail; that request is thrown away, the next one opens a new connection.
    let _ = b.client.get(srv.at("/healthz")).send().await;
    let (_, me) = b.text("/console/me").await;
    assert!(
        !me.contains("xxxxxxxxxx"),
        "nothing of the oversized form was saved"
    );
    let r = b
        .client
        .post(srv.at("/admin/groups"))
        .header("X-CSRF-Token", &token)
        .header("Content-Type", "application/json")
        .body("{\"name\": 1}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::BAD_REQUEST);
    assert!(r.text().await.unwrap().contains("表单内容无效"));
    assert_eq!(
        b.get("/admin/users/999999").await.status(),
        StatusCode::NOT_FOUND
    );
    let r = b.get("/admin/users/abc").await;
    assert_eq!(
        r.status(),
        StatusCode::NOT_FOUND,
        "a non-numeric id is simply not found"
    );
    assert!(
        r.text().await.unwrap().contains("页面不存在"),
        "in Chinese, inside the shell"
    );
    let r = b.get("/admin/users?role=admin&role=agent&status=%ZZ").await;
    assert!(r.status() == StatusCode::OK || r.status() == StatusCode::BAD_REQUEST);
    assert!(
        !r.text().await.unwrap().contains("Failed to deserialize"),
        "no parser English shown"
    );
    assert_eq!(b.get("/no/such/page").await.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        b.get("/healthz").await.status(),
        StatusCode::OK,
        "server unaffected"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn assets_are_embedded_hashed_and_immutable() {
    let srv = TestServer::start().await;
    srv.user("boss", Role::SuperAdmin, &[]).await;
    let b = Browser::new(&srv);
    let (_, page) = b.text("/login").await;
    assert!(extract_csrf(&page).is_some_and(|t| t.len() == 43));
    for (name, mime) in [
        ("app.css", "text/css"),
        ("htmx.min.js", "javascript"),
        ("sse.min.js", "javascript"),
        ("icon.svg", "image/svg+xml"),
    ] {
        let start = page
            .find(&format!("/{name}"))
            .map(|i| page[..i].rfind("/assets/").unwrap());
        let url = match start {
            Some(s) => page[s..].split('"').next().unwrap().to_string(),
            None => kefu::web::assets::url(name),
        };
        let r = b.get(&url).await;
        assert_eq!(r.status(), StatusCode::OK, "{url}");
        assert!(
            r.headers()["content-type"].to_str().unwrap().contains(mime),
            "{url}"
        );
        assert!(
            r.headers()["cache-control"]
                .to_str()
                .unwrap()
                .contains("immutable"),
            "{url}"
        );
        assert!(!r.bytes().await.unwrap().is_empty());
    }
    let stale = b.get("/assets/000000000000/app.css").await;
    assert_eq!(stale.status(), StatusCode::OK);
    assert_eq!(stale.headers()["cache-control"], "no-cache");
    assert_eq!(
        b.get("/assets/x/../../etc/passwd").await.status(),
        StatusCode::NOT_FOUND
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_groups_can_be_ticked_at_once() {
    let srv = TestServer::start().await;
    let pre = srv.group("售前", "pre").await;
    let post = srv.group("售后", "post").await;
    let vip = srv.group("大客户", "vip").await;
    srv.user("boss", Role::SuperAdmin, &[]).await;
    let b = srv.login("boss").await;
    let (p, q, v) = (pre.to_string(), post.to_string(), vip.to_string());
    let r = b
        .post_form(
            "/admin/users",
            &[
                ("username", "duo"),
                ("role", "agent"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
                ("groups", &p),
                ("groups", &q),
            ],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "two groups accepted");
    let duo = srv
        .state
        .db
        .read(|c| kefu::db::users::by_username(c, "duo"))
        .await
        .unwrap()
        .unwrap()
        .0
        .id;
    let groups = |srv: &TestServer| {
        let db = srv.state.db.clone();
        async move {
            db.read(move |c| kefu::db::users::groups_of(c, duo))
                .await
                .unwrap()
                .into_iter()
                .map(|g| g.id)
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(groups(&srv).await, vec![pre, post]);
    let r = b
        .post_form(
            &format!("/admin/users/{duo}/groups"),
            &[("groups", &q), ("groups", &v)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    assert_eq!(groups(&srv).await, vec![post, vip]);
    // No group at all is allowed, and said: they will serve no one.
    let r = b
        .post_form(&format!("/admin/users/{duo}/groups"), &[])
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let to = r.headers()["location"].to_str().unwrap().to_string();
    assert!(b.text(&to).await.1.contains("不在任何客服组"), "warned");
    assert!(groups(&srv).await.is_empty());
    let r = b
        .post_form(
            &format!("/admin/users/{duo}/groups"),
            &[("groups", &q), ("groups", &v)],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, log) = b.text("/admin/audit?action=user_groups").await;
    assert!(
        log.contains("售后") && log.contains("大客户"),
        "group names, not ids, in the audit log: {log}"
    );
    let r = b
        .post_form(&format!("/admin/users/{duo}/groups"), &[("groups", "x")])
        .await;
    assert_eq!(
        r.status(),
        StatusCode::BAD_REQUEST,
        "garbage is refused, not ignored"
    );
    srv.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_see_only_what_they_may_change() {
    let srv = TestServer::start().await;
    let g = srv.group("售前", "pre").await;
    let boss = srv.user("boss", Role::SuperAdmin, &[g]).await;
    let lead = srv.user("lead", Role::Admin, &[g]).await;
    let amy = srv.user("amy", Role::Agent, &[g]).await;
    let b = srv.login("boss").await;
    // The super admin acts in the shared group; the admin must not see it.
    let r = b
        .post_form(
            &format!("/admin/users/{amy}"),
            &[("display_name", "艾米"), ("role", "agent")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let r = b
        .post_form(
            &format!("/admin/users/{boss}/password"),
            &[
                ("password", "new-password-9"),
                ("confirm", "new-password-9"),
            ],
        )
        .await;
    assert_eq!(
        r.status(),
        StatusCode::UNPROCESSABLE_ENTITY,
        "own password only in the personal centre"
    );
    assert!(
        r.text()
            .await
            .unwrap()
            .contains("请在个人中心修改自己的密码")
    );

    // The super admin can open their own row (their groups are set there).
    let (_, list) = b.text("/admin/users").await;
    assert!(
        list.contains(&format!("/admin/users/{boss}\"")) && list.contains("/console/me"),
        "own row → personal centre and the editor"
    );
    let a = srv.login("lead").await;
    let (_, list) = a.text("/admin/users").await;
    assert!(
        list.contains(&format!("/admin/users/{amy}\"")),
        "agents are editable"
    );
    assert!(
        !list.contains(&format!("/admin/users/{boss}\"")),
        "the super admin's row has no edit link"
    );
    assert!(
        !list.contains(&format!("/admin/users/{lead}\"")) && list.contains("/console/me"),
        "own row → personal centre"
    );
    let (_, log) = a.text("/admin/audit").await;
    assert!(
        !log.contains("boss"),
        "the admin does not see the super admin's actions: {log}"
    );
    let r = a
        .post_form(
            &format!("/admin/users/{amy}/status"),
            &[("status", "disabled")],
        )
        .await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (_, log) = b.text("/admin/audit?action=user_disable").await;
    assert!(log.contains("lead") && log.contains("用户 amy"));
    srv.stop().await;
}

// ---- issue 13: fixes ----

/// Issue 13, bug 9: the super admin was created from the shell (`kefu user
/// add`) while the server runs — the server's memory still says "nobody
/// yet", but /setup must not offer the form again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn setup_is_closed_once_the_shell_created_a_user() {
    let srv = TestServer::start().await;
    assert!(!srv.state.is_set_up(), "a fresh server waits for setup");
    // What `kefu user add` does: a row in the database, nothing in this process.
    let input = kefu::team::NewUserInput {
        username: "boss".into(),
        display_name: "老板".into(),
        role: Some(Role::SuperAdmin),
        password: PASSWORD.into(),
        confirm: PASSWORD.into(),
        ..Default::default()
    };
    kefu::team::create_user(
        &srv.state.db,
        &srv.state.clock,
        &kefu::team::Acting::shell(),
        input,
    )
    .await
    .unwrap();
    let b = Browser::new(&srv);
    run(
        &b,
        &[
            Case {
                name: "setup page leads to login",
                method: "GET",
                path: "/setup",
                form: &[],
                status: 303,
                contains: &["/login"],
                lacks: &["确认密码"],
            },
            Case {
                name: "setup cannot be posted either",
                method: "POST",
                path: "/setup",
                form: &[
                    ("code", "WHATEVER"),
                    ("username", "evil"),
                    ("display_name", "x"),
                    ("password", PASSWORD),
                    ("confirm", PASSWORD),
                ],
                status: 403,
                contains: &[],
                lacks: &[],
            },
        ],
    )
    .await;
    let r = b
        .post_form("/login", &[("username", "boss"), ("password", PASSWORD)])
        .await;
    assert_eq!(
        r.status(),
        StatusCode::SEE_OTHER,
        "the shell's user logs in"
    );
    srv.stop().await;
}

/// Issue 13: every page of 设置 and 管理 for an English-speaking super admin,
/// with ASCII data, holds no Chinese; the same pages in zh-CN still do.
#[tokio::test]
async fn team_and_settings_pages_draw_in_english() {
    use kefu::team::{self, Acting, NewUserInput};
    let server = TestServer::start().await;
    let (db, clock) = (&server.state.db, &server.state.clock);
    team::setup(
        db,
        clock,
        NewUserInput {
            username: "root".into(),
            display_name: "Root".into(),
            password: PASSWORD.into(),
            confirm: PASSWORD.into(),
            ..Default::default()
        },
        "127.0.0.1",
    )
    .await
    .unwrap();
    server.state.mark_set_up();
    let group = team::create_group(
        db,
        clock,
        &Acting::shell(),
        kefu::db::groups::GroupFields {
            name: "Sales".into(),
            ident: "sales".into(),
            phone: String::new(),
            public_name: "Sales team".into(),
            public_visible: true,
        },
    )
    .await
    .unwrap();
    let account = kefu::channel::create(
        db,
        clock,
        &Acting::shell(),
        kefu::db::accounts::AccountFields {
            name: "Shop".into(),
            app_id: common::APPID.into(),
            app_secret: common::SECRET.into(),
            token: common::WX_TOKEN.into(),
            aes_key: common::AES_KEY.into(),
            mode: "safe".into(),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let now = clock.now();
    let follower = db
        .write(move |c| kefu::db::followers::upsert(c, account, "oAsciiFollower0001", now))
        .await
        .unwrap();

    let admin = server.login("root").await;
    let resp = admin
        .post_form("/console/me/locale", &[("locale", "en")])
        .await;
    assert!(resp.status().is_redirection(), "{}", resp.status());
    let g = group.to_string();
    let resp = admin
        .post_form(
            "/admin/users",
            &[
                ("role", "agent"),
                ("username", "amy"),
                ("display_name", "Amy"),
                ("password", PASSWORD),
                ("confirm", PASSWORD),
                ("groups", g.as_str()),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let resp = admin
        .post_form(
            &format!("/admin/followers/{follower}/remark"),
            &[("remark", "Alice")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let a = account.to_string();
    let resp = admin
        .post_form(
            "/admin/notify",
            &[
                ("account", a.as_str()),
                ("template_id", "TPL1"),
                ("fields", "first = {type}\nkeyword1 = {customer}"),
                ("every_mins", "5"),
            ],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    // The default trigger keywords are what Chinese followers type: data.
    let resp = admin
        .post_form(
            &format!("/admin/accounts/{account}/trigger"),
            &[("trigger_mode", "any"), ("keywords", "help, agent")],
        )
        .await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    let amy = server
        .state
        .db
        .read(|c| kefu::db::users::by_username(c, "amy"))
        .await
        .unwrap()
        .unwrap()
        .0
        .id;

    let pages = [
        ("/admin/users".to_string(), "Add user"),
        ("/admin/users/new".into(), "Initial password"),
        (format!("/admin/users/{amy}"), "Reset password"),
        ("/admin/groups".into(), "Name shown to followers"),
        (format!("/admin/groups/{group}"), "Routing settings"),
        ("/admin/accounts".into(), "Connect an official account"),
        (format!("/admin/accounts/{account}"), "Conversation trigger"),
        ("/admin/menu".into(), "Custom menu of Shop"),
        ("/admin/timeplan".into(), "Mon"),
        ("/admin/notify".into(), "WeChat notifications of Shop"),
        ("/admin/followers".into(), "WeChat tags"),
        ("/admin/followers/progress".into(), ""),
        ("/admin/audit".into(), "Role: Agent"),
        ("/admin/simulator".into(), "Create a simulated account"),
        ("/admin/simulator/chat".into(), ""),
        ("/admin/reports/workload?idle=1".into(), "Followers served"),
        ("/admin/reports/categories".into(), "Categories"),
        ("/admin/reports/hourly".into(), "Followers asking"),
        ("/admin/reports/quality".into(), "Agent status (all day)"),
        ("/admin/reports/service".into(), "Service level (agents)"),
        (
            "/admin/reports/workload?from=2026-13-01".into(),
            "Invalid date",
        ),
    ];
    let english = |path: String, wanted: &'static str| {
        let admin = &admin;
        async move {
            let (status, body) = admin.text(&path).await;
            assert!(
                status.is_success() || (path.contains("2026-13") && status == 400),
                "{path}: {status}"
            );
            assert!(body.contains(wanted), "{path} lacks {wanted:?}:\n{body}");
            let chinese = common::chinese_in(&body);
            assert!(
                chinese.is_empty(),
                "{path} shows Chinese in English:\n{}",
                chinese.join("\n")
            );
        }
    };
    for (path, wanted) in pages {
        english(path, wanted).await;
    }
    // The simulator with its simulated account, and a refusal in English.
    let resp = admin.post_form("/admin/simulator/account", &[]).await;
    assert_eq!(resp.status(), StatusCode::SEE_OTHER);
    english("/admin/simulator".into(), "Simulated account").await;
    let resp = admin
        .post_form("/admin/groups", &[("name", "Sales"), ("ident", "sales2")])
        .await;
    assert_eq!(resp.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body = resp.text().await.unwrap();
    assert!(
        body.contains("The group name Sales is already in use"),
        "{body}"
    );
    assert!(common::chinese_in(&body).is_empty(), "{body}");

    // The same pages in Chinese.
    let resp = admin
        .post_form("/console/me/locale", &[("locale", "zh-CN")])
        .await;
    assert!(resp.status().is_redirection());
    for (path, wanted) in [
        ("/admin/users".to_string(), "添加用户"),
        ("/admin/groups".into(), "对粉丝显示的组名"),
        (format!("/admin/groups/{group}"), "接待设置"),
        (format!("/admin/accounts/{account}"), "会话触发方式"),
        ("/admin/menu".into(), "Shop 的自定义菜单"),
        ("/admin/timeplan".into(), "周一"),
        ("/admin/notify".into(), "Shop 的微信消息提醒"),
        ("/admin/followers".into(), "微信标签"),
        ("/admin/audit".into(), "角色：普通客服"),
        ("/admin/simulator".into(), "模拟粉丝"),
        ("/admin/reports/workload?idle=1".into(), "个人接待人数"),
        ("/admin/reports/hourly".into(), "咨询人数"),
        ("/admin/reports/quality".into(), "客服状态（全天）"),
        ("/admin/reports/service".into(), "服务水平（客服组）"),
    ] {
        let (status, body) = admin.text(&path).await;
        assert!(status.is_success(), "{path}: {status}");
        assert!(body.contains(wanted), "{path} lacks {wanted:?}:\n{body}");
    }
    // A workbook follows the page's language, its file name too.
    let resp = admin.get("/admin/reports/workload?format=xlsx").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    // 工作量统计_….xlsx
    assert!(
        disposition.contains("''%E5%B7%A5%E4%BD%9C"),
        "{disposition}"
    );
    let resp = admin
        .post_form("/console/me/locale", &[("locale", "en")])
        .await;
    assert!(resp.status().is_redirection());
    let resp = admin.get("/admin/reports/workload?format=xlsx").await;
    assert_eq!(resp.status(), StatusCode::OK);
    let disposition = resp.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(
        disposition.contains("filename=\"report.xlsx\"")
            && disposition.contains("UTF-8''workload_"),
        "{disposition}"
    );
    server.stop().await;
}
