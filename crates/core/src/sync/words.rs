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
        b if b >= 1_000_000_000 => {
            // A quota reads "2 GB", a large file "1.5 GB".
            let tenths = b / 100_000_000;
            match tenths % 10 {
                0 => format!("{} GB", tenths / 10),
                t => format!("{}.{t} GB", tenths / 10),
            }
        }
        b if b >= 1_000_000 => {
            // Tenths of a MB in whole numbers, rounded half to even as `{:.1}` would: float
            // printing would add its formatter to the web app's download.
            let (mut tenths, rest) = (b / 100_000, b % 100_000);
            if rest > 50_000 || (rest == 50_000 && tenths % 2 == 1) {
                tenths += 1;
            }
            if tenths % 10 == 0 && tenths >= 100 {
                // A limit reads "500 MB", not "500.0 MB".
                return format!("{} MB", tenths / 10);
            }
            format!("{}.{} MB", tenths / 10, tenths % 10)
        }
        b if b >= 1_000 => format!("{} KB", b / 1_000),
        b => format!("{b} bytes"),
    }
}

/// The online storage in use: "312 MB of 2 GB used (15%)".
pub fn storage_used(used: u64, limit: u64) -> String {
    format!(
        "{} of {} used ({}%)",
        size_text(used),
        size_text(limit),
        storage_percent(used, limit)
    )
}

/// Whole percent of the storage limit in use (100 when there is no room at all).
pub fn storage_percent(used: u64, limit: u64) -> u64 {
    if limit == 0 {
        return 100;
    }
    (u128::from(used) * 100 / u128::from(limit)).min(100) as u64
}

/// From 90% of the storage limit: a warning saying what happens when it is full and what to
/// do; `None` below it.
pub fn storage_warning(used: u64, limit: u64) -> Option<String> {
    let percent = storage_percent(used, limit);
    (percent >= 90).then(|| {
        let state = if used >= limit {
            "Your online storage is full".to_string()
        } else {
            format!("Your online storage is {percent}% full")
        };
        format!(
            "{state}. Attachments added once it is full stay on this device and do not sync. \
             Delete attachments you no longer need and empty the Trash (their room is given \
             back), or ask for a larger limit."
        )
    })
}

/// A file the service takes no file as large as: "too large to sync (limit 500 MB)".
pub fn too_large(limit: u64) -> String {
    format!("too large to sync (limit {})", size_text(limit))
}

/// References in the online library against the account's limit, when it has one:
/// "1,200 of 5,000 references".
pub fn references_used(references: u64, limit: Option<u64>) -> String {
    match limit {
        Some(limit) => format!(
            "{} of {} references",
            thousands(references),
            thousands(limit)
        ),
        None => count(references, "reference", "references"),
    }
}

/// A push refused because the account's reference limit would be passed, in words: how many,
/// what stays where, that others' changes still arrive, and what to do. `usage`: the online
/// references and the limit, when known.
pub fn reference_limit(usage: Option<(u64, u64)>, here: &str) -> String {
    let held = match usage {
        Some((references, limit)) => format!(
            "The online library holds {} and this account may hold at most {}",
            count(references, "reference", "references"),
            thousands(limit)
        ),
        None => "This account's reference limit is reached".to_string(),
    };
    format!(
        "{held}, so the changes made in {here} were not sent; they stay in {here} and are sent \
         by the next sync once there is room. Changes from your other devices were still \
         received. Delete references you no longer need and empty the Trash, or ask for a larger \
         limit."
    )
}

/// Files the service would not take: `refused` names each (as "“a.pdf” (5 KB)") with the
/// reason and whether it was for the storage limit (else the file's size); `here` is where the
/// files stay ("this browser", "this library"). `None` when nothing was refused.
pub fn storage_refused(refused: &[(String, String, bool)], here: &str) -> Option<String> {
    let full: Vec<&(String, String, bool)> = refused.iter().filter(|r| r.2).collect();
    let large: Vec<&(String, String, bool)> = refused.iter().filter(|r| !r.2).collect();
    let named = |list: &[&(String, String, bool)]| -> Option<(String, String)> {
        let (first, why, _) = list.first()?;
        let others = match list.len() {
            1 => String::new(),
            n => format!(
                " and {} other {}",
                n - 1,
                if n == 2 { "file" } else { "files" }
            ),
        };
        Some((format!("{first}{others}"), why.clone()))
    };
    let mut parts = Vec::new();
    if let Some((files, why)) = named(&full) {
        parts.push(format!(
            "Your online storage is full: {files} did not upload: {why} The file stays in {here} and uploads by itself once there is room (free some online storage or ask for a larger limit)."
        ));
    }
    if let Some((files, why)) = named(&large) {
        parts.push(format!(
            "{files} did not upload: {why} The file stays in {here} and is not synced; everything else is."
        ));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
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
        assert_eq!(size_text(500_000_000), "500 MB");
        assert_eq!(size_text(2_000_000_000), "2 GB");
        assert_eq!(size_text(1_500_000_000), "1.5 GB");
        assert_eq!(storage_refused(&[], "this browser"), None);
        let two = [
            ("“a.pdf” (5 KB)".to_string(), "Full.".to_string(), true),
            ("“b.pdf” (7 KB)".to_string(), "Full.".to_string(), true),
        ];
        assert_eq!(
            storage_refused(&two, "this library").unwrap_or_default(),
            "Your online storage is full: “a.pdf” (5 KB) and 1 other file did not upload: Full. The file stays in this library and uploads by itself once there is room (free some online storage or ask for a larger limit)."
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

    #[test]
    fn storage_in_use_and_its_warning() {
        assert_eq!(
            storage_used(312_000_000, 2_000_000_000),
            "312 MB of 2 GB used (15%)"
        );
        assert_eq!(storage_percent(5, 0), 100);
        assert_eq!(storage_warning(1_790_000_000, 2_000_000_000), None);
        let warned = storage_warning(1_860_000_000, 2_000_000_000).unwrap_or_default();
        assert!(
            warned.starts_with("Your online storage is 93% full."),
            "{warned}"
        );
        let full = storage_warning(2_000_000_000, 2_000_000_000).unwrap_or_default();
        assert!(full.starts_with("Your online storage is full."), "{full}");
        assert_eq!(too_large(500_000_000), "too large to sync (limit 500 MB)");
        let mixed = [
            ("“a.pdf” (5 KB)".to_string(), "Full.".to_string(), true),
            (
                "“film.mov” (600 MB)".to_string(),
                "It is too large to sync (limit 500 MB).".to_string(),
                false,
            ),
        ];
        let text = storage_refused(&mixed, "this browser").unwrap_or_default();
        assert!(
            text.contains("“a.pdf” (5 KB) did not upload: Full."),
            "{text}"
        );
        assert!(
            text.contains("“film.mov” (600 MB) did not upload: It is too large to sync (limit 500 MB). The file stays in this browser and is not synced"),
            "{text}"
        );
    }

    #[test]
    fn a_reference_limit_says_how_many_and_what_to_do() {
        let text = reference_limit(Some((5_000, 5_000)), "this browser");
        assert!(
            text.starts_with("The online library holds 5,000 references and this account may hold at most 5,000, so the changes made in this browser were not sent"),
            "{text}"
        );
        assert!(text.contains("Changes from your other devices were still received."));
        assert_eq!(
            references_used(1_200, Some(5_000)),
            "1,200 of 5,000 references"
        );
        assert_eq!(references_used(1, None), "1 reference");
    }
}
