//! Issuance with the CA key in SoftHSM2 (PKCS#11) beside the file key, in the same run: the full
//! API path (authenticate → issue → .p12), P-256 client keys so that the CA's signature is a
//! visible part of the cost, at 1 and 8 concurrent clients.

use std::{path::Path, process::Command};

use crate::{
    issuance::{issue_via_api, load},
    util::{self, Server},
};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";

pub async fn section(cjs: &Path, out: &mut Vec<String>) -> anyhow::Result<()> {
    let plan = [(1_usize, 10_usize), (8, 40)];
    let users: usize = plan.iter().map(|(_, n)| n).sum();
    for in_token in [false, true] {
        let dir = tempfile::tempdir()?;
        let data = dir.path().join("data");
        let config = util::config(&data, None)?;
        drop(util::seed_users(&config, users + 1).await?);
        let conf = dir.path().join("softhsm2.conf");
        let mut extra = vec!["--cert-key-type", "p256"];
        let mut env: Vec<(&str, &std::ffi::OsStr)> = Vec::new();
        if in_token {
            let tokens = dir.path().join("tokens");
            std::fs::create_dir_all(&tokens)?;
            std::fs::write(
                &conf,
                format!("directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n", tokens.display()),
            )?;
            util::run(Command::new("softhsm2-util").env("SOFTHSM2_CONF", &conf).args([
                "--init-token",
                "--free",
                "--label",
                "bench",
                "--pin",
                "1234",
                "--so-pin",
                "5678",
            ]))?;
            extra.extend(["--ca-pkcs11-module", MODULE, "--ca-pkcs11-token-label", "bench"]);
            env.push(("SOFTHSM2_CONF", conf.as_os_str()));
            env.push(("CJS_CA_PKCS11_PIN", std::ffi::OsStr::new("1234")));
        }
        let server = Server::start_with_env(cjs, &data, None, &extra, &env).await?;
        anyhow::ensure!(!data.join("ca-key.pem").exists() || !in_token, "a key file with the key in the token?");
        let client = server.client()?;
        let base = server.url("");
        issue_via_api(&client, &base, &format!("bench{:05}", users + 1)).await?; // warm-up
        let mut first = 1;
        for (clients, total) in plan {
            let (c, b, offset) = (client.clone(), base.clone(), first);
            let run = load(clients, total, move |i| {
                let (c, b) = (c.clone(), b.clone());
                async move { issue_via_api(&c, &b, &format!("bench{:05}", offset + i)).await.map(|_| ()) }
            })
            .await?;
            first += total;
            out.push(format!(
                "| {} | {clients} | {total} | {:.0} / {:.0} | {:.1}/s |",
                if in_token { "SoftHSM2 (PKCS#11), ECDSA P-384" } else { "file (ca-key.pem), ECDSA P-384" },
                run.p50(),
                run.p95(),
                run.per_sec()
            ));
        }
        drop(server);
    }
    Ok(())
}
