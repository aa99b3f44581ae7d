//! axe-core really runs: a page with a known violation is refused by [`Fixture::axe`].

use common::testids;
use e2e::Fixture;

#[tokio::test]
async fn axe_reports_a_known_violation() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    f.goto("/").await?;
    f.find(testids::LOGIN_TITLE).await?;
    f.axe("login (clean)").await?;
    f.client
        .execute("const i = document.createElement('img'); i.src = '/x.png'; document.body.appendChild(i);", vec![])
        .await?;
    let err = f.axe("login with an image without alt").await.expect_err("axe must report image-alt");
    anyhow::ensure!(err.to_string().contains("image-alt"), "{err}");
    f.close().await
}
