//! The app's screens and their paths: one [`Route`] per screen. Links and redirects take their
//! `href` from it, and the router in `app.rs` matches the very same values (a `Route` is a
//! [`PossibleRouteMatch`]), so a path is written once.

use leptos_router::{PartialPathMatch, PathSegment, PossibleRouteMatch, StaticSegment, params::ParamsMap};

/// A screen of the app.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    /// `/` ログイン画面: the entrance to every function.
    Top,
    /// `/login` ログイン.
    Login,
    /// `/home` ホーム.
    Home,
    /// `/admin` 労金スタッフ管理画面.
    Admin,
    /// `/register/master` マスターユーザー初期登録ログイン.
    RegisterMaster,
    /// `/browser-check` ブラウザの設定（確認）.
    BrowserCheck,
    /// A screen of the issuance wizard, under [`ISSUANCE_PREFIX`].
    Issuance(IssuanceStep),
}

/// The screens of the issuance wizard.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IssuanceStep {
    /// `/issuance/auth` ④ ユーザー認証.
    Auth,
    /// `/issuance/confirm` ⑤ 発行 → ⑥ 発行中 → ⑦ 発行結果.
    Confirm,
    /// `/issuance/import` ⑧ インポート.
    Import,
}

/// The path prefix of the wizard's screens; leaving it clears the wizard (`wizard.rs`).
pub const ISSUANCE_PREFIX: &str = "/issuance/";

/// The query ④ gets from マスターユーザー初期登録, so it says the password was changed.
const REGISTERED: (&str, &str) = ("registered", "1");

impl Route {
    /// The screen's path: what links point to and what the router matches.
    pub const fn href(self) -> &'static str {
        match self {
            Route::Top => "/",
            Route::Login => "/login",
            Route::Home => "/home",
            Route::Admin => "/admin",
            Route::RegisterMaster => "/register/master",
            Route::BrowserCheck => "/browser-check",
            Route::Issuance(IssuanceStep::Auth) => "/issuance/auth",
            Route::Issuance(IssuanceStep::Confirm) => "/issuance/confirm",
            Route::Issuance(IssuanceStep::Import) => "/issuance/import",
        }
    }

    /// The path's segments (none for `/`).
    fn segments(self) -> impl Iterator<Item = &'static str> {
        self.href().split('/').filter(|segment| !segment.is_empty())
    }
}

/// The staff screens' detail pages, below [`Route::Admin`] (matched in `app::StaffApp` with
/// `path!`, whose `:name` segments these templates spell the same way).
pub const ADMIN_ORGANIZATION_PATH: &str = "/admin/organizations/:id";
/// See [`ADMIN_ORGANIZATION_PATH`].
pub const ADMIN_USER_PATH: &str = "/admin/users/:user_id";

/// `/admin/organizations/{id}`: one company.
pub fn admin_organization(id: i64) -> String {
    fill(ADMIN_ORGANIZATION_PATH, &id.to_string())
}

/// `/admin/users/{user_id}`: one user (the ID percent-encoded).
pub fn admin_user(user_id: &str) -> String {
    fill(ADMIN_USER_PATH, &crate::query::encode(user_id))
}

/// `/admin?tab=…&…`: a tab of the staff screen with a list's search (`pairs`) in its query.
pub fn admin_tab(tab: &str, pairs: &[(&str, String)]) -> String {
    let mut all = Vec::with_capacity(pairs.len() + 1);
    all.push((ADMIN_TAB_KEY, tab.to_owned()));
    all.extend(pairs.iter().cloned());
    crate::query::with_pairs(Route::Admin.href(), &all)
}

/// The query key of the staff screen's tab (`/admin?tab=users`).
pub const ADMIN_TAB_KEY: &str = "tab";

/// `template` with its one `:name` segment replaced by `segment`.
fn fill(template: &str, segment: &str) -> String {
    let (head, name_and_rest) = template.split_once(':').unwrap_or((template, ""));
    let rest = name_and_rest.find('/').map_or("", |at| &name_and_rest[at..]);
    format!("{head}{segment}{rest}")
}

/// ④ as reached right after マスターユーザー初期登録: `/issuance/auth?registered=1`.
pub fn issuance_auth_after_registration() -> String {
    let (key, value) = REGISTERED;
    format!("{}?{key}={value}", Route::Issuance(IssuanceStep::Auth).href())
}

/// Whether ④ was reached through [`issuance_auth_after_registration`].
pub fn is_after_registration(query: &ParamsMap) -> bool {
    let (key, value) = REGISTERED;
    query.get(key).as_deref() == Some(value)
}

/// Matches exactly what `path!` makes of [`Route::href`]: `()` for `/`, otherwise one
/// [`StaticSegment`] per segment, in a row.
impl PossibleRouteMatch for Route {
    fn optional(&self) -> bool {
        false
    }

