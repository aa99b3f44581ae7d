//! Time to the first rendered login screen in headless Chromium, from the Performance API. It
//! checks that the app sets its `cjs-mounted` mark and prints the timings; it asserts no timing
//! (those live in benchmarks): `scripts/bench` runs it with `--nocapture` for docs/PERFORMANCE.md.

use common::testids;
use e2e::Fixture;

#[tokio::test]
async fn first_render_of_the_login_screen() -> anyhow::Result<()> {
    let f = Fixture::start().await?;
    let mut rows = Vec::new();
    for round in 0..6 {
        f.client.goto("about:blank").await?;
        f.goto("/").await?;
        f.find(testids::LOGIN_TITLE).await?;
        let v = f
            .client
            .execute(
                "const nav = performance.getEntriesByType('navigation')[0];\
                 const mounted = performance.getEntriesByName('cjs-mounted')[0];\
                 const fcp = performance.getEntriesByName('first-contentful-paint')[0];\
                 return [nav.responseEnd, mounted ? mounted.startTime : null, fcp ? fcp.startTime : null];",
                vec![],
            )
            .await?;
        let n = |i: usize| v[i].as_f64().unwrap_or(f64::NAN);
        anyhow::ensure!(n(1).is_finite(), "the app did not set its cjs-mounted mark: {v:?}");
        rows.push((round, n(0), n(1), n(2)));
    }
    println!(
        "| load | HTML received (responseEnd) ms | login screen mounted (cjs-mounted) ms | first contentful paint ms |"
    );
    println!("|---|---|---|---|");
    for (round, html, mounted, fcp) in &rows {
        let kind = if *round == 0 { "cold (empty cache)" } else { "warm" };
        println!("| {kind} #{round} | {html:.0} | {mounted:.0} | {fcp:.0} |");
    }
    let mut warm: Vec<f64> = rows.iter().skip(1).map(|r| r.2).collect();
    warm.sort_by(f64::total_cmp);
    println!("\nmedian warm time to the mounted login screen: {:.0} ms (target ≤ 300 ms)", warm[warm.len() / 2]);
    f.close().await
}
