//! The JSON request bodies the API decodes, on arbitrary bytes: never panic, and a decoded body
//! re-encodes to JSON that decodes to the same values.
#![no_main]

use common::api::{Credentials, IssueRequest, PasswordChange};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = serde_json::from_slice::<Credentials>(data) {
        let again: Credentials = serde_json::from_str(&serde_json::to_string(&c).unwrap()).unwrap();
        assert_eq!((again.user_id, again.password), (c.user_id, c.password));
    }
    if let Ok(r) = serde_json::from_slice::<IssueRequest>(data) {
        let again: IssueRequest = serde_json::from_str(&serde_json::to_string(&r).unwrap()).unwrap();
        assert_eq!((again.token, again.password), (r.token, r.password));
    }
    if let Ok(p) = serde_json::from_slice::<PasswordChange>(data) {
        let again: PasswordChange = serde_json::from_str(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(again.email, p.email);
        assert_eq!(again.new_password, p.new_password);
    }
});
