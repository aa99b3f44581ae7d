//! The answers the operations of the OpenAPI description share: the error groups (each an
//! `ErrorBody`) and the binary body. The handlers' `#[utoipa::path]` attributes name them; the
//! description itself (`openapi.rs`) collects the handlers.

use common::ErrorBody;

// The error answers, in the groups the operations share. Each is an `ErrorBody`.

/// A request the server cannot take as it is.
#[derive(utoipa::IntoResponses)]
pub enum BadInput {
    /// Malformed JSON or a value breaking a rule (`invalid_input`, naming the field).
    #[response(status = 400)]
    Invalid(ErrorBody),
    /// A body larger than 16 KiB (`payload_too_large`), refused before it is read.
    #[response(status = 413)]
    TooLarge(ErrorBody),
}

/// A query string the server cannot take.
#[derive(utoipa::IntoResponses)]
pub enum BadQuery {
    /// A malformed query or a search term with control characters (`invalid_input`).
    #[response(status = 400)]
    Invalid(ErrorBody),
}

/// The answers of a password check (R2).
#[derive(utoipa::IntoResponses)]
pub enum Refused {
    /// Wrong ID or password (`invalid_credentials`), an invalid or used token (`invalid_token`), or
    /// no client certificate where one is needed.
    #[response(status = 401)]
    Unauthenticated(ErrorBody),
    /// A blocked account (`blocked`), a client certificate that is revoked, expired, not this
    /// CA's or another user's, or a cross-site request (`forbidden`: a foreign `Origin`).
    #[response(status = 403)]
    Forbidden(ErrorBody),
    /// Locked after consecutive wrong passwords (by default 6, for 60 minutes; `locked`, with
    /// `locked_until`; an unknown ID locks alike). The lock that would be the third in a row
    /// blocks instead (403 `blocked`).
    #[response(status = 423)]
    Locked(ErrorBody),
    /// Too many password attempts from this client address (`too_many_requests`; by default 10 a
    /// minute with a burst of 30): try again after `Retry-After` seconds.
    #[response(status = 429, headers(("retry-after" = u64, description = "Seconds until the next attempt is taken")))]
    TooManyRequests(ErrorBody),
}

/// Operations behind a login.
#[derive(utoipa::IntoResponses)]
pub enum SessionRequired {
    /// No live session for the certificate of this connection (`unauthenticated`), or no certificate.
    #[response(status = 401)]
    Unauthenticated(ErrorBody),
    /// The wrong role, a cross-site request (`forbidden`), or a certificate no longer valid.
    #[response(status = 403)]
    Forbidden(ErrorBody),
}

#[derive(utoipa::IntoResponses)]
pub enum NotFound {
    /// No such user or certificate (`not_found`).
    #[response(status = 404)]
    NotFound(ErrorBody),
}

#[derive(utoipa::IntoResponses)]
pub enum Conflict {
    /// A valid certificate exists and renewal is not open yet (`certificate_active`, with
    /// `renewable_from`), the company's certificate limit, already revoked, or a user ID or company
    /// name registered by a concurrent request (`conflict`; taken before the request: 400).
    #[response(status = 409)]
    Conflict(ErrorBody),
}

#[derive(utoipa::IntoResponses)]
pub enum PasswordChangeRequired {
    /// The one-time initial password must be changed first (`password_change_required`, R11).
    #[response(status = 428)]
    PasswordChangeRequired(ErrorBody),
}

#[derive(utoipa::IntoResponses)]
pub enum Unavailable {
    /// The database cannot be reached right now, or the password checks are queued to their
    /// limit under a flood (`service_unavailable`, with `Retry-After`); try again.
    #[response(status = 503)]
    Unavailable(ErrorBody),
}

/// A binary response body (the .p12, the DER CRL).
#[derive(utoipa::ToSchema)]
#[schema(value_type = String, format = Binary)]
pub struct Binary(pub Vec<u8>);
