//! The certificate feature: authentication for issuance and the single-use token it grants
//! (`tokens`), the issue itself (`issuance`), each user's latest unrevoked notAfter, which
//! issuing, revoking and retiring keep (`certified`), revocation with the CRL it keeps current
//! (`revocation`), retiring a user with every certificate of theirs (`retirement`), changing a
//! company's master user, which may retire the former one (`masters`), the OCSP responder
//! (`ocsp`), and a CA rollover (`rollover`). Signing is `crate::pki`'s; the rules are
//! `crate::domain`'s.

pub mod certified;
pub mod error;
pub mod issuance;
pub mod masters;
pub mod ocsp;
pub mod retirement;
pub mod revocation;
pub mod rollover;
pub mod tokens;

pub use error::CertificateError;
pub use issuance::IssuanceService;