    fn test<'a>(&self, path: &'a str) -> Option<PartialPathMatch<'a>> {
        let mut remaining = path;
        let mut matched_len = 0;
        for segment in self.segments() {
            let matched = StaticSegment(segment).test(remaining)?;
            matched_len += matched.matched().len();
            remaining = matched.remaining();
        }
        Some(PartialPathMatch::new(remaining, Vec::new(), &path[..matched_len]))
    }

    fn generate_path(&self, path: &mut Vec<PathSegment>) {
        path.extend(self.segments().map(|segment| PathSegment::Static(segment.into())));
    }
}

#[cfg(test)]
mod tests {
    use leptos_router::path;

    use super::*;

    const ALL: [Route; 9] = [
        Route::Top,
        Route::Login,
        Route::Home,
        Route::Admin,
        Route::RegisterMaster,
        Route::Issuance(IssuanceStep::Auth),
        Route::Issuance(IssuanceStep::Confirm),
        Route::Issuance(IssuanceStep::Import),
        Route::BrowserCheck,
    ];

    /// What the router sees of one definition for one URL path.
    fn outcome(def: &impl PossibleRouteMatch, path: &str) -> Option<(String, String)> {
        def.test(path).map(|m| (m.matched().to_owned(), m.remaining().to_owned()))
    }

    #[test]
    fn routes_match_like_the_path_macro() {
        let samples = [
            "",
            "/",
            "/login",
            "/login/",
            "/loginx",
            "/home",
            "/admin",
            "/register/master",
            "/register",
            "/register/masters",
            "/issuance/auth",
            "/issuance/confirm",
            "/issuance/import",
            "/issuance/",
            "/issuance/auth/extra",
            "/browser-check",
            "/nowhere",
        ];
        let check = |route: Route, def: &dyn Fn(&str) -> Option<(String, String)>| {
            for sample in samples {
                assert_eq!(outcome(&route, sample), def(sample), "{route:?} on {sample:?}");
            }
        };
        check(Route::Top, &|p| outcome(&path!("/"), p));
        check(Route::Login, &|p| outcome(&path!("/login"), p));
        check(Route::Home, &|p| outcome(&path!("/home"), p));
        check(Route::Admin, &|p| outcome(&path!("/admin"), p));
        check(Route::RegisterMaster, &|p| outcome(&path!("/register/master"), p));
        check(Route::Issuance(IssuanceStep::Auth), &|p| outcome(&path!("/issuance/auth"), p));
        check(Route::Issuance(IssuanceStep::Confirm), &|p| outcome(&path!("/issuance/confirm"), p));
        check(Route::Issuance(IssuanceStep::Import), &|p| outcome(&path!("/issuance/import"), p));
        check(Route::BrowserCheck, &|p| outcome(&path!("/browser-check"), p));
    }

    #[test]
    fn wizard_screens_and_only_they_are_under_the_issuance_prefix() {
        for route in ALL {
            let under = route.href().starts_with(ISSUANCE_PREFIX);
            assert_eq!(under, matches!(route, Route::Issuance(_)), "{route:?}");
        }
    }

    #[test]
    fn admin_detail_paths_fill_their_segment_and_match_the_path_macro() {
        assert_eq!(admin_organization(42), "/admin/organizations/42");
        assert_eq!(admin_user("Abc123"), "/admin/users/Abc123");
        assert_eq!(admin_user("a/b c"), "/admin/users/a%2Fb%20c");
        let org = path!("/admin/organizations/:id");
        let matched = org.test("/admin/organizations/42").expect("matches");
        assert_eq!(matched.params(), vec![(std::borrow::Cow::from("id"), "42".to_owned())]);
        let user = path!("/admin/users/:user_id");
        assert!(user.test(&admin_user("Abc123")).is_some());
        // The list screen itself is not a detail page.
        assert!(org.test("/admin").is_none());
        assert!(ADMIN_ORGANIZATION_PATH.starts_with(Route::Admin.href()));
        assert!(ADMIN_USER_PATH.starts_with(Route::Admin.href()));
    }

    #[test]
    fn a_tab_and_its_search_are_the_query_of_the_staff_screen() {
        assert_eq!(admin_tab("users", &[]), "/admin?tab=users");
        let pairs = [("q", "ａ".to_owned()), ("limit", "2".to_owned())];
        assert_eq!(admin_tab("organizations", &pairs), "/admin?tab=organizations&q=%EF%BD%81&limit=2");
    }

    /// The positive case needs a filled `ParamsMap`, which unescapes through js-sys and so cannot
    /// be built natively: the e2e flow `master_registers_then_issues_and_the_p12_imports` sees
    /// the notice.
    #[test]
    fn the_registration_query_goes_to_the_wizard_and_is_absent_otherwise() {
        assert_eq!(issuance_auth_after_registration(), "/issuance/auth?registered=1");
        assert!(issuance_auth_after_registration().starts_with(ISSUANCE_PREFIX));
        assert!(!is_after_registration(&ParamsMap::new()));
    }
}
