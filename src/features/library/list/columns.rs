//! The list's columns: which are shown, in what order and how wide, chosen by the person
//! (the Columns menu, dragging a column's edge, or its arrow keys) and kept in this browser.
//!
//! Invariants: Title is always shown (a row must say what it is); widths are shares of the
//! list's width (CSS `fr`), so the columns always fit the pane however narrow it is; a kept
//! choice that names a column this version does not know is read without it.

use crate::browser;
use leptos::prelude::*;
use refsync_core::query::SortField;
use refsync_core::{Field, Reference};

/// Where the choice is kept.
const PREF: &str = "refsync-columns";
/// The narrowest a column's share may get (a share of about 1 per 10 px of a typical list).
const MIN_SHARE: u16 = 4;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Column {
    Author,
    Year,
    Title,
    Journal,
    Type,
    Added,
    Modified,
    Label,
    Rating,
    Read,
}

impl Column {
    pub const ALL: [Column; 10] = [
        Column::Author,
        Column::Year,
        Column::Title,
        Column::Journal,
        Column::Type,
        Column::Added,
        Column::Modified,
        Column::Label,
        Column::Rating,
        Column::Read,
    ];

    pub fn id(self) -> &'static str {
        match self {
            Column::Author => "author",
            Column::Year => "year",
            Column::Title => "title",
            Column::Journal => "journal",
            Column::Type => "type",
            Column::Added => "added",
            Column::Modified => "modified",
            Column::Label => "label",
            Column::Rating => "rating",
            Column::Read => "read",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Column::Author => "Author",
            Column::Year => "Year",
            Column::Title => "Title",
            Column::Journal => "Journal",
            Column::Type => "Type",
            Column::Added => "Added",
            Column::Modified => "Modified",
            Column::Label => "Label",
            Column::Rating => "Rating",
            Column::Read => "Read",
        }
    }

    fn from_id(id: &str) -> Option<Column> {
        Column::ALL.into_iter().find(|c| c.id() == id)
    }

    /// What sorting by this column sorts by (the index keeps an order for these).
    pub fn sort(self) -> Option<SortField> {
        match self {
            Column::Author => Some(SortField::Author),
            Column::Year => Some(SortField::Year),
            Column::Title => Some(SortField::Title),
            Column::Journal => Some(SortField::Journal),
            Column::Type => Some(SortField::Type),
            Column::Added => Some(SortField::DateAdded),
            _ => None,
        }
    }

    /// A new column's share of the width.
    fn default_share(self) -> u16 {
        match self {
            Column::Title => 36,
            Column::Author => 16,
            Column::Journal => 13,
            Column::Type | Column::Added | Column::Modified | Column::Label => 10,
            Column::Year | Column::Rating | Column::Read => 7,
        }
    }

    /// The narrowest it gets, whatever its share: what its usual content needs.
    fn min_width(self) -> &'static str {
        match self {
            Column::Year | Column::Read => "3.8rem",
            Column::Added | Column::Modified => "6.8rem",
            Column::Rating => "4.6rem",
            Column::Title => "6rem",
            _ => "3rem",
        }
    }

    /// The class its cells carry (for their look: numbers in tabular figures, muted text).
    pub fn class(self) -> &'static str {
        match self {
            Column::Author => "cell col-author",
            Column::Year => "cell col-year",
            Column::Title => "cell col-title",
            Column::Journal => "cell col-journal",
            Column::Type => "cell col-type",
            Column::Added => "cell col-added",
            Column::Modified => "cell col-modified",
            Column::Label => "cell col-label",
            Column::Rating => "cell col-rating",
            Column::Read => "cell col-read",
        }
    }

    /// What a reference's row shows in this column.
    pub fn text(self, r: &Reference) -> String {
        match self {
            Column::Author => r.author_summary(),
            Column::Year => r.year().to_string(),
            Column::Title => r.title().to_string(),
            Column::Journal => r.get(Field::SecondaryTitle).to_string(),
            Column::Type => r.ref_type.label().to_string(),
            Column::Added => super::rows::date_text(r.date_added),
            Column::Modified => super::rows::date_text(r.date_modified.max(r.date_added)),
            Column::Label => r.get(Field::Label).to_string(),
            Column::Rating => "★".repeat(r.rating.min(5).into()),
            Column::Read => if r.read { "Read" } else { "" }.to_string(),
        }
    }
}

/// The shown columns, in order, each with its share of the width.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Columns(pub Vec<(Column, u16)>);

impl Default for Columns {
    fn default() -> Columns {
        Columns(
            [
                Column::Author,
                Column::Year,
                Column::Title,
                Column::Journal,
                Column::Type,
                Column::Added,
            ]
            .into_iter()
            .map(|c| (c, c.default_share()))
            .collect(),
        )
    }
}

impl Columns {
    /// "author:18,year:6,...": unknown names and bad numbers are left out; Title is put back
    /// if missing.
    fn from_text(text: &str) -> Columns {
        let mut shown: Vec<(Column, u16)> = Vec::new();
        for part in text.split(',') {
            let (id, share) = part.split_once(':').unwrap_or((part, ""));
            if let Some(c) = Column::from_id(id.trim()) {
                if shown.iter().all(|(s, _)| *s != c) {
                    let share = share.trim().parse().unwrap_or(c.default_share());
                    shown.push((c, share.clamp(MIN_SHARE, 400)));
                }
            }
        }
        let mut columns = Columns(shown);
        columns.keep_title();
        columns
    }

