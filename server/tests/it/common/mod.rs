//! Shared set-up for the app's own tests: real databases, a running app.
#![allow(dead_code)]

pub mod app;
pub mod db;
