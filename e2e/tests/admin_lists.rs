//! The lists at a bank's size. Bank staff: a company found by part of its name typed in
//! full-width letters, the list paged and sorted on the server, the search kept in the address
//! (Back and a reload return to the same rows), a company's and a user's detail pages, the CSV
//! export of a search, the audit log's details in words. A master user: their own list searched
//! and sorted. And axe on every one of these screens.

use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use e2e::{Fixture, WAIT, ids, steps};
use fantoccini::Locator;
use serde_json::json;

/// The companies: four match 「ａｂｃ商事」 typed in full-width letters (the server compares names
/// after NFKC and lower-casing), the last does not.
const COMPANIES: [(&str, &str); 5] = [
    ("ABC商事株式会社", "abcmaster1"),
    ("abc商事北海道株式会社", "abcmaster2"),
    ("ABC商事九州株式会社", "abcmaster3"),
    ("ＡＢＣ商事沖縄株式会社", "abcmaster4"),
    ("XYZ物産株式会社", "xyzmaster1"),
];
const SEARCH: &str = "ａｂｃ商事";

#[tokio::test]
async fn bank_staff_find_page_and_open_companies_and_users() -> anyhow::Result<()> {
    let mut f = Fixture::start().await?;
    for (name, master) in COMPANIES {
        let email = format!("{master}@example.co.jp");
        f.admin(
            &["create-org", "--name", name, "--master-id", master, "--email", &email, "--password-stdin"],
            Some("Init1234\n"),
        )?;
    }
    steps::staff_logs_in(&mut f).await?;

    // Two rows a page: the page size is part of the address like the rest of the search.
    f.goto("/admin?tab=organizations&limit=2").await?;
    let table = ids::ADMIN_ORG_TABLE;
    let count = format!("{table}{}", ids::LIST_COUNT_SUFFIX);
    f.wait_text(&count, "検索結果 5件").await?;
    f.type_into(ids::ADMIN_ORG_SEARCH, SEARCH).await?;
    f.click(ids::ADMIN_ORG_SEARCH_SUBMIT).await?;
    f.wait_text(&count, "検索結果 4件").await?;
    wait_url(&f, |url| url.contains("q=") && url.contains("limit=2")).await?;
    let page1 = wait_rows(&f, table, |names| names.len() == 2).await?;
    let prev = format!("{table}{}", ids::LIST_PREV_SUFFIX);
    let next = format!("{table}{}", ids::LIST_NEXT_SUFFIX);
    ensure!(!enabled(&f, &prev).await?, "前へ on the first page");
    f.click(&next).await?;
    let page2 = wait_rows(&f, table, |names| names.len() == 2 && !names.contains(&page1[0])).await?;
    ensure!(!enabled(&f, &next).await?, "次へ on the last page");
    ensure!(enabled(&f, &prev).await?, "前へ on the second page");
    let mut found: Vec<String> = page1.iter().chain(&page2).cloned().collect();
    found.sort();
    let mut expected: Vec<String> = COMPANIES[..4].iter().map(|(name, _)| (*name).to_owned()).collect();
    expected.sort();
    ensure!(found == expected, "the search found {found:?}, expected {expected:?}");
    f.click(&prev).await?;
    wait_rows(&f, table, |names| names == page1).await?;

    // 会社名 sorts the other way: the first page is now the old last page, reversed.
    let sort = format!("{table}{}name", ids::LIST_SORT_SUFFIX);
    f.click(&sort).await?;
    f.client
        .wait()
        .at_most(WAIT)
        .for_element(Locator::Css(&format!("th[aria-sort='descending'] [data-testid='{sort}']")))
        .await
        .context("the name column never said descending")?;
    let reversed: Vec<String> = page2.iter().rev().cloned().collect();
    let shown = wait_rows(&f, table, |names| names == reversed).await?;
    wait_url(&f, |url| url.contains("sort=-name")).await?;
    f.screenshot("admin-organizations").await?;

    // A company's page, then its master user's page: router links inside the staff bundle.
    let list_url = f.client.current_url().await?;
    let company = shown[0].clone();
    let master = COMPANIES.iter().find(|(name, _)| *name == company).map(|(_, m)| *m).context("known company")?;
    f.client.find(Locator::LinkText(&company)).await?.click().await?;
    wait_url(&f, |url| url.contains("/admin/organizations/")).await?;
    f.wait_text(ids::ORG_DETAIL, &company).await?;
    f.wait_text(ids::ORG_DETAIL, "証明書保有 0 / 上限").await?;
    f.wait_text(ids::ORG_DETAIL_USERS, master).await?;
    f.wait_text(&format!("{}{}", ids::ORG_DETAIL_CERTS, ids::LIST_COUNT_SUFFIX), "検索結果 0件").await?;
    f.screenshot("admin-organization-detail").await?;
    let user_link =
        format!("[data-testid='{}'] [data-testid='{}{master}']", ids::ORG_DETAIL_USERS, ids::USER_LINK_PREFIX);
    f.client.find(Locator::Css(&user_link)).await?.click().await?;
    f.wait_path(&format!("/admin/users/{master}")).await?;
    f.wait_text(ids::USER_DETAIL, "マスターユーザー").await?;
    f.wait_text(ids::USER_DETAIL, &company).await?;
    f.wait_text(ids::USER_DETAIL, "初期パスワード未変更").await?;
    // Its audit entry (registered by `cjs admin`) reads in words.
    f.wait_text(ids::USER_DETAIL_AUDIT, "管理コマンド").await?;
    f.wait_text(ids::USER_DETAIL_AUDIT, "権限").await?;
    f.screenshot("admin-user-detail").await?;
    scroll_to(&f, ids::USER_DETAIL_AUDIT).await?;
    f.screenshot("admin-user-detail-audit").await?;

    // Back twice: the same search, in the field and in the rows.
    f.client.back().await?;
    f.wait_text(ids::ORG_DETAIL, &company).await?;
    f.client.back().await?;
    wait_url(&f, |url| url == list_url.as_str()).await?;
    wait_rows(&f, table, |names| names == shown).await?;
    wait_value(&f, ids::ADMIN_ORG_SEARCH, SEARCH).await?;
    // A reload too (a bookmark is the same address).
    f.client.refresh().await?;
    wait_rows(&f, table, |names| names == shown).await?;
    wait_value(&f, ids::ADMIN_ORG_SEARCH, SEARCH).await?;

    // The CSV of the search: every company found (not only this page), none other, with a BOM.
    f.click(ids::ADMIN_ORG_EXPORT).await?;
    let csv = f.wait_download(|name| name.ends_with(".csv")).await?;
    let bytes = std::fs::read(&csv)?;
    ensure!(bytes.starts_with(&[0xEF, 0xBB, 0xBF]), "the CSV has no UTF-8 BOM");
    let text = String::from_utf8(bytes[3..].to_vec()).context("the CSV is not UTF-8")?;
    for name in &expected {
        ensure!(text.contains(name.as_str()), "{name} is not in the CSV:\n{text}");
    }
    ensure!(!text.contains("XYZ物産株式会社"), "the CSV ignores the search:\n{text}");

    // The other tabs, each an address of its own.
    f.click(ids::ADMIN_TAB_USERS).await?;
    wait_url(&f, |url| url.ends_with("/admin?tab=users")).await?;
    f.type_into(ids::ADMIN_USER_SEARCH, "abcmaster").await?;
    f.click(ids::ADMIN_USER_SEARCH_SUBMIT).await?;
    f.wait_text(&format!("{}{}", ids::ADMIN_USER_TABLE, ids::LIST_COUNT_SUFFIX), "検索結果 4件").await?;
    f.screenshot("admin-users").await?;
    f.click(ids::ADMIN_TAB_CERTIFICATES).await?;
    f.wait_text(ids::ADMIN_CERT_TABLE, "staff001").await?;
    f.screenshot("admin-certificates").await?;
    f.click(ids::ADMIN_TAB_AUDIT).await?;
    // 詳細 in words with JST times; the raw JSON folded away under 元データ.
    f.wait_text(ids::ADMIN_AUDIT_TABLE, "会社名").await?;
    let audit = f.wait_text(ids::ADMIN_AUDIT_TABLE, "有効期限").await?;
    ensure!(!audit.contains("\"not_after\""), "the raw JSON shows:\n{audit}");
    f.wait_text(ids::ADMIN_AUDIT_TABLE, "元データ").await?;
    let white_space = f
        .client
        .execute(
            "const cell = [...document.querySelectorAll(`[data-testid='admin-audit-table'] td`)]\
               .find(td => td.textContent.trim() === '127.0.0.1');\
             return cell ? getComputedStyle(cell).whiteSpace : null;",
            vec![],
        )
        .await?;
    ensure!(white_space == json!("nowrap"), "接続元 may wrap: {white_space}");
    f.screenshot("admin-audit").await?;
    scroll_to(&f, ids::ADMIN_AUDIT_TABLE).await?;
    f.screenshot("admin-audit-rows").await?;
    f.click(ids::ADMIN_TAB_MAIL).await?;
    f.find(&format!("{}{}", ids::ADMIN_MAIL_TABLE, ids::LIST_COUNT_SUFFIX)).await?;
    f.wait_text(&format!("{}{}", ids::ADMIN_MAIL_TABLE, ids::LIST_COUNT_SUFFIX), "件").await?;
    f.screenshot("admin-mail").await?;
    f.click(ids::ADMIN_TAB_REGISTER).await?;
    f.find(ids::ADMIN_ORG_NAME).await?;
    f.screenshot("admin-register").await?;
    f.close().await
}

