//! Backup files: a whole library with its attachments in one `.zip` — `manifest.json` (every
//! reference, group, group set and attachment record) plus `files/<sha256>` for each
//! attachment's bytes. The web app and the CLI write and read the same format, so a backup made
//! by one restores in the other.
//!
//! Invariants: reading checks everything it can (the zip's structure, every entry's CRC-32,
//! the manifest's format and version, each file's size against its attachment record) and
//! fails with a message that says what is wrong rather than restoring part of a library.

use crate::protocol::Object;
use crate::{Attachment, Group, GroupSet, Reference, Style};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use crate::zip;
pub use crate::zip::ZipError;

/// What the manifest's `format` field says.
pub const FORMAT: &str = "refsync-backup";
/// The manifest version this build writes (and the newest it reads).
pub const VERSION: u32 = 1;

/// A library as backed up.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub version: u32,
    /// Unix milliseconds.
    pub created: u64,
    #[serde(default)]
    pub references: Vec<Reference>,
    #[serde(default)]
    pub groups: Vec<Group>,
    #[serde(default)]
    pub group_sets: Vec<GroupSet>,
    #[serde(default)]
    pub attachments: Vec<Attachment>,
    /// The citation styles added to the library (an older backup has none).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub styles: Vec<Style>,
}

impl Manifest {
    pub fn new(created: u64) -> Manifest {
        Manifest {
            format: FORMAT.into(),
            version: VERSION,
            created,
            ..Manifest::default()
        }
    }

    /// A backup of `objects`, each kind in key order (so one library always backs up the
    /// same way).
    pub fn of(created: u64, objects: impl IntoIterator<Item = Object>) -> Manifest {
        let mut m = Manifest::new(created);
        for o in objects {
            match o {
                Object::Reference(r) => m.references.push(r),
                Object::Group(g) => m.groups.push(g),
                Object::GroupSet(s) => m.group_sets.push(s),
                Object::Attachment(a) => m.attachments.push(a),
                Object::Style(s) => m.styles.push(s),
            }
        }
        crate::sort::sort_by_key(&mut m.references, |o| o.key);
        crate::sort::sort_by_key(&mut m.groups, |o| o.key);
        crate::sort::sort_by_key(&mut m.group_sets, |o| o.key);
        crate::sort::sort_by_key(&mut m.attachments, |o| o.key);
        crate::sort::sort_by_key(&mut m.styles, |o| o.key);
        m
    }

    /// Every object backed up, to write back: group sets before the groups shown in them,
    /// groups and attachments before the references naming them.
    pub fn into_objects(self) -> Vec<Object> {
        let mut out = Vec::with_capacity(
            self.group_sets.len()
                + self.groups.len()
                + self.styles.len()
                + self.attachments.len()
                + self.references.len(),
        );
        out.extend(self.group_sets.into_iter().map(Object::GroupSet));
        out.extend(self.groups.into_iter().map(Object::Group));
        out.extend(self.styles.into_iter().map(Object::Style));
        out.extend(self.attachments.into_iter().map(Object::Attachment));
        out.extend(self.references.into_iter().map(Object::Reference));
        out
    }

    /// What it holds, in words ("12 references, 3 groups and 1 attachment"): what the
    /// clients say after a backup or a restore.
    pub fn describe(&self) -> String {
        use crate::sync::words::count;
        let n = |v: usize| v as u64;
        let mut parts = vec![
            count(n(self.references.len()), "reference", "references"),
            count(n(self.groups.len()), "group", "groups"),
            count(n(self.attachments.len()), "attachment", "attachments"),
        ];
        if !self.styles.is_empty() {
            parts.push(count(
                n(self.styles.len()),
                "citation style",
                "citation styles",
            ));
        }
        let last = parts.pop().unwrap_or_default();
        format!("{} and {last}", parts.join(", "))
    }
}

/// Why a backup file could not be read.
#[derive(Debug, PartialEq, Eq)]
pub enum BackupError {
    /// Not a zip, or a damaged one.
    Zip(ZipError),
    /// A zip, but not a refsync backup.
    NotABackup(String),
    /// A backup made by a newer refsync.
    TooNew(u32),
    /// An attachment's bytes are missing or not the size recorded.
    File(String),
}

impl std::fmt::Display for BackupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BackupError::Zip(e) => write!(f, "the file is not a readable backup ({e})"),
            BackupError::NotABackup(why) => write!(f, "the file is not a refsync backup ({why})"),
            BackupError::TooNew(v) => write!(
                f,
                "the backup was made by a newer refsync (format {v}); update refsync to restore it"
            ),
            BackupError::File(why) => write!(f, "the backup is incomplete ({why})"),
        }
    }
}

impl std::error::Error for BackupError {}

impl From<ZipError> for BackupError {
    fn from(e: ZipError) -> BackupError {
        BackupError::Zip(e)
    }
}

/// The zip entry name of an attachment's bytes.
pub fn file_entry(sha256: &str) -> String {
    format!("files/{sha256}")
}

/// Write a backup: the manifest (compressed) and every file `files` holds, by SHA-256
/// (stored as they are: attachments are mostly PDFs and images, already compressed).
pub fn write(manifest: &Manifest, files: &HashMap<String, Vec<u8>>) -> Result<Vec<u8>, ZipError> {
    let json = serde_json::to_vec(manifest).map_err(|e| ZipError::new(e.to_string()))?;
    write_json(&json, files)
}

