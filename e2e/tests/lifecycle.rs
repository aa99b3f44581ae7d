//! The account lifecycle through the screens (issue 28): a master user resets a general user's
//! password; the general user sets a new one with the one-time password and issues a
//! certificate; the master retires the user, whose certificate is then refused at login as
//! revoked. Staff suspend a company, whose master is told why; staff change a company's master
//! user (a new account, then a general user, changing their address on the way) and print the
//! letter.

use std::process::{Command, Stdio};

use e2e::{Fixture, ids, run, steps};

#[tokio::test]
async fn a_master_resets_a_password_then_retires_the_user() -> anyhow::Result<()> {
    let mut f = Fixture::start().await?;
    f.admin(
        &[
            "create-org",
            "--name",
            "更新株式会社",
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
    f.import_into_browser(&p12, "Sekret927")?;
    f.restart_browser().await?;
    steps::login(&f, "master01", "Sekret927").await?;

    // The master registers a general user, who forgets the password: パスワード再設定.
    f.type_into(ids::MASTER_NEW_USER_ID, "general01").await?;
    f.type_into(ids::MASTER_NEW_EMAIL, "g@example.co.jp").await?;
    f.click(ids::MASTER_CREATE_USER).await?;
    f.find(ids::CREATED_INITIAL_PASSWORD).await?;
    f.goto("/home").await?;
    f.click(&format!("{}general01", ids::RESET_PREFIX)).await?;
    // The browser's own confirmation; the new password shows where a new user's would.
    f.client.accept_alert().await?;
    let initial = f.find(ids::CREATED_INITIAL_PASSWORD).await?.text().await?;
    let initial: String = initial.chars().filter(char::is_ascii_alphanumeric).collect();
    anyhow::ensure!(initial.len() == 12, "the new initial password shown: {initial:?}");
    f.note_secret(&initial);
    f.screenshot("master-reset-password").await?;
    f.axe("home: the new initial password after a reset").await?;

    // The general user: the one-time password at ④, a new password, a certificate.
    f.goto("/issuance/auth").await?;
    f.type_into(ids::AUTH_USER_ID, "general01").await?;
    f.type_into(ids::AUTH_PASSWORD, &initial).await?;
    f.click(ids::AUTH_SUBMIT).await?;
    f.type_into(ids::AUTH_NEW_PASSWORD, "Fresh2345").await?;
    f.type_into(ids::AUTH_NEW_PASSWORD_CONFIRM, "Fresh2345").await?;
    f.note_secret("Fresh2345");
    f.click(ids::AUTH_CHANGE_SUBMIT).await?;
    f.wait_path("/issuance/confirm").await?;
    f.click(ids::ISSUE_SUBMIT).await?;
    f.wait_text(ids::RESULT_FILENAME, ".p12").await?;
    let general_p12 = f.wait_download(|n| n.starts_with("general01") && n.ends_with(".p12")).await?;

    // The master retires the user (利用停止).
    f.goto("/home").await?;
    let row = format!("{}general01", ids::USER_ROW_PREFIX);
    f.wait_text(&row, "有効").await?;
    f.click(&format!("{}general01", ids::RETIRE_PREFIX)).await?;
    // The browser's own confirmation.
    f.client.accept_alert().await?;
    f.wait_text(&row, "利用停止").await?;
    f.axe("home: a retired user").await?;
    f.screenshot("master-retired-user").await?;

    // In the general user's browser (their certificate only), the login says it is revoked.
    let nss = format!("sql:{}", f.home.join(".pki/nssdb").display());
    // The master's certificate out (the one with a key: trust u,u,u), the general user's in.
    let listed = run(Command::new("certutil").args(["-L", "-d", &nss]).stdin(Stdio::null()))?;
    for line in listed.lines().filter(|l| l.trim_end().ends_with("u,u,u")) {
        let nickname = line.trim_end().trim_end_matches("u,u,u").trim_end();
        run(Command::new("certutil").args(["-D", "-d", &nss, "-n", nickname]).stdin(Stdio::null()))?;
    }
    f.import_into_browser(&general_p12, "Fresh2345")?;
    f.restart_browser().await?;
    f.goto("/login").await?;
    f.type_into(ids::LOGIN_USER_ID, "general01").await?;
    f.type_into(ids::LOGIN_PASSWORD, "Fresh2345").await?;
    f.click(ids::LOGIN_SUBMIT).await?;
    f.wait_text(ids::ERROR_MESSAGE, "失効").await?;
    f.close().await
}

#[tokio::test]
async fn staff_suspend_a_company_and_its_user_is_told_why() -> anyhow::Result<()> {
    let mut f = Fixture::start().await?;
    steps::staff_logs_in(&mut f).await?;
    let out = f.admin(
        &[
            "create-org",
            "--name",
            "停止株式会社",
            "--master-id",
            "master02",
            "--email",
            "m@example.co.jp",
            "--password-stdin",
        ],
        Some("Init1234\n"),
    )?;
    let id: String = out
        .lines()
        .find_map(|l| l.split_once("(id ").map(|(_, rest)| rest.trim_end_matches(')').to_owned()))
        .ok_or_else(|| anyhow::anyhow!("no company id in {out}"))?;
    steps::change_password_by_api(&f, "master02", "Init1234", "Sekret927").await?;

    // The company page: 会社の利用を停止, confirmed in the browser's own dialog.
    f.goto(&format!("/admin/organizations/{id}")).await?;
    f.wait_text(ids::ORG_DETAIL, "利用中").await?;
    f.click(ids::ORG_SUSPEND).await?;
    f.client.accept_alert().await?;
    f.wait_text(ids::ORG_DETAIL, "利用停止中").await?;
    f.find(ids::ORG_RESUME).await?;
    f.screenshot("admin-company-suspended").await?;

    // Its master user, at ④ with the right password, is told why.
    f.goto("/issuance/auth").await?;
    f.type_into(ids::AUTH_USER_ID, "master02").await?;
    f.type_into(ids::AUTH_PASSWORD, "Sekret927").await?;
    f.click(ids::AUTH_SUBMIT).await?;
    f.wait_text(ids::ERROR_MESSAGE, "利用を停止").await?;
    f.close().await
}

#[tokio::test]
async fn staff_change_the_master_and_print_the_letter() -> anyhow::Result<()> {
    let mut f = Fixture::start().await?;
    steps::staff_logs_in(&mut f).await?;
    let out = f.admin(
        &["create-org", "--name", "変更株式会社", "--master-id", "master03", "--email", "m3@example.co.jp"],
        None,
    )?;
    let id: String = out
        .lines()
        .find_map(|l| l.split_once("(id ").map(|(_, rest)| rest.trim_end_matches(')').to_owned()))
        .ok_or_else(|| anyhow::anyhow!("no company id in {out}"))?;

    // The company page: a new account as its master user; the letter with its one-time password.
    f.goto(&format!("/admin/organizations/{id}")).await?;
    f.wait_text(ids::ORG_DETAIL, "master03").await?;
    f.type_into(ids::NEW_MASTER_ID, "master04").await?;
    f.type_into(ids::NEW_MASTER_EMAIL, "m4@example.co.jp").await?;
    f.click(ids::NEW_MASTER_SUBMIT).await?;
    f.client.accept_alert().await?;
    let initial = f.find(ids::RESET_INITIAL_PASSWORD).await?.text().await?;
    f.note_secret(&initial);
    anyhow::ensure!(initial.trim().len() == 12, "the new master's initial password: {initial:?}");
    f.wait_text(ids::ORG_DETAIL, "master04").await?;
    f.screenshot("admin-new-master-letter").await?;

    // The former master, now a general user: made master again from their own page, the
    // newer one retired; and their address changed on the way.
    f.goto("/admin/users/master03").await?;
    f.wait_text(ids::USER_DETAIL, "一般ユーザー").await?;
    f.click(&format!("{}master03", ids::EMAIL_PREFIX)).await?;
    // The browser's own prompt asks for the new address.
    f.client.send_alert_text("new3@example.co.jp").await?;
    f.client.accept_alert().await?;
    f.wait_text(ids::NOTICE_MESSAGE, "メールアドレスを変更しました").await?;
    f.wait_text(ids::USER_DETAIL, "new3@example.co.jp").await?;
    f.click(ids::MAKE_MASTER_RETIRE).await?;
    f.click(ids::MAKE_MASTER).await?;
    f.client.accept_alert().await?;
    let initial = f.find(ids::RESET_INITIAL_PASSWORD).await?.text().await?;
    f.note_secret(&initial);
    f.wait_text(ids::USER_DETAIL, "マスターユーザー").await?;
    f.screenshot("admin-make-master-letter").await?;

    // The letter's password is the new master's way in: マスターユーザー初期登録 asks for a new one.
    steps::change_password_by_api(&f, "master03", initial.trim(), "Secret345").await?;
    let audit = f.admin(&["audit", "--user-id", "master04"], None)?;
    anyhow::ensure!(audit.contains("retired"), "master04 retired by the change: {audit}");
    f.close().await
}

/// Issue 30 (検印): under the product's default `approval_required`, staff member A's revocation
/// only waits under 承認待ち; staff member B, at another PC (a browser holding only B's
/// certificate), sees it with the count in the tab, approves it, and the certificate's OCSP
/// answer (plain HTTP, as a relying party asks) says revoked.
#[tokio::test]
async fn a_revocation_waits_for_a_second_staff_member_then_ocsp_says_revoked() -> anyhow::Result<()> {
    let http = e2e::free_port()?;
    let listen = format!("127.0.0.1:{http}");
    let mut f = Fixture::start_with(&["--http-listen", &listen]).await?;
    f.admin(
        &[
            "create-org",
            "--name",
            "承認株式会社",
            "--master-id",
            "master03",
            "--email",
            "m3@example.co.jp",
            "--password-stdin",
        ],
        Some("Init1234\n"),
    )?;
    steps::change_password_by_api(&f, "master03", "Init1234", "Sekret927").await?;
    let (serial, bytes) = steps::issue_by_api(&f, "master03", "Sekret927").await?;
    let p12 = f.dir.path().join("master03.p12");
    std::fs::write(&p12, bytes)?;

    // Staff member A asks for the revocation: it only waits.
    steps::staff_member_logs_in(&mut f, "staff001").await?;
    f.goto("/admin?tab=certificates").await?;
    f.type_into(ids::ADMIN_CERT_SEARCH, "master03").await?;
    f.click(ids::ADMIN_CERT_SEARCH_SUBMIT).await?;
    f.wait_text(ids::ADMIN_CERT_TABLE, &serial).await?;
    f.click(&format!("{}{}", ids::REVOKE_PREFIX, serial)).await?;
    f.click(ids::REVOKE_CONFIRM).await?;
    f.wait_text(ids::APPROVAL_PROPOSED, "承認待ち").await?;
    f.screenshot("admin-revoke-proposed").await?;
    let (ca, url) = (f.data_dir.join("ca.pem"), format!("http://127.0.0.1:{http}/pki/ocsp"));
    let ocsp = || ocsp_status(&ca, &p12, &url);
    anyhow::ensure!(ocsp()?.contains("Cert Status: good"), "revoked before the approval");

    // Staff member B, at another PC, approves it under 承認待ち.
    steps::staff_member_logs_in(&mut f, "staff002").await?;
    f.goto("/admin?tab=approvals").await?;
    f.wait_text(ids::ADMIN_TAB_APPROVALS, "承認待ち（1）").await?;
    f.wait_text(ids::ADMIN_APPROVALS_TABLE, "電子証明書の失効").await?;
    f.screenshot("admin-approvals").await?;
    f.click(&format!("{}1", ids::APPROVE_PREFIX)).await?;
    f.client.accept_alert().await?;
    f.wait_text(ids::APPROVAL_DONE, "承認し、実行しました").await?;
    let status = ocsp()?;
    anyhow::ensure!(status.contains("Cert Status: revoked"), "{status}");
    f.close().await
}

/// What `openssl ocsp` says of the certificate in the .p12 `p12` (password Sekret927) of the CA
/// `ca`, asked at `url`.
fn ocsp_status(ca: &std::path::Path, p12: &std::path::Path, url: &str) -> anyhow::Result<String> {
    let leaf = p12.with_extension("pem");
    run(Command::new("openssl")
        .args(["pkcs12", "-nokeys", "-clcerts", "-passin", "pass:Sekret927", "-in"])
        .arg(p12)
        .arg("-out")
        .arg(&leaf)
        .stdin(Stdio::null()))?;
    run(Command::new("openssl")
        .args(["ocsp", "-issuer"])
        .arg(ca)
        .arg("-CAfile")
        .arg(ca)
        .arg("-cert")
        .arg(&leaf)
        .args(["-url", url, "-resp_text"])
        .stdin(Stdio::null()))
}
