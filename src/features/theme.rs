//! The colour theme: the system's (light or dark) unless the person picks one. The choice is
//! kept in this browser (localStorage) and set on `<html data-theme>`; index.html applies it
//! before the app starts, so a reload never flashes the other theme. The colours themselves
//! are style/main.css's `light-dark()` pairs.

use leptos::prelude::*;

/// Where the choice is kept (index.html reads the same key).
const KEY: &str = "refsync-theme";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Theme {
    System,
    Light,
    Dark,
}

impl Theme {
    const ALL: [Theme; 3] = [Theme::System, Theme::Light, Theme::Dark];

    fn id(self) -> &'static str {
        match self {
            Theme::System => "system",
            Theme::Light => "light",
            Theme::Dark => "dark",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Theme::System => "System theme",
            Theme::Light => "Light theme",
            Theme::Dark => "Dark theme",
        }
    }

    fn from_id(id: &str) -> Theme {
        Theme::ALL
            .into_iter()
            .find(|t| t.id() == id)
            .unwrap_or(Theme::System)
    }
}

fn saved() -> Theme {
    crate::browser::pref(KEY).map_or(Theme::System, |id| Theme::from_id(&id))
}

/// Show `theme` now and keep the choice (a private window without storage still shows it).
fn apply(theme: Theme) {
    let root = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element());
    if let Some(root) = root {
        let _ = match theme {
            Theme::System => root.remove_attribute("data-theme"),
            t => root.set_attribute("data-theme", t.id()),
        };
    }
    crate::browser::set_pref(KEY, (theme != Theme::System).then(|| theme.id()));
}

/// The top bar's theme menu.
#[component]
pub fn ThemeSwitch() -> impl IntoView {
    let current = RwSignal::new(saved());
    view! {
        <select id="theme" class="theme-select" aria-label="Theme" title="Light or dark"
            on:change=move |ev| {
                let theme = Theme::from_id(&event_target_value(&ev));
                apply(theme);
                current.set(theme);
            }>
            {Theme::ALL.map(|t| view! {
                <option value=t.id() selected=move || current.get() == t>{t.label()}</option>
            })}
        </select>
    }
}
