//! `data-testid` values: set by the frontend, used by the e2e tests. One list, so a renamed
//! element breaks the build rather than silently breaking a test.

// ログイン画面
pub const LOGIN_TITLE: &str = "login-title";
pub const BTN_LOGIN: &str = "btn-login";
pub const BTN_MASTER_REGISTRATION: &str = "btn-master-registration";
pub const BTN_GENERAL_REGISTRATION: &str = "btn-general-registration";
pub const BTN_ISSUE_CERTIFICATE: &str = "btn-issue-certificate";
pub const LINK_BROWSER_CHECK: &str = "link-browser-check";

// Shared
pub const STEP_BAR: &str = "step-bar";
pub const STEP_CURRENT: &str = "step-current";
pub const ERROR_MESSAGE: &str = "error-message";
pub const NOTICE_MESSAGE: &str = "notice-message";
pub const PAGE_TITLE: &str = "page-title";

// マスターユーザー初期登録ログイン
pub const REG_USER_ID: &str = "reg-user-id";
pub const REG_CURRENT_PASSWORD: &str = "reg-current-password";
pub const REG_NEW_PASSWORD: &str = "reg-new-password";
pub const REG_NEW_PASSWORD_CONFIRM: &str = "reg-new-password-confirm";
pub const REG_EMAIL: &str = "reg-email";
pub const REG_SUBMIT: &str = "reg-submit";
pub const REG_CANCEL: &str = "reg-cancel";

// ④ ユーザー認証
pub const AUTH_USER_ID: &str = "auth-user-id";
pub const AUTH_PASSWORD: &str = "auth-password";
pub const AUTH_CANCEL: &str = "auth-cancel";
pub const AUTH_SOFTWARE_KEYBOARD: &str = "auth-software-keyboard";
pub const AUTH_SUBMIT: &str = "auth-submit";
/// Shown when the server answers 428: set a new password before anything else (R11).
pub const AUTH_NEW_PASSWORD: &str = "auth-new-password";
pub const AUTH_NEW_PASSWORD_CONFIRM: &str = "auth-new-password-confirm";
pub const AUTH_CHANGE_SUBMIT: &str = "auth-change-submit";

// パスワード用ソフトウェアキーボード
pub const KEYBOARD: &str = "software-keyboard";
pub const KEYBOARD_DISPLAY: &str = "keyboard-display";
/// Each key is `key-<char>`, e.g. `key-a`, `key-A`, `key-7`.
pub const KEYBOARD_KEY_PREFIX: &str = "key-";
pub const KEYBOARD_SHIFT: &str = "keyboard-shift";
pub const KEYBOARD_BACKSPACE: &str = "keyboard-backspace";
pub const KEYBOARD_CLEAR: &str = "keyboard-clear";
pub const KEYBOARD_CLOSE: &str = "keyboard-close";

// ⑤ 発行 / ⑥ 発行中 / ⑦ 発行結果 / ⑧ インポート
pub const ISSUE_CANCEL: &str = "issue-cancel";
pub const ISSUE_SUBMIT: &str = "issue-submit";
pub const ISSUING_PROGRESS: &str = "issuing-progress";
pub const RESULT_FILENAME: &str = "result-filename";
pub const RESULT_SERIAL: &str = "result-serial";
pub const RESULT_NOT_AFTER: &str = "result-not-after";
pub const RESULT_CLOSE: &str = "result-close";
pub const IMPORT_GUIDE: &str = "import-guide";
pub const IMPORT_CHECK: &str = "import-check";
pub const IMPORT_CHECK_RESULT: &str = "import-check-result";

// ブラウザの設定 (確認)
pub const BROWSER_CHECK_RESULTS: &str = "browser-check-results";
