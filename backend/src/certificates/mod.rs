//! The certificate feature: authentication for issuance and the single-use token it grants
//! (`tokens`), the issue itself (`issuance`), revocation with the CRL it keeps current
//! (`revocation`), retiring a user with every certificate of theirs (`retirement`), the OCSP
//! responder (`ocsp`), and a CA rollover (`rollover`). Signing is `crate::pki`'s; the rules are `crate::domain`'s.

pub mod error;
pub mod issuance;
pub mod ocsp;
pub mod retirement;
pub mod revocation;
pub mod rollover;
pub mod tokens;

pub use error::CertificateError;
pub use issuance::IssuanceService;
