//! The GO Cards contract (shared/spec/gocards-api.md), end to end over real sockets: the
//! client in the `gocards` crate against the simulator in this one, plus small
//! servers for replies the simulator cannot make.
//!
//! One module per part of the contract, in `tests/contract/`; `support` starts the
//! simulator and clients.

mod any_reply;
mod articles;
mod cancel;
mod card_info;
mod error_replies;
mod listing;
mod new_call_errors;
mod orders;
mod simulator;
mod tokens;
mod transport_faults;
