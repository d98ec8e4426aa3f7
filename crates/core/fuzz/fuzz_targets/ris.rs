#![no_main]
const FORMAT: refsync_core::formats::Format = refsync_core::formats::Format::Ris;
include!("common.rs");