#[tokio::test]
async fn a_master_user_searches_and_sorts_their_users() -> anyhow::Result<()> {
    let mut f = Fixture::start().await?;
    f.admin(
        &[
            "create-org",
            "--name",
            "テスト商事株式会社",
            "--master-id",
            "master03",
            "--email",
            "m3@example.co.jp",
            "--password-stdin",
        ],
        Some("Init1234\n"),
    )?;
    steps::register_master(&f, "master03", "Init1234", "Sekret927").await?;
    let p12 = steps::issue_in_wizard(&f, "master03", "Sekret927").await?;
    f.import_into_browser(&p12, "Sekret927")?;
    f.restart_browser().await?;
    steps::login(&f, "master03", "Sekret927").await?;
    for id in ["gen001a", "gen002b", "gen003c"] {
        f.type_into(ids::MASTER_NEW_USER_ID, id).await?;
        f.type_into(ids::MASTER_NEW_EMAIL, &format!("{id}@example.co.jp")).await?;
        f.click(ids::MASTER_CREATE_USER).await?;
        f.find(&format!("{}{id}", ids::USER_ROW_PREFIX)).await?;
        let initial = f.find(ids::CREATED_INITIAL_PASSWORD).await?.text().await?;
        f.note_secret(initial.trim());
    }
    let table = ids::MASTER_USERS_TABLE;
    let count = format!("{table}{}", ids::LIST_COUNT_SUFFIX);
    f.wait_text(&count, "検索結果 4件").await?;

    // The beginning of the ID, then the other way round.
    f.type_into(ids::MASTER_SEARCH_USER_ID, "gen").await?;
    f.click(ids::MASTER_SEARCH_SUBMIT).await?;
    f.wait_text(&count, "検索結果 3件").await?;
    wait_user_rows(&f, table, &["gen001a", "gen002b", "gen003c"]).await?;
    f.click(&format!("{table}{}user_id", ids::LIST_SORT_SUFFIX)).await?;
    wait_user_rows(&f, table, &["gen003c", "gen002b", "gen001a"]).await?;
    // A state: none of them has a certificate yet; their master has one.
    f.client.find(Locator::Css("#master-search-state")).await?.select_by_value("no_certificate").await?;
    f.type_into(ids::MASTER_SEARCH_USER_ID, "").await?;
    f.click(ids::MASTER_SEARCH_SUBMIT).await?;
    wait_user_rows(&f, table, &["gen003c", "gen002b", "gen001a"]).await?;
    f.wait_text(&count, "検索結果 3件").await?;
    scroll_to(&f, ids::MASTER_SEARCH_USER_ID).await?;
    f.screenshot("master-user-list").await?;
    f.close().await
}

