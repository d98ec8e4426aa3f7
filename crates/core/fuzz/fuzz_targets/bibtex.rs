#![no_main]
const FORMAT: refsync_core::formats::Format = refsync_core::formats::Format::Bibtex;
include!("common.rs");
