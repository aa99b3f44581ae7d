//! The loop that makes the product real: a certificate issued in the browser logs that browser
//! in; revocation, unlock by a master user, and revocation by bank staff through the screens.

use e2e::{Fixture, ids, steps};
use serde_json::json;

#[tokio::test]
async fn issued_certificate_logs_the_browser_in_and_revocation_shows_its_message() -> anyhow::Result<()> {
    let mut f = Fixture::start().await?;
    f.admin(
        &[
            "create-org",
            "--name",
            "テスト株式会社",
            "--master-id",
            "master01",
            "--email",
            "m@example.co.jp",
            "--password-stdin",
        ],
        Some("Init1234\n"),
    )?;
    steps::register_master(&f, "master01", "Init1234", "Sekret927").await?;
    let p12 = steps::issue_in_wizard(&f, "master01", "Sekret927").await?;
    // Without the certificate imported, the login screen says a certificate is needed.
    f.goto("/login").await?;
    f.type_into(ids::LOGIN_USER_ID, "master01").await?;
    f.type_into(ids::LOGIN_PASSWORD, "Sekret927").await?;
    f.click(ids::LOGIN_SUBMIT).await?;
    f.wait_text(ids::ERROR_MESSAGE, "電子証明書が提示されていません").await?;
    f.find(ids::LOGIN_REISSUE_LINK).await?;

    // Import the downloaded file, restart the browser as the manual says, and log in.
    f.import_into_browser(&p12, "Sekret927")?;
    f.restart_browser().await?;
    steps::login(&f, "master01", "Sekret927").await?;
    f.wait_text(ids::HOME_USER_ID, "master01").await?;
    f.wait_text(ids::HOME_ORGANIZATION, "テスト株式会社").await?;
    f.wait_text(ids::HOME_CERT_NOT_AFTER, "年").await?;
    f.wait_text(ids::HOME_CERT_DAYS_LEFT, "36").await?;
    f.wait_text(ids::HOME_ACTIVITY, "電子証明書の発行").await?;
    f.screenshot("home").await?;

    // Issue 29 §4: after a failed attempt and a second login, ホーム shows both, with what to do.
    f.api()?
        .post(format!("{}/api/issuance/authenticate", f.base))
        .json(&json!({"user_id": "master01", "password": "Wrong1234"}))
        .send()
        .await?;
    steps::login(&f, "master01", "Sekret927").await?;
    f.wait_text(ids::HOME_ACTIVITY, "前回ログイン").await?;
    f.wait_text(ids::HOME_ACTIVITY, "前回ログイン以降のパスワードの誤り").await?;
    f.wait_text(ids::HOME_ACTIVITY, "労金へご連絡ください").await?;
    f.screenshot("home-activity").await?;

    // The master creates a general user, who then locks themself out; the master unlocks them.
    f.type_into(ids::MASTER_NEW_USER_ID, "general01").await?;
    f.type_into(ids::MASTER_NEW_EMAIL, "g@example.co.jp").await?;
    f.click(ids::MASTER_CREATE_USER).await?;
    let initial = f.find(ids::CREATED_INITIAL_PASSWORD).await?.text().await?;
    let initial: String = initial.chars().filter(char::is_ascii_alphanumeric).collect();
    anyhow::ensure!(initial.len() >= 12, "initial password shown: {initial:?}");
    let api = f.api()?;
    for _ in 0..6 {
        api.post(format!("{}/api/issuance/authenticate", f.base))
            .json(&json!({"user_id": "general01", "password": "Wrong1234"}))
            .send()
            .await?;
    }
    f.goto("/home").await?;
    let row = format!("{}general01", ids::USER_ROW_PREFIX);
    f.wait_text(&row, "ロック").await?;
    f.screenshot("master-locked-user").await?;
    f.click(&format!("{}general01", ids::UNLOCK_PREFIX)).await?;
    f.wait_text(&row, "初期パスワード").await?;
    let r = api
        .post(format!("{}/api/issuance/authenticate", f.base))
        .json(&json!({"user_id": "general01", "password": initial}))
        .send()
        .await?;
    anyhow::ensure!(
        r.status() == 428,
        "after the unlock the initial password works (and must be changed): {}",
        r.status()
    );

    // The bank revokes the certificate (PC change); the next login shows why it fails.
    f.admin(&["revoke", "--user-id", "master01", "--reason", "superseded"], None)?;
    f.restart_browser().await?;
    f.goto("/login").await?;
    f.type_into(ids::LOGIN_USER_ID, "master01").await?;
    f.type_into(ids::LOGIN_PASSWORD, "Sekret927").await?;
    f.click(ids::LOGIN_SUBMIT).await?;
    f.wait_text(ids::ERROR_MESSAGE, "失効").await?;
    f.find(ids::LOGIN_REISSUE_LINK).await?;
    f.screenshot("login-revoked").await?;
    f.close().await
}

