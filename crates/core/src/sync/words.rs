//! What a sync tells a person, in the same words in the browser and in the CLI.

/// A size in the service's units (decimal), so both say the same number: "5 KB", "1.2 MB".
pub fn size_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => format!("{:.1} MB", b as f64 / 1_000_000.0),
        b if b >= 1_000 => format!("{} KB", b / 1_000),
        b => format!("{b} bytes"),
    }
}

/// The storage limit refused files: `refused` names each (as "“a.pdf” (5 KB)") with the
/// service's reason; `here` is where the files stay ("this browser", "this library"). `None`
/// when nothing was refused.
pub fn storage_refused(refused: &[(String, String)], here: &str) -> Option<String> {
    let (first, why) = refused.first()?;
    let others = match refused.len() {
        1 => String::new(),
        n => format!(
            " and {} other {}",
            n - 1,
            if n == 2 { "file" } else { "files" }
        ),
    };
    Some(format!(
        "{first}{others} did not upload: {why} The file stays in {here} and uploads by itself once there is room (free some online storage or ask for a larger limit)."
    ))
}

/// Objects skipped because this version cannot read them, in plain words (`None`: none).
pub fn unreadable(n: u64) -> Option<String> {
    (n > 0).then(|| {
        format!(
            "{} from the service could not be read by this version of refsync and {} skipped \
             (the online copy is kept as it is).",
            if n == 1 {
                "1 item".to_string()
            } else {
                format!("{n} items")
            },
            if n == 1 { "was" } else { "were" }
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_files_are_named_with_where_they_stay() {
        assert_eq!(size_text(5_000), "5 KB");
        assert_eq!(size_text(1_250_000), "1.2 MB");
        assert_eq!(storage_refused(&[], "this browser"), None);
        let two = [
            ("“a.pdf” (5 KB)".to_string(), "Full.".to_string()),
            ("“b.pdf” (7 KB)".to_string(), "Full.".to_string()),
        ];
        assert_eq!(
            storage_refused(&two, "this library").unwrap_or_default(),
            "“a.pdf” (5 KB) and 1 other file did not upload: Full. The file stays in this library and uploads by itself once there is room (free some online storage or ask for a larger limit)."
        );
    }

    #[test]
    fn skipped_objects_are_counted_in_words() {
        assert_eq!(unreadable(0), None);
        assert_eq!(
            unreadable(1).unwrap_or_default(),
            "1 item from the service could not be read by this version of refsync and was skipped (the online copy is kept as it is)."
        );
        assert!(unreadable(3).unwrap_or_default().starts_with("3 items"));
    }
}
