//! Property-driven fuzzing of every input the desk takes from outside: server-function
//! payloads, the CSV import, webhook bodies and GO Cards replies. Each target first replays its
//! seed corpus (`server/tests/fuzz-seeds/<target>/`, hand-picked edge cases kept in the repo),
//! then runs `FUZZ_CASES` generated cases (default 2,000 in `make test`; the figures in
//! BENCHMARKS.md come from `FUZZ_CASES=100000`). Inputs proptest finds failing are written to
//! `server/tests/it/fuzz/<target>.proptest-regressions` and replayed first on the next run.
//!
//! Every target checks the same two things: no panic, and no partial write — a refused input
//! leaves the database as it was.

mod csv_import;
mod gocards_reply;
mod server_fns;
mod webhook;

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::path::PathBuf;

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestRunner};
use serde_json::{json, Value};
use testkit as common;

/// How many generated cases each target runs.
pub fn cases() -> u32 {
    std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000)
}

/// The database engine a target runs on. Every target runs on both: PostgreSQL refuses
/// input that SQLite stores (U+0000 in text), so SQLite alone would not see it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    Sqlite,
    Postgres,
}

impl Engine {
    /// A fresh database, or `None` (the test is skipped loudly) when PostgreSQL is absent.
    pub fn open(self, runtime: &tokio::runtime::Runtime) -> Option<common::db::TestDb> {
        match self {
            Engine::Sqlite => Some(runtime.block_on(common::db::sqlite())),
            Engine::Postgres => runtime.block_on(common::db::postgres()),
        }
    }

    /// Generated cases on this engine: PostgreSQL runs a quarter of `FUZZ_CASES` (each case
    /// is a few round trips to a server), unless `FUZZ_CASES_POSTGRES` says otherwise.
    pub fn cases(self) -> u32 {
        match self {
            Engine::Sqlite => cases(),
            Engine::Postgres => std::env::var("FUZZ_CASES_POSTGRES")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(cases() / 4),
        }
    }
}

/// Runs `$body` with `$pool` bound to whichever engine's pool `$db` holds.
macro_rules! on_pool {
    ($db:expr, $pool:ident => $body:expr) => {
        match $db {
            backend::db::Db::Sqlite($pool, _) => $body,
            backend::db::Db::Postgres($pool, _) => $body,
        }
    };
}
pub(crate) use on_pool;

/// Declares `<target>_sqlite` and `<target>_postgres`, each running `target(engine)`.
macro_rules! on_both_engines {
    ($target:ident) => {
        common::__paste::paste! {
            #[test]
            fn [<$target _sqlite>]() {
                $target($crate::fuzz::Engine::Sqlite);
            }

            #[test]
            fn [<$target _postgres>]() {
                $target($crate::fuzz::Engine::Postgres);
            }
        }
    };
}
pub(crate) use on_both_engines;

/// A runner for `target` that keeps failing inputs in the repo.
pub fn runner(target: &'static str, engine: Engine) -> TestRunner {
    let path: &'static str =
        Box::leak(format!("tests/it/fuzz/{target}.proptest-regressions").into_boxed_str());
    TestRunner::new(Config {
        cases: engine.cases(),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(path))),
        // Shrinking a failure can take long; a failing input is reported as found.
        max_shrink_iters: 256,
        ..Config::default()
    })
}

/// The seed corpus of `target`: every file's bytes, in name order. A target must have seeds.
pub fn seeds(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fuzz-seeds")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed corpus {}: {e}", dir.display()))
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    files
        .into_iter()
        .map(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("seed {}: {e}", p.display()));
            (name, bytes)
        })
        .collect()
}

/// Any JSON value, three levels deep at most: the stuff of replaced fields and odd bodies.
pub fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>().prop_map(|n| json!(n)),
        "\\PC{0,24}".prop_map(Value::String),
        // Control characters, NUL above all: PostgreSQL refuses U+0000 in text.
        "(\\PC|\\x00|\\x1f){0,24}".prop_map(Value::String),
        Just(json!("x".repeat(300))),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map("[a-zA-Z_]{1,10}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A two-thread runtime: the test double or the app serves on it while a case waits.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

/// Counts the outcomes a target's cases reached, to print and to check that a run exercised
/// the paths that write, not only the refusals.
#[derive(Default)]
pub struct Tally(RefCell<BTreeMap<String, u64>>);

impl Tally {
    pub fn add(&self, outcome: impl Into<String>) {
        *self.0.borrow_mut().entry(outcome.into()).or_default() += 1;
    }

    /// Prints the counts, and fails when a long run never reached one of `expected`.
    pub fn report(&self, target: &str, expected: &[&str]) {
        let counts = self.0.borrow();
        let total: u64 = counts.values().sum();
        let line: Vec<String> = counts.iter().map(|(k, v)| format!("{k}={v}")).collect();
        eprintln!("fuzz {target}: {total} inputs: {}", line.join(" "));
        if total >= 1_000 {
            for outcome in expected {
                assert!(
                    counts.keys().any(|k| k.starts_with(outcome)),
                    "fuzz {target}: no input reached {outcome}"
                );
            }
        }
    }
}
