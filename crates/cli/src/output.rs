//! How commands talk to a person: tables cut to the terminal's width, progress bars (drawn
//! on standard error, hidden when it is not a terminal, so scripts and pipes see only the
//! output), questions before anything is deleted, and numbers with thousands separators.

use crate::error::{CliError, Result};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, IsTerminal, Write};

/// A bar counting `total` things; hidden when standard error is not a terminal.
pub fn bar(total: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(total);
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{{bar:40.cyan/blue}} {{human_pos}} of {{human_len}} {what} {{msg}}"
    )) {
        bar.set_style(style.progress_chars("█▉▊▋▌▍▎▏ "));
    }
    bar
}

/// Ask a yes/no question on the terminal; without one (a script) the answer is no, and the
/// script is told to pass `--yes`.
pub fn confirm(question: &str) -> Result<bool> {
    if !std::io::stdin().is_terminal() {
        return Err(CliError::bad_input(format!(
            "{question} Not asked because this is not a terminal: pass --yes to go ahead."
        )));
    }
    eprint!("{question} [y/N] ");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| CliError::other(e.to_string()))?;
    Ok(matches!(line.trim(), "y" | "Y" | "yes" | "Yes"))
}

pub use refsync_core::sync::words::thousands;

/// "1 reference", "2 references" (core's words, for the `usize` counts of lists).
pub fn count(n: usize, one: &str, many: &str) -> String {
    refsync_core::sync::words::count(n as u64, one, many)
}

/// `text` cut to `width` characters, with an ellipsis when cut.
fn fit(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width {
        format!("{text}{}", " ".repeat(width - n))
    } else {
        let mut s: String = text.chars().take(width.saturating_sub(1)).collect();
        s.push('…');
        s
    }
}

/// Print rows as aligned columns; the last column takes what width is left on a terminal.
pub fn table(headers: &[&str], rows: &[Vec<String>]) {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let last = widths.len().saturating_sub(1);
    // Only a terminal has a width to respect; a pipe gets whole cells.
    let term = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .filter(|_| std::io::stdout().is_terminal());
    for w in widths.iter_mut().take(last) {
        *w = (*w).min(40);
    }
    if let Some(cols) = term {
        let used: usize = widths.iter().take(last).map(|w| w + 2).sum();
        widths[last] = widths[last].min(cols.saturating_sub(used).max(10));
    }
    let line = |cells: Vec<String>| {
        let parts: Vec<String> = cells
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i == last && term.is_none() {
                    c.clone()
                } else {
                    fit(c, *w)
                }
            })
            .collect();
        parts.join("  ").trim_end().to_string()
    };
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "{}",
        line(headers.iter().map(|h| h.to_string()).collect())
    );
    for row in rows {
        let _ = writeln!(out, "{}", line(row.clone()));
    }
}

/// A date from Unix milliseconds, as UTC "2026-11-24 17:05".
pub fn date_time(ms: u64) -> String {
    let secs = (ms / 1000) as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil from days (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        (rem % 3600) / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_dates_read_as_people_write_them() {
        assert_eq!(thousands(50_000), "50,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(count(1, "reference", "references"), "1 reference");
        assert_eq!(date_time(0), "1970-01-01 00:00 UTC");
        assert_eq!(date_time(1_795_000_000_000), "2026-11-18 11:06 UTC");
    }
}
