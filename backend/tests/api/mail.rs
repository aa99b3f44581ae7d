//! The embedded default delivers the outbox as .eml files under <data-dir>/mail/.

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{TestDb, spawn_app};

#[tokio::test]
async fn lock_mail_is_delivered_as_an_eml_file() {
    let app = spawn_app(&TestDb::Sqlite).await;
    app.master_ready("テスト株式会社", "master01", "Secret123").await;
    for _ in 0..6 {
        app.post("/api/issuance/authenticate", &json!({"user_id": "master01", "password": "Wrong1234"})).await;
    }
    let dir = app.data_dir.join("mail");
    let deadline = Instant::now() + Duration::from_secs(20);
    let file = loop {
        let found = std::fs::read_dir(&dir).ok().and_then(|mut d| {
            d.find_map(|e| e.ok().map(|e| e.path()).filter(|p| p.extension().is_some_and(|x| x == "eml")))
        });
        if let Some(f) = found {
            break f;
        }
        assert!(Instant::now() < deadline, "no .eml appeared in {}", dir.display());
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.contains("To: master01@example.co.jp"), "{text}");
    assert!(text.to_lowercase().contains("subject: =?utf-8?b?"), "the Japanese subject is MIME-encoded: {text}");
    assert!(text.contains("Content-Type: text/plain; charset=utf-8"), "{text}");
    assert_eq!(
        app.count("SELECT COUNT(*) AS n FROM mail_outbox WHERE status = 'sent' AND sent_at IS NOT NULL").await,
        1
    );
    // Exactly one file for the one lock.
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
}
