//! The app's features, one folder each.

pub mod connection;
pub mod library;
