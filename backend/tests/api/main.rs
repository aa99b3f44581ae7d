//! Integration tests: the real server on a random port with a temporary data directory, over
//! real HTTPS, against SQLite always and PostgreSQL when `CJS_TEST_DATABASE_URL` is set
//! (mandatory when `CI=true`).

mod accounts;
mod approvals;
mod attacks;
mod audit;
mod audit_chain;
mod background;
mod bad_input;
mod cluster;
mod connections;
mod crl;
mod failover;
mod faults;
mod health;
mod helpers;
mod hsm;
mod issuance;
mod lifecycle;
mod lists;
mod login;
mod mail;
mod notices;
mod ocsp;
mod operations;
mod pki_lint;
mod spa_delivery;
mod trust;
mod upgrade;
