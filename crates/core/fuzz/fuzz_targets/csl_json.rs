#![no_main]
const FORMAT: refsync_core::formats::Format = refsync_core::formats::Format::CslJson;
include!("common.rs");
