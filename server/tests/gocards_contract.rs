//! The GO Cards contract (shared/spec/gocards-api.md), end to end over real sockets: the
//! client in `app::backend::gocards` against the simulator in `server::sim`, plus small
//! servers for replies the simulator cannot make.
//!
//! One module per part of the contract, in `gocards_contract/`; `support` starts the
//! simulator and clients.

#[path = "gocards_contract/any_reply.rs"]
mod any_reply;
#[path = "gocards_contract/card_info.rs"]
mod card_info;
#[path = "gocards_contract/error_replies.rs"]
mod error_replies;
#[path = "gocards_contract/listing.rs"]
mod listing;
#[path = "gocards_contract/orders.rs"]
mod orders;
#[path = "gocards_contract/simulator.rs"]
mod simulator;
#[path = "gocards_contract/support.rs"]
mod support;
#[path = "gocards_contract/tokens.rs"]
mod tokens;
#[path = "gocards_contract/transport_faults.rs"]
mod transport_faults;
