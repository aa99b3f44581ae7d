//! The OCSP responder's decoding of a request, on arbitrary bytes: never panics, and whatever
//! decodes gets a signed answer that decodes again as an OCSP response with one status per
//! certificate asked about (a refusal is one of the fixed OCSP error answers).
#![no_main]

use std::sync::OnceLock;

use backend::pki::{
    CertificateAuthority,
    ocsp::{IssuerIds, Signer, Status, parse, respond},
};
use libfuzzer_sys::fuzz_target;
use time::OffsetDateTime;

struct Responder {
    ids: IssuerIds,
    signer: Signer,
    /// The CA's data directory, kept for the process's life (held here, not leaked).
    _dir: tempfile::TempDir,
}

fn responder() -> &'static Responder {
    static R: OnceLock<Responder> = OnceLock::new();
    R.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let now = OffsetDateTime::now_utc();
        let ca = CertificateAuthority::load_or_create(dir.path(), None, now).unwrap();
        Responder { ids: IssuerIds::of(&ca).unwrap(), signer: Signer::issue(&ca, now).unwrap(), _dir: dir }
    })
}

fuzz_target!(|data: &[u8]| {
    let r = responder();
    match parse(data, &r.ids) {
        Ok(request) => {
            let statuses = vec![Status::Good; request.asked.len()];
            let der = respond(&r.signer, &request, &statuses, OffsetDateTime::now_utc()).expect("a decoded request is answered");
            assert!(backend::pki::ocsp::decodes_as_response(&der, request.asked.len()));
        }
        Err(refusal) => assert_eq!(refusal.response().len(), 5),
    }
});