/// Waits until the rows of the user list `table` are `expected`, in this order.
async fn wait_user_rows(f: &Fixture, table: &str, expected: &[&str]) -> anyhow::Result<()> {
    let selector = format!("[data-testid='{table}'] tbody tr[data-testid^='{}']", ids::USER_ROW_PREFIX);
    let deadline = Instant::now() + WAIT;
    loop {
        let mut rows = Vec::new();
        for row in f.client.find_all(Locator::Css(&selector)).await? {
            let testid = row.attr("data-testid").await?.unwrap_or_default();
            rows.push(testid.trim_start_matches(ids::USER_ROW_PREFIX).to_owned());
        }
        if rows == expected {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the rows of {table} stay {rows:?}, not {expected:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The company names linked in the rows of `table`, once `done` holds for them.
async fn wait_rows(f: &Fixture, table: &str, done: impl Fn(&[String]) -> bool) -> anyhow::Result<Vec<String>> {
    let selector = format!("[data-testid='{table}'] tbody a[data-testid^='{}']", ids::ORG_LINK_PREFIX);
    let deadline = Instant::now() + WAIT;
    loop {
        let mut names = Vec::new();
        for link in f.client.find_all(Locator::Css(&selector)).await? {
            names.push(link.text().await.unwrap_or_default());
        }
        if done(&names) {
            return Ok(names);
        }
        if Instant::now() > deadline {
            bail!("the rows of {table} stay {names:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the address satisfies `done`.
async fn wait_url(f: &Fixture, done: impl Fn(&str) -> bool) -> anyhow::Result<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        let url = f.client.current_url().await?;
        if done(url.as_str()) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("the address stays {url}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Waits until the field `id` holds `value`.
async fn wait_value(f: &Fixture, id: &str, value: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + WAIT;
    loop {
        let now = f.find(id).await?.prop("value").await?.unwrap_or_default();
        if now == value {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("{id} holds {now:?}, not {value:?}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Scrolls the element `id` near the top of the window, with a little above it (for a
/// screenshot of it).
async fn scroll_to(f: &Fixture, id: &str) -> anyhow::Result<()> {
    let element = f.find(id).await?;
    let script = "arguments[0].scrollIntoView(); window.scrollBy(0, -100);";
    f.client.execute(script, vec![serde_json::to_value(&element)?]).await?;
    Ok(())
}

/// Whether the button `id` can be pressed.
async fn enabled(f: &Fixture, id: &str) -> anyhow::Result<bool> {
    Ok(f.find(id).await?.is_enabled().await?)
}
