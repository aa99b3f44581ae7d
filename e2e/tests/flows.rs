//! The flows a person uses, in headless Chromium against the real server over HTTPS.

use std::process::Command;

use e2e::{Fixture, ids, run, steps, steps::type_with_software_keyboard};

#[tokio::test]
async fn login_screen_shows_the_four_buttons() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    f.goto("/").await?;
    f.wait_text(ids::LOGIN_TITLE, "ろうきん賃金控除事務支援システム").await?;
    for (id, label) in [
        (ids::BTN_LOGIN, "ログイン"),
        (ids::BTN_MASTER_REGISTRATION, "マスターユーザーの初期登録"),
        (ids::BTN_GENERAL_REGISTRATION, "一般ユーザーの初期登録"),
        (ids::BTN_ISSUE_CERTIFICATE, "電子証明書発行"),
    ] {
        f.wait_text(id, label).await?;
    }
    f.find(ids::LINK_BROWSER_CHECK).await?;
    f.screenshot("login").await?;
    // The page runs under its Content-Security-Policy: the app itself (Trunk's hashed loader +
    // WASM) rendered above, while a script injected into the page is refused.
    let injected = f
        .client
        .execute(
            "const s = document.createElement('script'); s.textContent = 'window.__injected = 1;';\
             document.head.appendChild(s); return window.__injected === 1;",
            vec![],
        )
        .await?;
    anyhow::ensure!(injected == serde_json::Value::Bool(false), "an inline script ran despite the CSP");
    // A deep link served by the server renders its screen directly.
    f.goto("/issuance/auth").await?;
    f.wait_text(ids::PAGE_TITLE, "電子証明書発行 ユーザー認証").await?;
    f.wait_text(ids::STEP_CURRENT, "ユーザー認証").await?;
    f.axe("電子証明書発行 ユーザー認証").await?;
    for (path, title) in
        [("/login", "ログイン"), ("/register/master", "マスターユーザー"), ("/browser-check", "ブラウザ")]
    {
        f.goto(path).await?;
        f.wait_text(ids::PAGE_TITLE, title).await?;
        f.axe(path).await?;
    }
    f.close().await
}

#[tokio::test]
async fn master_registers_then_issues_and_the_p12_imports() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
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
    // ログイン画面 → マスターユーザーの初期登録
    f.goto("/").await?;
    f.click(ids::BTN_MASTER_REGISTRATION).await?;
    f.wait_path("/register/master").await?;
    f.type_into(ids::REG_USER_ID, "master01").await?;
    f.type_into(ids::REG_CURRENT_PASSWORD, "Init1234").await?;
    f.type_into(ids::REG_NEW_PASSWORD, "Sekret927").await?;
    f.type_into(ids::REG_NEW_PASSWORD_CONFIRM, "Sekret927").await?;
    f.type_into(ids::REG_EMAIL, "master@example.co.jp").await?;
    f.click(ids::REG_SUBMIT).await?;
    // On to ④ ユーザー認証.
    f.wait_path("/issuance/auth").await?;
    f.find(ids::NOTICE_MESSAGE).await?;
    f.wait_text(ids::STEP_CURRENT, "ユーザー認証").await?;
    f.type_into(ids::AUTH_USER_ID, "master01").await?;
    type_with_software_keyboard(&f, ids::AUTH_SOFTWARE_KEYBOARD, "Sekret927").await?;
    f.screenshot("auth").await?;
    f.click(ids::AUTH_SUBMIT).await?;
    // ⑤ 発行 → ⑥ 発行中 → ⑦ 発行結果
    f.wait_path("/issuance/confirm").await?;
    f.wait_text(ids::STEP_CURRENT, "発行").await?;
    f.click(ids::ISSUE_SUBMIT).await?;
    let filename = f.wait_text(ids::RESULT_FILENAME, ".p12").await?;
    f.wait_text(ids::STEP_CURRENT, "発行結果").await?;
    let serial = f.find(ids::RESULT_SERIAL).await?.text().await?;
    f.wait_text(ids::RESULT_NOT_AFTER, "年").await?;
    f.screenshot("result").await?;
    let file = f.wait_download(|n| n.starts_with("master01") && n.ends_with(".p12")).await?;
    let name = file.file_name().unwrap().to_str().unwrap().to_owned();
    assert_eq!(name.len(), "master01YYYYMMDDhhmmss.p12".len(), "{name}");
    assert!(filename.contains(&name), "screen shows {filename:?}, downloaded {name}");
    // The downloaded file imports into a fresh NSS database with the login password.
    let nss = f.dir.path().join("import-check");
    std::fs::create_dir(&nss)?;
    let db = format!("sql:{}", nss.display());
    run(Command::new("certutil").args(["-N", "--empty-password", "-d", &db]))?;
    run(Command::new("pk12util").args(["-d", &db, "-W", "Sekret927", "-i"]).arg(&file))?;
    let imported = run(Command::new("certutil").args(["-L", "-d", &db]))?;
    assert!(imported.contains("CN=master01"), "{imported}");
    let listed = run(Command::new("pk12util").args(["-l"]).arg(&file).args(["-W", "Sekret927"]))?;
    let serial_hex: String = serial.chars().filter(|c| c.is_ascii_hexdigit()).collect::<String>().to_lowercase();
    let listed_hex: String = listed.to_lowercase().chars().filter(|c| c.is_ascii_hexdigit()).collect();
    assert!(listed_hex.contains(&serial_hex), "NSS shows the issued serial {serial_hex}: {listed}");
    // ⑧ インポート
    f.click(ids::RESULT_CLOSE).await?;
    f.wait_path("/issuance/import").await?;
    f.find(ids::IMPORT_GUIDE).await?;
    f.wait_text(ids::STEP_CURRENT, "インポート").await?;
    f.screenshot("import").await?;
    // A second authentication is refused: the certificate is active (R3).
    f.goto("/issuance/auth").await?;
    f.type_into(ids::AUTH_USER_ID, "master01").await?;
    f.type_into(ids::AUTH_PASSWORD, "Sekret927").await?;
    f.click(ids::AUTH_SUBMIT).await?;
    f.wait_text(ids::ERROR_MESSAGE, "既に電子証明書が発行されています").await?;
    f.screenshot("already-issued").await?;
    f.close().await
}