#[tokio::test]
async fn bank_staff_revoke_through_the_admin_screen() -> anyhow::Result<()> {
    let mut f = Fixture::start().await?;
    f.admin(
        &["create-staff", "--id", "staff001", "--email", "s@rokin.example.jp", "--password-stdin"],
        Some("Init1234\n"),
    )?;
    f.admin(
        &[
            "create-org",
            "--name",
            "顧客株式会社",
            "--master-id",
            "master02",
            "--email",
            "m@example.co.jp",
            "--password-stdin",
        ],
        Some("Init1234\n"),
    )?;
    for id in ["staff001", "master02"] {
        steps::change_password_by_api(&f, id, "Init1234", "Sekret927").await?;
    }
    // The customer's certificate, issued through the API.
    let (serial, _) = steps::issue_by_api(&f, "master02", "Sekret927").await?;

    // Staff get their own certificate in the wizard and log in with it.
    let p12 = steps::issue_in_wizard(&f, "staff001", "Sekret927").await?;
    f.import_into_browser(&p12, "Sekret927")?;
    f.restart_browser().await?;
    steps::login(&f, "staff001", "Sekret927").await?;
    f.click(ids::HOME_ADMIN_LINK).await?;
    f.wait_path("/admin").await?;
    f.click(ids::ADMIN_TAB_CERTIFICATES).await?;
    f.type_into(ids::ADMIN_CERT_SEARCH, "master02").await?;
    f.click(ids::ADMIN_CERT_SEARCH_SUBMIT).await?;
    f.wait_text(ids::ADMIN_CERT_TABLE, &serial).await?;
    f.click(&format!("{}{}", ids::REVOKE_PREFIX, serial)).await?;
    f.find(ids::REVOKE_REASON).await?;
    f.screenshot("admin-revoke").await?;
    f.click(ids::REVOKE_CONFIRM).await?;
    // Revoked: the row loses its 失効 button and says so.
    f.wait_gone(&format!("{}{}", ids::REVOKE_PREFIX, serial)).await?;
    f.wait_text(ids::ADMIN_CERT_TABLE, "失効").await?;
    // The audit log shows it.
    f.click(ids::ADMIN_TAB_AUDIT).await?;
    f.wait_text(ids::ADMIN_AUDIT_TABLE, "certificate_revoked").await?;
    // The admin screen is a bundle of its own (dist/admin/): its page, not the company one's;
    // its link back home loads the company bundle again.
    let title = f.client.title().await?;
    anyhow::ensure!(title.starts_with("労金スタッフ管理画面"), "the staff page was not loaded: {title}");
    f.client.find(fantoccini::Locator::LinkText("ホームへ戻る")).await?.click().await?;
    f.wait_path("/home").await?;
    f.find(ids::HOME_ADMIN_LINK).await?;
    let title = f.client.title().await?;
    anyhow::ensure!(!title.starts_with("労金スタッフ管理画面"), "still the staff page: {title}");
    let crl = f.api()?.get(format!("{}/api/crl", f.base)).send().await?;
    anyhow::ensure!(crl.status() == 200);
    f.close().await
}
