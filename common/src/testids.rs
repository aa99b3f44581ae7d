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

// ログイン
pub const LOGIN_USER_ID: &str = "login-user-id";
pub const LOGIN_PASSWORD: &str = "login-password";
pub const LOGIN_SOFTWARE_KEYBOARD: &str = "login-software-keyboard";
pub const LOGIN_SUBMIT: &str = "login-submit";
pub const LOGIN_CANCEL: &str = "login-cancel";
/// The link to the issuance wizard shown with certificate errors (expired, revoked, …).
pub const LOGIN_REISSUE_LINK: &str = "login-reissue-link";

// ホーム
pub const HOME_USER_ID: &str = "home-user-id";
pub const HOME_ORGANIZATION: &str = "home-organization";
pub const HOME_CERT_NOT_AFTER: &str = "home-cert-not-after";
pub const HOME_CERT_DAYS_LEFT: &str = "home-cert-days-left";
pub const HOME_ACTIVITY: &str = "home-activity";
pub const HOME_RENEW: &str = "home-renew";
pub const HOME_LOGOUT: &str = "home-logout";
pub const HOME_ADMIN_LINK: &str = "home-admin-link";

// マスターユーザー: 一般ユーザー管理
pub const MASTER_USERS_TABLE: &str = "master-users-table";
/// Each row is `user-row-<userID>`.
pub const USER_ROW_PREFIX: &str = "user-row-";
/// Each unlock button is `unlock-<userID>`.
pub const UNLOCK_PREFIX: &str = "unlock-";
/// パスワード再設定 of one user: this prefix + user ID.
pub const RESET_PREFIX: &str = "reset-";
/// 利用停止 of one user: this prefix + user ID.
pub const RETIRE_PREFIX: &str = "retire-";
/// メール変更 of a user: this prefix + the user ID.
pub const EMAIL_PREFIX: &str = "email-";
/// The new one-time initial password after a reset.
pub const RESET_INITIAL_PASSWORD: &str = "reset-initial-password";
pub const MASTER_NEW_USER_ID: &str = "master-new-user-id";
pub const MASTER_NEW_EMAIL: &str = "master-new-email";
pub const MASTER_CREATE_USER: &str = "master-create-user";
pub const CREATED_INITIAL_PASSWORD: &str = "created-initial-password";

// 労金スタッフ (/admin)
pub const ADMIN_TAB_ORGANIZATIONS: &str = "admin-tab-organizations";
pub const ADMIN_TAB_USERS: &str = "admin-tab-users";
pub const ADMIN_TAB_CERTIFICATES: &str = "admin-tab-certificates";
pub const ADMIN_TAB_AUDIT: &str = "admin-tab-audit";
pub const ADMIN_TAB_MAIL: &str = "admin-tab-mail";
/// 承認待ち tab (its label carries the count of requests waiting).
pub const ADMIN_TAB_APPROVALS: &str = "admin-tab-approvals";
/// The table of requests for approval (検印).
pub const ADMIN_APPROVALS_TABLE: &str = "admin-approvals-table";
/// 承認 of request N: `approve-N`.
pub const APPROVE_PREFIX: &str = "approve-";
/// 却下 of request N: `reject-N`.
pub const REJECT_PREFIX: &str = "reject-";
/// The notice that an operation was only proposed (it waits for approval).
pub const APPROVAL_PROPOSED: &str = "approval-proposed";
/// The notice of a decided request (and the initial password an approved reset made).
pub const APPROVAL_DONE: &str = "approval-done";
/// 検証用エクスポート of the audit log's chain (a period searched).
pub const ADMIN_AUDIT_CHAIN_EXPORT: &str = "admin-audit-chain-export";
pub const ADMIN_ORG_NAME: &str = "admin-org-name";
pub const ADMIN_ORG_MASTER_ID: &str = "admin-org-master-id";
pub const ADMIN_ORG_EMAIL: &str = "admin-org-email";
pub const ADMIN_ORG_CREATE: &str = "admin-org-create";
pub const ADMIN_NOTICE: &str = "admin-notice";
pub const ADMIN_CERT_SEARCH: &str = "admin-cert-search";
pub const ADMIN_CERT_SEARCH_SUBMIT: &str = "admin-cert-search-submit";
pub const ADMIN_CERT_TABLE: &str = "admin-cert-table";
/// Each revoke button is `revoke-<serial>`.
pub const REVOKE_PREFIX: &str = "revoke-";
pub const REVOKE_REASON: &str = "revoke-reason";
pub const REVOKE_CONFIRM: &str = "revoke-confirm";
pub const ADMIN_AUDIT_TABLE: &str = "admin-audit-table";
pub const ADMIN_MAIL_TABLE: &str = "admin-mail-table";

