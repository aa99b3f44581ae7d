//! Every certificate profile the service issues passes pkilint's RFC 5280 linters (PyPI, set up
//! by scripts/setup-tools): the CA (technically constrained), the embedded server certificate and
//! its development server CA, client certificates
//! (RSA-2048 and ECDSA P-256, with their CDP and AIA), the CRL, the OCSP responder's certificate
//! and OCSP answers (good, revoked). Findings of WARNING or worse fail the test.

use std::process::Command;

use backend::pki::issue::KeyType;

use crate::helpers::{Options, TestDb, python_tool, run, spawn};

fn lint(cmd: &mut Command, what: &str) {
    // Python's own warnings (a dependency deprecating DSA, say) are not findings about our data.
    let out = cmd
        .env("PYTHONWARNINGS", "ignore")
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?} (run scripts/setup-tools for pkilint): {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.trim().is_empty() && stderr.trim().is_empty(), "{what} has pkilint findings:\n{stdout}{stderr}");
}

fn pem_to_der(pem: &std::path::Path, der: &std::path::Path) {
    run(Command::new("openssl").args(["x509", "-outform", "DER", "-in"]).arg(pem).arg("-out").arg(der));
}

#[tokio::test]
async fn every_certificate_profile_passes_pkilint() {
    let dir = tempfile::tempdir().unwrap();
    for key_type in [KeyType::Rsa2048, KeyType::P256] {
        let app = spawn(&TestDb::Sqlite, Options { key_type, ..Options::default() }).await;
        app.master_ready("テスト株式会社", "master01", "Sekret927").await;
        let p12 = app.issue_certificate("master01", "Sekret927").await;
        let p12_path = dir.path().join(format!("{key_type:?}.p12"));
        std::fs::write(&p12_path, p12).unwrap();
        let leaf_pem = dir.path().join(format!("{key_type:?}-leaf.pem"));
        run(Command::new("openssl")
            .args(["pkcs12", "-nokeys", "-clcerts", "-passin", "pass:Sekret927", "-in"])
            .arg(&p12_path)
            .arg("-out")
            .arg(&leaf_pem));
        let mut profiles = vec![(leaf_pem.clone(), format!("client certificate {key_type:?}"))];
        if key_type == KeyType::P256 {
            profiles.push((app.data_dir.join("ca.pem"), "CA certificate".into()));
            profiles.push((app.data_dir.join("server.pem"), "embedded server certificate".into()));
            profiles.push((app.data_dir.join("server-ca.pem"), "development server CA certificate".into()));
        }
        // An OCSP answer about it (good), and the responder certificate it carries.
        let req = dir.path().join("req.der");
        run(Command::new("openssl")
            .args(["ocsp", "-no_nonce", "-issuer"])
            .arg(app.data_dir.join("ca.pem"))
            .arg("-cert")
            .arg(&leaf_pem)
            .arg("-reqout")
            .arg(&req));
        let req = std::fs::read(&req).unwrap();
        let ocsp = |req: Vec<u8>| async {
            let r = app.client.post(app.url("/pki/ocsp")).body(req).send().await.unwrap();
            r.bytes().await.unwrap().to_vec()
        };
        let good = dir.path().join("good.der");
        std::fs::write(&good, ocsp(req.clone()).await).unwrap();
        lint(
            Command::new(python_tool("lint_ocsp_response")).args(["lint", "-s", "WARNING"]).arg(&good),
            "OCSP answer good",
        );
        let text = run(Command::new("openssl").args(["ocsp", "-noverify", "-resp_text", "-respin"]).arg(&good));
        let begin = text.find("-----BEGIN CERTIFICATE-----").expect("the responder certificate is in the answer");
        let end = text.find("-----END CERTIFICATE-----").unwrap() + "-----END CERTIFICATE-----".len();
        let responder = dir.path().join("responder.pem");
        std::fs::write(&responder, &text[begin..end]).unwrap();
        if key_type == KeyType::P256 {
            profiles.push((responder, "OCSP responder certificate".into()));
        }
        for (pem, what) in profiles {
            let der = dir.path().join("cert.der");
            pem_to_der(&pem, &der);
            lint(Command::new(python_tool("lint_pkix_cert")).args(["lint", "-s", "WARNING"]).arg(&der), &what);
        }
        // The CRL, with one revoked entry.
        run(Command::new(env!("CARGO_BIN_EXE_cjs")).arg("--data-dir").arg(&app.data_dir).args([
            "--database-url",
            &app.database_url,
            "admin",
            "revoke",
            "--user-id",
            "master01",
        ]));
        let revoked = dir.path().join("revoked.der");
        std::fs::write(&revoked, ocsp(req).await).unwrap();
        lint(
            Command::new(python_tool("lint_ocsp_response")).args(["lint", "-s", "WARNING"]).arg(&revoked),
            "OCSP answer revoked",
        );
        let crl = app.client.get(app.url("/api/crl")).send().await.unwrap().bytes().await.unwrap();
        let crl_path = dir.path().join("crl.der");
        std::fs::write(&crl_path, &crl).unwrap();
        lint(
            Command::new(python_tool("lint_crl"))
                .args(["lint", "-t", "CRL", "-p", "PKIX", "-s", "WARNING"])
                .arg(&crl_path),
            "CRL",
        );
    }
}
