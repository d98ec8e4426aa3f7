//! What a sync tells a person, in the same words in the browser and in the CLI.

/// 50000 as "50,000".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "1 reference", "2,000 references".
pub fn count(n: u64, one: &str, many: &str) -> String {
    format!("{} {}", thousands(n), if n == 1 { one } else { many })
}

/// What one sync did, counted: the engine's outcome and the attachment files moved.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncCounts {
    pub sent: u64,
    pub received: u64,
    pub deleted: u64,
    pub conflicts: u64,
    pub unreadable: u64,
    /// Attachment files uploaded plus downloaded.
    pub files: u64,
}

impl SyncCounts {
    pub fn of(outcome: &super::SyncOutcome, files: u64) -> SyncCounts {
        SyncCounts {
            sent: outcome.sent,
            received: outcome.received,
            deleted: outcome.deleted,
            conflicts: outcome.conflicts,
            unreadable: outcome.unreadable,
            files,
        }
    }
}

/// A sync that finished, in plain words: "Synced: 2 sent, 1,200 received, 1 in conflict (see
/// Sync Conflicts), 1 attachment file." `conflicts_at` is where this client shows conflicts.
pub fn synced(c: &SyncCounts, conflicts_at: &str) -> String {
    let mut parts = Vec::new();
    for (n, what) in [
        (c.sent, "sent"),
        (c.received, "received"),
        (c.deleted, "deleted"),
    ] {
        if n > 0 {
            parts.push(format!("{} {what}", thousands(n)));
        }
    }
    if c.conflicts > 0 {
        parts.push(format!(
            "{} in conflict (see {conflicts_at})",
            thousands(c.conflicts)
        ));
    }
    if c.unreadable > 0 {
        parts.push(format!(
            "{} skipped (unreadable by this version)",
            thousands(c.unreadable)
        ));
    }
    if c.files > 0 {
        parts.push(count(c.files, "attachment file", "attachment files"));
    }
    if parts.is_empty() {
        "Synced: everything was already up to date.".into()
    } else {
        format!("Synced: {}.", parts.join(", "))
    }
}

/// A size in the service's units (decimal), so both say the same number: "5 KB", "1.2 MB".
pub fn size_text(bytes: u64) -> String {
    match bytes {
        b if b >= 1_000_000 => {
            // Tenths of a MB in whole numbers, rounded half to even as `{:.1}` would: float
            // printing would add its formatter to the web app's download.
            let (mut tenths, rest) = (b / 100_000, b % 100_000);
            if rest > 50_000 || (rest == 50_000 && tenths % 2 == 1) {
                tenths += 1;
            }
            format!("{}.{} MB", tenths / 10, tenths % 10)
        }
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
        assert_eq!(size_text(1_350_000), "1.4 MB");
        assert_eq!(size_text(1_999_999), "2.0 MB");
        assert_eq!(size_text(12_345_678), "12.3 MB");
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
    fn a_sync_reads_in_plain_words() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(50_000), "50,000");
        assert_eq!(thousands(1_234_567), "1,234,567");
        assert_eq!(count(1, "file", "files"), "1 file");
        assert_eq!(count(2_000, "file", "files"), "2,000 files");
        let quiet = SyncCounts::default();
        assert_eq!(
            synced(&quiet, "Sync Conflicts"),
            "Synced: everything was already up to date."
        );
        let busy = SyncCounts {
            sent: 2,
            received: 1_200,
            conflicts: 1,
            unreadable: 3,
            files: 1,
            ..SyncCounts::default()
        };
        assert_eq!(
            synced(&busy, "Sync Conflicts"),
            "Synced: 2 sent, 1,200 received, 1 in conflict (see Sync Conflicts), 3 skipped (unreadable by this version), 1 attachment file."
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
