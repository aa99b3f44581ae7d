//! Any unknown path: say so in Japanese and lead back to the login screen.

use leptos::prelude::*;
use leptos_router::components::A;

use crate::routes::Route;

#[component]
pub fn NotFoundPage() -> impl IntoView {
    view! {
        <section class="card">
            <h1>"ページが見つかりません"</h1>
            <p>"お探しのページは存在しないか、移動した可能性があります。URL をご確認ください。"</p>
            <p>
                <A href=Route::Top.href() {..} class="button button-primary">
                    "ログイン画面へ戻る"
                </A>
            </p>
        </section>
    }
}
