//! What the tests, the benches and the load generator share. Test code: it panics with a
//! clear message where a set-up step fails.
//!
//! - `db`: real databases, a fresh SQLite file or a fresh PostgreSQL database, and
//!   [`engines!`], which runs one test body as a SQLite test and a PostgreSQL test.
//! - `gocards`: the simulator on a real socket, clients pointed at it, and small servers for
//!   GO Cards replies the simulator cannot make.
//! - `desk`: the desk over HTTP as the browser uses it: log-in and typed server-function calls.
//! - `app`: the real app on a port-0 socket, with the built-in simulator.
//! - `sse`: a reader of the desk's `/events` stream.
//! - `pg_cluster`: a PostgreSQL server of the test's own, which it can kill and restart.
#![allow(dead_code)]

pub mod app;
pub mod db;
pub mod desk;
pub mod gocards;
pub mod pg_cluster;
pub mod sse;

#[doc(hidden)]
pub use paste as __paste;

/// Runs one async test body against each engine, as two tests: `<name>_sqlite` and
/// `<name>_postgres`, so a SQLite failure does not hide the PostgreSQL result (and `cargo test
/// <name>` still runs both). The body is an ordinary `async fn <name>(t: TestDb)` next to the
/// macro, so rustfmt and the IDE treat it as normal code:
///
/// ```text
/// testkit::engines!(search_pages_and_sorts);
/// async fn search_pages_and_sorts(t: TestDb) { /* … */ }
///
/// // Arguments after the name go to `#[tokio::test(…)]`:
/// testkit::engines!(many_writers, flavor = "multi_thread", worker_threads = 2);
/// ```
///
/// The PostgreSQL test gets its database from [`db::postgres`]: with PostgreSQL unreachable
/// it says so loudly and passes without running the body, unless `REQUIRE_POSTGRES=1`, when
/// it fails.
#[macro_export]
macro_rules! engines {
    ($name:ident $(, $($tokio:tt)+)?) => {
        $crate::__paste::paste! {
            #[tokio::test $(($($tokio)+))?]
            async fn [<$name _sqlite>]() {
                $name($crate::db::sqlite().await).await;
            }

            #[tokio::test $(($($tokio)+))?]
            async fn [<$name _postgres>]() {
                if let Some(db) = $crate::db::postgres().await {
                    $name(db).await;
                }
            }
        }
    };
}