// The searched, sorted and paged lists (staff tabs, detail pages, the master's list): the parts
// of a list are named after its table's testid, e.g. `admin-org-table-next`.
/// The count (`1,234件`): `<table testid>-count`.
pub const LIST_COUNT_SUFFIX: &str = "-count";
/// 前へ: `<table testid>-prev`.
pub const LIST_PREV_SUFFIX: &str = "-prev";
/// 次へ: `<table testid>-next`.
pub const LIST_NEXT_SUFFIX: &str = "-next";
/// The page size select: `<table testid>-limit`.
pub const LIST_LIMIT_SUFFIX: &str = "-limit";
/// The sort button of a column: `<table testid>-sort-<column>`, e.g. `admin-org-table-sort-name`.
pub const LIST_SORT_SUFFIX: &str = "-sort-";
/// Each link to a company's detail page is `org-link-<id>`.
pub const ORG_LINK_PREFIX: &str = "org-link-";
/// Each link to a user's detail page is `user-link-<userID>`.
pub const USER_LINK_PREFIX: &str = "user-link-";

// 労金スタッフ: the tabs' searches and lists
pub const ADMIN_TAB_REGISTER: &str = "admin-tab-register";
pub const ADMIN_ORG_SEARCH: &str = "admin-org-search";
pub const ADMIN_ORG_SEARCH_SUBMIT: &str = "admin-org-search-submit";
pub const ADMIN_ORG_TABLE: &str = "admin-org-table";
pub const ADMIN_ORG_EXPORT: &str = "admin-org-export";
pub const ADMIN_USER_SEARCH: &str = "admin-user-search";
pub const ADMIN_USER_SEARCH_SUBMIT: &str = "admin-user-search-submit";
pub const ADMIN_USER_TABLE: &str = "admin-user-table";
pub const ADMIN_USER_EXPORT: &str = "admin-user-export";
pub const ADMIN_CERT_EXPORT: &str = "admin-cert-export";
pub const ADMIN_AUDIT_SEARCH_SUBMIT: &str = "admin-audit-search-submit";
pub const ADMIN_AUDIT_EXPORT: &str = "admin-audit-export";
pub const ADMIN_MAIL_SEARCH_SUBMIT: &str = "admin-mail-search-submit";

// 労金スタッフ: 会社の詳細 (/admin/organizations/{id}) and 利用者の詳細 (/admin/users/{user_id})
pub const ORG_DETAIL: &str = "org-detail";
pub const ORG_DETAIL_USERS: &str = "org-detail-users";
pub const ORG_DETAIL_CERTS: &str = "org-detail-certs";
pub const ORG_DETAIL_USERS_EXPORT: &str = "org-detail-users-export";
pub const ORG_DETAIL_CERTS_EXPORT: &str = "org-detail-certs-export";
/// 会社情報の変更: name, limit, force, submit; 利用停止 / 利用再開.
pub const ORG_EDIT_NAME: &str = "org-edit-name";
pub const ORG_EDIT_LIMIT: &str = "org-edit-limit";
pub const ORG_EDIT_FORCE: &str = "org-edit-force";
pub const ORG_EDIT_SUBMIT: &str = "org-edit-submit";
pub const ORG_SUSPEND: &str = "org-suspend";
pub const ORG_RESUME: &str = "org-resume";
/// マスターユーザーの変更 on a company's page (a new account): ID, e-mail, retire the former, submit.
pub const NEW_MASTER_ID: &str = "new-master-id";
pub const NEW_MASTER_EMAIL: &str = "new-master-email";
pub const NEW_MASTER_RETIRE: &str = "new-master-retire";
pub const NEW_MASTER_SUBMIT: &str = "new-master-submit";
/// On a user's page: make them the master user (and retire the former one or not).
pub const MAKE_MASTER: &str = "make-master";
pub const MAKE_MASTER_RETIRE: &str = "make-master-retire";
pub const USER_DETAIL: &str = "user-detail";
pub const USER_DETAIL_CERTS: &str = "user-detail-certs";
pub const USER_DETAIL_AUDIT: &str = "user-detail-audit";

// マスターユーザー: the search of their list
pub const MASTER_SEARCH_USER_ID: &str = "master-search-user-id";
pub const MASTER_SEARCH_SUBMIT: &str = "master-search-submit";