    fn to_text(&self) -> String {
        self.0
            .iter()
            .map(|(c, w)| format!("{}:{w}", c.id()))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn keep_title(&mut self) {
        if self.0.iter().all(|(c, _)| *c != Column::Title) {
            self.0
                .insert(0, (Column::Title, Column::Title.default_share()));
        }
    }

    pub fn shows(&self, column: Column) -> bool {
        self.0.iter().any(|(c, _)| *c == column)
    }

    /// Show or hide `column` (Title stays); a shown column goes at the end.
    pub fn toggle(&mut self, column: Column) {
        if let Some(i) = self.0.iter().position(|(c, _)| *c == column) {
            if column != Column::Title {
                self.0.remove(i);
            }
        } else {
            self.0.push((column, column.default_share()));
        }
    }

    /// Move the column at `index` one place left (`-1`) or right (`1`).
    pub fn shift(&mut self, index: usize, by: isize) {
        let to = index as isize + by;
        if to >= 0 && (to as usize) < self.0.len() && index < self.0.len() {
            self.0.swap(index, to as usize);
        }
    }

    /// Widen the column at `index` by `delta` share, taken from (or given to) its right-hand
    /// neighbour (the last column trades with its left-hand one), as dragging a border does.
    pub fn resize(&mut self, index: usize, delta: i32) {
        let n = self.0.len();
        if n < 2 || index >= n {
            return;
        }
        let other = if index + 1 < n { index + 1 } else { index - 1 };
        let (a, b) = (i32::from(self.0[index].1), i32::from(self.0[other].1));
        let min = i32::from(MIN_SHARE);
        let delta = delta.clamp(min - a, b - min);
        self.0[index].1 = u16::try_from(a + delta).unwrap_or(MIN_SHARE);
        self.0[other].1 = u16::try_from(b - delta).unwrap_or(MIN_SHARE);
    }

    /// The CSS grid columns of the header and of every row.
    pub fn template(&self) -> String {
        self.0
            .iter()
            .map(|(c, w)| format!("minmax({}, {w}fr)", c.min_width()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    pub fn share_total(&self) -> u32 {
        self.0.iter().map(|(_, w)| u32::from(*w)).sum()
    }
}

/// The columns as kept in this browser (the defaults the first time).
pub fn load() -> Columns {
    browser::pref(PREF).map_or_else(Columns::default, |t| Columns::from_text(&t))
}

pub fn save(columns: &Columns) {
    browser::set_pref(PREF, Some(&columns.to_text()));
}

/// The Columns menu: every column with a box to show it, and arrows to move the shown ones.
#[component]
pub fn ColumnsMenu(columns: RwSignal<Columns>) -> impl IntoView {
    let open = RwSignal::new(false);
    let change = move |f: &dyn Fn(&mut Columns)| {
        columns.update(|c| f(c));
        columns.with_untracked(save);
    };
    view! {
        <div class="columns-menu">
            <button id="columns-button" class="btn btn-small" title="Choose, order and reset the list's columns"
                aria-expanded=move || open.get().to_string()
                on:click=move |_| open.update(|o| *o = !*o)>"Columns"</button>
            <Show when=move || open.get()>
                <div id="columns-popup" class="columns-popup" role="group" aria-label="Columns"
                    on:keydown=move |ev: leptos::ev::KeyboardEvent| if ev.key() == "Escape" { open.set(false) }>
                    <ul>
                        {Column::ALL.map(|col| {
                            let id = format!("column-{}", col.id());
                            let index = move || columns.with(|c| c.0.iter().position(|(s, _)| *s == col));
                            view! {
                                <li class="column-choice">
                                    <input type="checkbox" id=id.clone()
                                        prop:checked=move || columns.with(|c| c.shows(col))
                                        disabled=col == Column::Title
                                        on:change=move |_| change(&|c| c.toggle(col)) />
                                    <label for=id>{col.label()}</label>
                                    <button type="button" class="icon-btn" aria-label=format!("Move {} left", col.label())
                                        disabled=move || index().is_none_or(|i| i == 0)
                                        on:click=move |_| if let Some(i) = index() { change(&|c| c.shift(i, -1)) }>"←"</button>
                                    <button type="button" class="icon-btn" aria-label=format!("Move {} right", col.label())
                                        disabled=move || index().is_none_or(|i| i + 1 >= columns.with(|c| c.0.len()))
                                        on:click=move |_| if let Some(i) = index() { change(&|c| c.shift(i, 1)) }>"→"</button>
                                </li>
                            }
                        })}
                    </ul>
                    <button type="button" class="link-btn" on:click=move |_| change(&|c| *c = Columns::default())>"Reset columns"</button>
                </div>
            </Show>
        </div>
    }
}

#[cfg(test)]
mod tests {
    // The web crate's tests run in the browser: `#[test]` would never run there.
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test]
    fn a_kept_choice_reads_back_and_bad_parts_are_left_out() {
        let mut c = Columns::default();
        c.toggle(Column::Journal);
        c.toggle(Column::Modified);
        c.shift(0, 1);
        c.resize(0, 5);
        assert_eq!(Columns::from_text(&c.to_text()), c);
        let odd = Columns::from_text("year:x,colour:3,year:9,rating:1");
        assert_eq!(
            odd.0,
            vec![
                (Column::Title, 36),
                (Column::Year, Column::Year.default_share()),
                (Column::Rating, MIN_SHARE)
            ]
        );
    }

    #[wasm_bindgen_test]
    fn resizing_trades_with_the_neighbour_and_keeps_a_minimum() {
        let mut c = Columns(vec![(Column::Author, 10), (Column::Title, 10)]);
        c.resize(0, 100);
        assert_eq!(c.0, vec![(Column::Author, 16), (Column::Title, MIN_SHARE)]);
        c.resize(1, 3);
        assert_eq!(c.0, vec![(Column::Author, 13), (Column::Title, 7)]);
        c.toggle(Column::Title);
        assert!(c.shows(Column::Title), "Title cannot be hidden");
    }
}
