#![no_main]
const FORMAT: refsync_core::formats::Format = refsync_core::formats::Format::EndnoteXml;
include!("common.rs");
