//! The certificate authority: its key and certificate, the server certificate, client
//! certificate issuance (R4, R7) and PKCS#12 packing.

pub mod ca;
pub mod files;
pub mod issue;
pub mod p12;

pub use ca::CertificateAuthority;
