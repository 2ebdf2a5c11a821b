//! The desk's core: no I/O, no framework; builds for the server and for WASM.
//!
//! - `domain`: card states, GO Cards statuses, card ids, accounts, processes, and `apply`, the
//!   one function that decides what a reported status does to a card.
//! - `model`: the types on the wire between the browser and the server.
//! - `export`: CSV export: the spreadsheet-safe cell rule, RFC 4180 records, each export's
//!   columns and download addresses.

pub mod domain;
pub mod export;
pub mod model;
