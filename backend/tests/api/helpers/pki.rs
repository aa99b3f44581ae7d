//! What OpenSSL says of our certificates, CRLs and OCSP answers.

use super::*;

/// The text OpenSSL prints of the CRL `der`, after it verified the CRL against the CA of
/// `data_dir` (the text holds `verify OK`).
pub fn verified_crl_text(data_dir: &std::path::Path, der: &[u8]) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("crl.der"), der).unwrap();
    let text = run(Command::new("openssl")
        .args(["crl", "-inform", "DER", "-noout", "-text", "-CAfile"])
        .arg(data_dir.join("ca.pem"))
        .arg("-in")
        .arg(dir.path().join("crl.der")));
    assert!(text.contains("verify OK"), "{text}");
    text
}

/// The certificate and key of the .p12 `p12` (password `pw`) as PEM, by OpenSSL.
pub fn identity_pem(p12: &[u8], pw: &str) -> Vec<u8> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.p12");
    std::fs::write(&path, p12).unwrap();
    let out = dir.path().join("x.pem");
    run(Command::new("openssl")
        .args(["pkcs12", "-noenc", "-passin", &format!("pass:{pw}"), "-in"])
        .arg(&path)
        .arg("-out")
        .arg(&out));
    std::fs::read(&out).unwrap()
}

/// `openssl ocsp` asking `url` about the certificate in `leaf` (PEM) of the CA `ca_pem`,
/// verifying the answer against it. Off the test's runtime thread, which may also drive the
/// server's database pool.
pub async fn openssl_ocsp(ca_pem: &std::path::Path, leaf: &[u8], url: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("leaf.pem"), leaf).unwrap();
    let mut cmd = Command::new("openssl");
    cmd.args(["ocsp", "-issuer"])
        .arg(ca_pem)
        .arg("-CAfile")
        .arg(ca_pem)
        .arg("-cert")
        .arg(dir.path().join("leaf.pem"))
        .args(["-url", url, "-resp_text"]);
    tokio::task::spawn_blocking(move || run(&mut cmd)).await.unwrap()
}
