//! The GO Cards contract (shared/spec/gocards-api.md), end to end over real sockets: the
//! client in `app::backend::gocards` against the simulator in `server::sim`, plus small
//! servers for replies the simulator cannot make.
//!
//! One module per part of the contract, in `gocards_contract/`; `support` starts the
//! simulator and clients.

mod any_reply;
mod card_info;
mod error_replies;
mod listing;
mod orders;
mod simulator;
pub mod support;
mod tokens;
mod transport_faults;
