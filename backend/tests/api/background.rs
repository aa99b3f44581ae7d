//! The background tasks of `cjs serve` are watched: when one stops (here: a task that panics,
//! added beside the real mail worker, reminder scan and pruning), the server stops too, and
//! `run_until_stopped` returns the cause, which `cjs serve` logs before it exits non-zero.

use backend::{
    config::{Config, ConfigArgs},
    startup::Application,
};

use crate::helpers::{TestDb, fresh_store, init};

#[tokio::test]
async fn a_dying_background_task_stops_the_server_with_its_cause() {
    init();
    let (_dir, data_dir, database_url) = fresh_store(&TestDb::Sqlite).await;
    let config = Config::resolve(&ConfigArgs {
        data_dir: Some(data_dir),
        database_url: Some(database_url),
        listen: Some("127.0.0.1:0".parse().unwrap()),
        ..Default::default()
    })
    .unwrap();
    let mut app = Application::build(config).await.unwrap();
    let port = app.port();
    let (release, released) = tokio::sync::oneshot::channel::<()>();
    app.watch("test task", async move {
        released.await.ok();
        panic!("the outbox table is gone");
    });
    let server = tokio::spawn(app.run_until_stopped());
    // Serving while every task runs.
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok());
    release.send(()).unwrap();
    let stopped = tokio::time::timeout(std::time::Duration::from_secs(20), server).await.expect("server stops");
    let cause = stopped.unwrap().expect_err("a dead task is an error").to_string();
    assert!(cause.contains("`test task`") && cause.contains("the outbox table is gone"), "{cause}");
    // And it no longer accepts connections.
    assert!(tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err());
}
