//! Signing in and out, role-dependent pages, and user administration in headless Chromium.

use e2e::api::ADMIN_PASSWORD;
use e2e::portal::Portal;
use e2e::webdriver::Browser;

#[tokio::test]
async fn a_wrong_password_shows_a_message_then_signing_in_and_out_works() {
    let portal = Portal::start().await;
    let browser = Browser::start().await;
    // An anonymous visit lands on the login page, remembering where it wanted to go.
    browser.goto(&portal.url("/settings/teams")).await;
    let landed = browser.current_url().await;
    // The sign-in card has the page to itself: centred, its title on one line.
    let layout = browser
        .execute(
            "const c = document.querySelector('.login-card').getBoundingClientRect(); \
             const h = document.querySelector('.login-card h1'); \
             const line = parseFloat(getComputedStyle(h).lineHeight) || 40; \
             return [c.left + c.width / 2, window.innerWidth / 2, h.getBoundingClientRect().height, line, c.width];",
            vec![],
        )
        .await;
    let v: Vec<f64> = layout
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect();
    assert!((v[0] - v[1]).abs() < 2.0, "the card is centred: {layout}");
    assert!(v[2] < v[3] * 1.5, "\"Sign in\" stays on one line: {layout}");
    assert!(v[4] >= 300.0, "the card is not squeezed: {layout}");

    let field = browser.find("#login").await;
    browser.type_text(&field, "admin").await;
    let field = browser.find("#password").await;
    browser.type_text(&field, "definitely-wrong-pw").await;
    browser
        .click(&browser.find("#login-form button[type=submit]").await)
        .await;
    let message = browser.text(&browser.find("#login-error").await).await;

    let field = browser.find("#password").await;
    browser.type_text(&field, ADMIN_PASSWORD).await;
    browser
        .click(&browser.find("#login-form button[type=submit]").await)
        .await;
    // The signed-in page's header (not the login page's) shows who is signed in; only then
    // has the POST's redirect landed.
    let who = browser.text(&browser.find(".whoami-login").await).await;
    browser.wait_hydrated().await;
    let after_login = browser.current_url().await;

    browser.click(&browser.find("#logout").await).await;
    browser.find("#login-form").await;
    let after_logout = browser.current_url().await;
    // The old session is gone: a protected page sends us back to the login.
    browser.goto(&portal.url("/dashboards")).await;
    let after_revisit = browser.current_url().await;
    let errors = browser.console_errors().await;
    browser.close().await;

    assert!(landed.ends_with("/login?next=/settings/teams"), "{landed}");
    assert_eq!(message, "Wrong login or password.");
    assert!(after_login.ends_with("/settings/teams"), "{after_login}");
    assert_eq!(who, "admin");
    assert!(after_logout.ends_with("/login"), "{after_logout}");
    assert!(
        after_revisit.contains("/login?next=/dashboards"),
        "{after_revisit}"
    );
    // The failed attempt's 401-free redirect leaves no console error.
    assert!(errors.is_empty(), "console errors: {errors:?}");
}

#[tokio::test]
async fn a_viewer_sees_no_edit_controls_and_a_forced_change_is_refused() {
    let portal = Portal::start().await;
    portal.user_with_role("val", "Viewer").await;
    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "val", "val-password-long")
        .await;
    browser.goto(&portal.url("/settings/users")).await;
    browser.wait_hydrated().await;
    // The list loads for viewers…
    browser.find("#users-table tr[data-login='admin']").await;
    let create_form = browser.try_find("#create-user").await;
    let role_select = browser.try_find(".role-select").await;
    let delete = browser.try_find(".delete-user").await;
    browser.goto(&portal.url("/settings/teams")).await;
    browser.wait_hydrated().await;
    let team_form = browser.try_find("#create-team").await;
    let audit_link = browser.try_find(".sidebar a[href='/settings/audit']").await;

    // …and a change forced from the page, with the session's CSRF token, is refused.
    let forced = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             const s = JSON.parse(document.getElementById('keiko-session').textContent);
             fetch('/api/v1/users', { method: 'POST',
                 headers: { 'content-type': 'application/json', 'x-csrf-token': s.csrf_token },
                 body: JSON.stringify({ login: 'mallory', password: 'mallory-password', role: 'Admin' }) })
               .then(r => r.json().then(b => done({ status: r.status, body: b })));",
            vec![],
        )
        .await;
    browser.close().await;

    assert!(
        create_form.is_none(),
        "a viewer must not see the create-user form"
    );
    assert!(
        role_select.is_none() && delete.is_none(),
        "a viewer must not see edit controls"
    );
    assert!(team_form.is_none());
    assert!(audit_link.is_none(), "the audit log is for admins");
    assert_eq!(forced["status"], 403, "{forced}");
    assert_eq!(forced["body"]["error"]["code"], "forbidden");
    let (s, users) = portal.admin().get("/api/v1/users").await;
    assert_eq!(s, 200, "{users}");
    let mut logins: Vec<&str> = users
        .as_array()
        .unwrap_or_else(|| panic!("a list of users: {users}"))
        .iter()
        .map(|u| u["login"].as_str().unwrap())
        .collect();
    logins.sort();
    assert_eq!(logins, ["admin", "val"], "no user was created");
}

#[tokio::test]
async fn an_admin_creates_a_user_in_the_ui_who_can_then_sign_in() {
    let portal = Portal::start().await;
    let browser = Browser::start().await;
    browser
        .sign_in(&portal.url(""), "admin", ADMIN_PASSWORD)
        .await;
    browser.goto(&portal.url("/settings/users")).await;
    browser.wait_hydrated().await;
    browser.find("#users-table tr[data-login='admin']").await;

    // First a password that is too short: the message appears beside the field.
    browser
        .type_text(&browser.find("#new-login").await, "frank")
        .await;
    browser
        .type_text(&browser.find("#new-password").await, "short")
        .await;
    browser
        .click(&browser.find("#create-user button[type=submit]").await)
        .await;
    let short = browser
        .text(
            &browser
                .find("#create-user .field-error[data-field='password']")
                .await,
        )
        .await;

    browser
        .type_text(&browser.find("#new-password").await, "-but-now-long-enough")
        .await;
    browser
        .execute(
            "const s = document.getElementById('new-role'); s.value = 'Editor'; s.dispatchEvent(new Event('change'));",
            vec![],
        )
        .await;
    browser
        .click(&browser.find("#create-user button[type=submit]").await)
        .await;
    let row = browser.find("#users-table tr[data-login='frank']").await;
    let row_text = browser.text(&row).await;
    let errors = browser.console_errors().await;
    browser.close().await;

    let second = Browser::start().await;
    second
        .sign_in(&portal.url(""), "frank", "short-but-now-long-enough")
        .await;
    let who = second.text(&second.find(".whoami-login").await).await;
    let role = second.text(&second.find(".role-badge").await).await;
    second.close().await;

    assert_eq!(short, "must be at least 12 characters");
    assert!(row_text.contains("frank"), "{row_text}");
    assert!(
        errors.iter().all(|e| e.contains("400")),
        "only the refused create may log: {errors:?}"
    );
    assert_eq!(who, "frank");
    assert_eq!(role, "Editor");
    let (_, audit) = portal.admin().get("/api/v1/audit?action=user.create").await;
    assert_eq!(audit[0]["after"]["login"], "frank");
}
