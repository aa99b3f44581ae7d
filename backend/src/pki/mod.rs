//! The certificate authority: its key and certificate, the server certificate, client
//! certificate issuance (R4, R7), the CRL's signature (R8), OCSP answers and PKCS#12 packing. No database
//! here: what to sign comes from `crate::certificates`.

pub mod ca;
pub mod ca_set;
pub mod crl;
pub mod files;
pub mod hsm;
pub mod issue;
pub mod ocsp;
pub mod p12;
pub mod profile;

pub use ca::{CaKey, CertificateAuthority};
pub use ca_set::{CaKeySource, CaSet};
