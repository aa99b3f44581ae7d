//! The issuance wizard's step bar ① URLアクセス … ⑧ インポート, with the current step marked for
//! the eye (colour and weight) and for assistive technology (`aria-current="step"`).

use common::testids;
use leptos::prelude::*;

/// The eight steps of the manual's 電子証明書の更新・再発行.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    UrlAccess = 1,
    CertificateSelection,
    IssueSelection,
    UserAuthentication,
    Issue,
    Issuing,
    IssueResult,
    Import,
}

impl Step {
    const ALL: [Step; 8] = [
        Step::UrlAccess,
        Step::CertificateSelection,
        Step::IssueSelection,
        Step::UserAuthentication,
        Step::Issue,
        Step::Issuing,
        Step::IssueResult,
        Step::Import,
    ];

    fn number(self) -> &'static str {
        ["①", "②", "③", "④", "⑤", "⑥", "⑦", "⑧"][self as usize - 1]
    }

    fn label(self) -> &'static str {
        match self {
            Step::UrlAccess => "URLアクセス",
            Step::CertificateSelection => "電子証明書選択",
            Step::IssueSelection => "電子証明書発行選択",
            Step::UserAuthentication => "ユーザー認証",
            Step::Issue => "発行",
            Step::Issuing => "発行中",
            Step::IssueResult => "発行結果",
            Step::Import => "インポート",
        }
    }
}

/// The step bar; `current` may change while the screen stays (⑤ → ⑥ → ⑦).
#[component]
pub fn StepBar(#[prop(into)] current: Signal<Step>) -> impl IntoView {
    let steps = Step::ALL.map(|step| {
        let is_current = move || current.get() == step;
        let class = move || {
            let now = current.get();
            if step == now {
                "step step-current"
            } else if step < now {
                "step step-done"
            } else {
                "step step-upcoming"
            }
        };
        view! {
            <li
                class=class
                aria-current=move || is_current().then_some("step")
                data-testid=move || is_current().then_some(testids::STEP_CURRENT)
            >
                <span class="step-number" aria-hidden="true">{step.number()}</span>
                <span class="step-label">{step.label()}</span>
                <span class="visually-hidden">
                    {move || {
                        let now = current.get();
                        if step == now {
                            "（現在の手順）"
                        } else if step < now {
                            "（完了）"
                        } else {
                            ""
                        }
                    }}
                </span>
            </li>
        }
    });
    view! {
        <nav class="step-bar" aria-label="電子証明書発行の手順" data-testid=testids::STEP_BAR>
            <ol>{steps.into_iter().collect_view()}</ol>
        </nav>
    }
}