/// [`write`] with the manifest already written as JSON (the web app writes it where the
/// library is and zips it in its worker, which then needs no copy of the library).
pub fn write_json(
    manifest_json: &[u8],
    files: &HashMap<String, Vec<u8>>,
) -> Result<Vec<u8>, ZipError> {
    let mut zip = zip::Writer::new();
    zip.add("manifest.json", manifest_json, true)?;
    let mut shas: Vec<&String> = files.keys().collect();
    crate::sort::sort(&mut shas);
    for sha in shas {
        zip.add(&file_entry(sha), &files[sha], false)?;
    }
    zip.finish()
}

/// Read a backup: the manifest and the bytes of every attachment, by SHA-256.
pub fn read(bytes: &[u8]) -> Result<(Manifest, HashMap<String, Vec<u8>>), BackupError> {
    let mut entries = zip::read(bytes)?;
    let json = entries
        .remove("manifest.json")
        .ok_or_else(|| BackupError::NotABackup("it has no manifest.json".into()))?;
    let manifest: Manifest = serde_json::from_slice(&json)
        .map_err(|e| BackupError::NotABackup(format!("manifest.json: {e}")))?;
    if manifest.format != FORMAT {
        return Err(BackupError::NotABackup(format!(
            "manifest.json says it is “{}”",
            manifest.format
        )));
    }
    if manifest.version > VERSION {
        return Err(BackupError::TooNew(manifest.version));
    }
    let mut files = HashMap::new();
    for a in &manifest.attachments {
        if files.contains_key(&a.sha256) {
            continue;
        }
        let data = entries.remove(&file_entry(&a.sha256)).ok_or_else(|| {
            BackupError::File(format!("the bytes of “{}” are missing", a.file_name))
        })?;
        if data.len() as u64 != a.size {
            return Err(BackupError::File(format!(
                "“{}” is {} bytes, not the {} recorded",
                a.file_name,
                data.len(),
                a.size
            )));
        }
        files.insert(a.sha256.clone(), data);
    }
    Ok((manifest, files))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AttachmentRole, Field, Key, RefType};

    fn sample() -> (Manifest, HashMap<String, Vec<u8>>) {
        let mut m = Manifest::new(1_700_000_000_000);
        let mut r = Reference::new(Key::new(1, [1; 10]), RefType::Book, 5);
        r.set(Field::Title, "Ünïcödé — and a title");
        let pdf = b"%PDF-1.4 not really".to_vec();
        let sha = "ab".repeat(32);
        let a = Attachment {
            key: Key::new(2, [2; 10]),
            parent: r.key,
            file_name: "paper.pdf".into(),
            media_type: "application/pdf".into(),
            size: pdf.len() as u64,
            sha256: sha.clone(),
            role: AttachmentRole::File,
            caption: String::new(),
            merged_from: None,
            date_modified: 9,
        };
        r.attachments.push(a.key);
        m.references.push(r);
        m.attachments.push(a);
        m.groups.push(Group {
            key: Key::new(3, [3; 10]),
            name: "G".into(),
            set: None,
            kind: crate::GroupKind::Custom,
            shared: false,
            date_modified: 1,
        });
        (m, HashMap::from([(sha, pdf)]))
    }

    #[test]
    fn a_backup_reads_back_exactly() {
        let (m, files) = sample();
        let bytes = write(&m, &files).unwrap();
        let (m2, files2) = read(&bytes).unwrap();
        assert_eq!(m2, m);
        assert_eq!(files2, files);
    }

    #[test]
    fn damage_is_reported_not_restored() {
        let (m, files) = sample();
        let bytes = write(&m, &files).unwrap();
        // Flip a byte inside the stored PDF: its CRC no longer matches.
        let at = bytes
            .windows(4)
            .position(|w| w == b"%PDF")
            .expect("the stored file");
        let mut bad = bytes.clone();
        bad[at + 5] ^= 0xff;
        assert!(matches!(read(&bad), Err(BackupError::Zip(_))));
        // Cut short: no end of central directory.
        assert!(matches!(
            read(&bytes[..bytes.len() - 30]),
            Err(BackupError::Zip(_))
        ));
        assert!(matches!(
            read(b"not a zip at all"),
            Err(BackupError::Zip(_))
        ));
        // A zip without a manifest, and one with the file missing.
        let mut z = zip::Writer::new();
        z.add("hello.txt", b"hi", true).unwrap();
        let not_backup = z.finish().unwrap();
        assert!(matches!(read(&not_backup), Err(BackupError::NotABackup(_))));
        let missing = write(&m, &HashMap::new()).unwrap();
        let err = read(&missing).unwrap_err();
        assert!(err.to_string().contains("paper.pdf"), "{err}");
    }

    #[test]
    fn a_newer_backup_is_refused_with_what_to_do() {
        let (mut m, files) = sample();
        m.version = VERSION + 1;
        let err = read(&write(&m, &files).unwrap()).unwrap_err();
        assert_eq!(err, BackupError::TooNew(VERSION + 1));
        assert!(err.to_string().contains("update refsync"));
    }

    #[test]
    fn a_large_manifest_compresses() {
        let mut m = Manifest::new(0);
        for i in 0..2_000u64 {
            let mut r = Reference::new(Key::new(i, [0; 10]), RefType::JournalArticle, i);
            r.set(Field::Title, format!("A fairly ordinary title number {i}"));
            m.references.push(r);
        }
        let json = serde_json::to_vec(&m).unwrap();
        let bytes = write(&m, &HashMap::new()).unwrap();
        assert!(
            bytes.len() * 4 < json.len(),
            "{} vs {}",
            bytes.len(),
            json.len()
        );
        assert_eq!(read(&bytes).unwrap().0, m);
    }
}
