//! The citations worker: CSL citations, bibliographies and Format Paper in a Web Worker
//! (`refsync-cite`, typst's hayagriva with its built-in styles and locales), so the app's own
//! download does not carry them and a long bibliography never freezes the window. Built by
//! trunk as a worker (index.html); the protocol is in `refsync_web::worker_protocol`.

#[cfg(target_arch = "wasm32")]
mod worker {
    use js_sys::Uint8Array;
    use refsync_cite::{document, format_each, Cite, Manuscript, Output, Style};
    use refsync_web::worker_protocol::serve::{get, serve, text, Reply};
    use refsync_web::worker_protocol::{
        CiteRequest, CiteResult, PaperResult, Rendered, StyleChoice, StyleEntry,
    };
    use wasm_bindgen::prelude::*;

    fn style_of(choice: &StyleChoice) -> Result<Style, String> {
        match choice {
            StyleChoice::Builtin(name) => Style::builtin(name),
            StyleChoice::Csl(xml) => Style::from_xml(xml),
        }
        .map_err(|e| e.0)
    }

    fn request(message: &JsValue) -> Result<CiteRequest, String> {
        serde_json::from_str(&text(message, "request"))
            .map_err(|e| format!("the request could not be read ({e})"))
    }

    fn styles() -> Result<Reply, String> {
        let all: Vec<StyleEntry> = refsync_cite::builtin_styles()
            .into_iter()
            .map(|s| StyleEntry {
                name: s.name.to_string(),
                title: s.title.to_string(),
            })
            .collect();
        serde_json::to_string(&all)
            .map(Reply::from)
            .map_err(|e| e.to_string())
    }

    fn cite(message: &JsValue) -> Result<Reply, String> {
        let req = request(message)?;
        let style = style_of(&req.style)?;
        let together: Vec<Cite> = req.references.iter().map(|r| Cite::of(r.key)).collect();
        let mut result = CiteResult {
            title: style.title(),
            note_style: style.is_note_style(),
            ..CiteResult::default()
        };
        let outs = req
            .outputs
            .iter()
            .map(|id| Output::from_id(id).ok_or_else(|| format!("“{id}” is not an output")))
            .collect::<Result<Vec<Output>, String>>()?;
        let citations = if together.is_empty() {
            Vec::new()
        } else {
            vec![together]
        };
        let each = format_each(
            &req.references,
            &style,
            req.locale.as_deref(),
            &citations,
            &outs,
        )
        .map_err(|e| e.0)?;
        for ((id, out), f) in req.outputs.iter().zip(outs).zip(each) {
            result.hanging_indent = f.hanging_indent;
            result.rendered.push(Rendered {
                output: id.clone(),
                citation: f.citations.first().cloned().unwrap_or_default(),
                document: document(&f, out, &result.title),
                bibliography: f.bibliography,
            });
        }
        serde_json::to_string(&result)
            .map(Reply::from)
            .map_err(|e| e.to_string())
    }

    /// "draft.md" formatted is "draft-formatted.md".
    fn formatted_name(name: &str) -> String {
        match name.rsplit_once('.') {
            Some((stem, ext)) => format!("{stem}-formatted.{ext}"),
            None => format!("{name}-formatted"),
        }
    }

    fn paper(message: &JsValue) -> Result<Reply, String> {
        let req = request(message)?;
        let name = text(message, "name");
        let kind = Manuscript::from_name(&name).ok_or_else(|| {
            format!("{name} is not a manuscript Format Paper reads (Word .docx, OpenDocument .odt, RTF, or Markdown .md or .txt)")
        })?;
        let bytes = Uint8Array::new(&get(message, "bytes")).to_vec();
        let style = style_of(&req.style)?;
        let (doc, report) = refsync_cite::format_paper(
            kind,
            &bytes,
            &req.references,
            &style,
            req.locale.as_deref(),
        )
        .map_err(|e| e.0)?;
        let result = PaperResult {
            title: style.title(),
            summary: report.words().lines().next().unwrap_or("").to_string(),
            unformatted: report.unformatted.iter().map(|u| u.words()).collect(),
            media_type: kind.media_type().to_string(),
        };
        Ok(Reply {
            text: serde_json::to_string(&result).map_err(|e| e.to_string())?,
            files: vec![(formatted_name(&name), doc)],
        })
    }

    fn handle(op: &str, message: &JsValue) -> Result<Reply, String> {
        match op {
            "styles" => styles(),
            "cite" => cite(message),
            "paper" => paper(message),
            _ => Err("an unknown request".into()),
        }
    }

    pub fn start() {
        serve(handle);
    }
}

#[cfg(target_arch = "wasm32")]
fn main() {
    worker::start();
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("cite-worker runs in the browser, as the web app's Web Worker");
}
