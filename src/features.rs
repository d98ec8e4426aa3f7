//! The app's features, one folder each, and the view pieces they share (`ui`).

pub mod account;
pub mod cite;
pub mod connection;
pub mod duplicates;
pub mod libraries;
pub mod library;
pub mod sharing;
pub mod theme;
pub mod transfer;
pub mod ui;
