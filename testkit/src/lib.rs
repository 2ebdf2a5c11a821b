//! What the tests, the benches and the load generator share. Test code: it panics with a
//! clear message where a set-up step fails.
//!
//! - `db`: real databases, a fresh SQLite file or a fresh PostgreSQL database.
//! - `gocards`: the simulator on a real socket, clients pointed at it, and small servers for
//!   GO Cards replies the simulator cannot make.
//! - `desk`: the desk over HTTP as the browser uses it: log-in and typed server-function calls.
//! - `app`: the real app on a port-0 socket, with the built-in simulator.
#![allow(dead_code)]

pub mod app;
pub mod db;
pub mod desk;
pub mod gocards;