#[tokio::test]
async fn six_wrong_passwords_show_the_lock_with_its_time() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    f.admin(
        &[
            "create-org",
            "--name",
            "ロック株式会社",
            "--master-id",
            "master02",
            "--email",
            "m2@example.co.jp",
            "--password-stdin",
        ],
        Some("Init1234\n"),
    )?;
    f.goto("/issuance/auth").await?;
    f.type_into(ids::AUTH_USER_ID, "master02").await?;
    for i in 1..=6 {
        f.type_into(ids::AUTH_PASSWORD, "Wrong1234").await?;
        f.click(ids::AUTH_SUBMIT).await?;
        let expect = if i < 6 { "正しくありません" } else { "ロックされています" };
        f.wait_text(ids::ERROR_MESSAGE, expect).await?;
        if i < 6 {
            // Wait for the button to be usable again before the next attempt.
            f.find(ids::AUTH_SUBMIT).await?;
        }
    }
    let message = f.wait_text(ids::ERROR_MESSAGE, "ロック").await?;
    assert!(message.contains("年") && message.contains(':'), "the lock message gives the time: {message}");
    f.screenshot("locked").await?;
    // Even the right password is refused now.
    f.type_into(ids::AUTH_PASSWORD, "Init1234").await?;
    f.click(ids::AUTH_SUBMIT).await?;
    f.wait_text(ids::ERROR_MESSAGE, "ロック").await?;
    f.close().await
}

#[tokio::test]
async fn cancel_returns_to_the_login_screen() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    f.goto("/").await?;
    f.click(ids::BTN_ISSUE_CERTIFICATE).await?;
    f.wait_path("/issuance/auth").await?;
    f.type_into(ids::AUTH_PASSWORD, "Sekret927").await?;
    f.click(ids::AUTH_CANCEL).await?;
    f.wait_path("/").await?;
    f.find(ids::LOGIN_TITLE).await?;
    // Coming back, nothing of the password is left in the form.
    f.click(ids::BTN_ISSUE_CERTIFICATE).await?;
    let value = f.find(ids::AUTH_PASSWORD).await?.prop("value").await?.unwrap_or_default();
    assert_eq!(value, "");
    f.close().await
}

#[tokio::test]
async fn the_wizard_and_the_software_keyboard_work_with_the_keyboard_alone() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    f.admin(
        &[
            "create-org",
            "--name",
            "キーボード株式会社",
            "--master-id",
            "master03",
            "--email",
            "m3@example.co.jp",
            "--password-stdin",
        ],
        Some("Init1234\n"),
    )?;
    steps::register_master(&f, "master03", "Init1234", "Sekret927").await?;
    // ④ → ⑦ with Tab, Enter and typing only.
    f.tab_to(ids::AUTH_USER_ID).await?.send_keys("master03").await?;
    f.press(ids::AUTH_SOFTWARE_KEYBOARD).await?;
    f.find(ids::KEYBOARD).await?;
    let mut upper = false;
    for c in "Sekret927".chars() {
        if c.is_ascii_alphabetic() && c.is_ascii_uppercase() != upper {
            f.press(ids::KEYBOARD_SHIFT).await?;
            upper = !upper;
        }
        f.press(&format!("{}{c}", ids::KEYBOARD_KEY_PREFIX)).await?;
    }
    let shown = f.find(ids::KEYBOARD_DISPLAY).await?.text().await?;
    anyhow::ensure!(shown.chars().filter(|c| *c == '●').count() == 9, "display shows {shown:?}");
    f.press(ids::KEYBOARD_CLOSE).await?;
    f.wait_gone(ids::KEYBOARD).await?;
    f.press(ids::AUTH_SUBMIT).await?;
    f.wait_path("/issuance/confirm").await?;
    f.press(ids::ISSUE_SUBMIT).await?;
    f.wait_text(ids::RESULT_FILENAME, ".p12").await?;
    f.screenshot("keyboard-only-result").await?;
    f.close().await
}
