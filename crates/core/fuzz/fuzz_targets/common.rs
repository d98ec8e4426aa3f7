// Shared body of the importer fuzz targets (included by each; FORMAT is set by the target).
// Each input is imported, exported (where the format exports) and imported again: no panic,
// no hang, and every imported reference survives its own format's export.

use libfuzzer_sys::fuzz_target;
use refsync_core::formats::{self, Format, Source};

fn import(format: Format, bytes: &[u8]) -> formats::Import {
    formats::import_with_sequential_keys(format, &[Source { name: "fuzz", bytes }])
}

fuzz_target!(|data: &[u8]| {
    let first = import(FORMAT, data);
    assert_eq!(first.references.len(), first.report.imported);
    if Format::EXPORTABLE.contains(&FORMAT) {
        let text = formats::export(FORMAT, &first.references);
        let second = import(FORMAT, text.as_bytes());
        assert_eq!(second.references.len(), first.references.len(), "export then import lost references");
    }
});
