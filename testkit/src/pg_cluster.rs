//! A PostgreSQL server of the test's own: `initdb` in a temporary folder, `pg_ctl` on a free
//! loopback port, so that a test can kill it and start it again (an outage) without touching
//! the machine's shared server. Run as the `postgres` user when the test runs as root, since
//! `initdb` refuses root.
//!
//! Without PostgreSQL's server programs (Debian's, under `/usr/lib/postgresql/*/bin`),
//! [`PgCluster::start`] says so loudly and gives `None`, unless `REQUIRE_POSTGRES=1`, when it
//! fails the test.

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use tokio::process::Command;

/// Where Debian puts each major version's server programs.
const DEBIAN_PG_ROOT: &str = "/usr/lib/postgresql";

/// The OS user the server runs as when the test runs as root.
const RUN_AS: &str = "postgres";

pub struct PgCluster {
    bin: PathBuf,
    /// `data/` (the cluster), `server.log`, and the server's Unix socket.
    dir: tempfile::TempDir,
    port: u16,
    /// Set when the test runs as root: every program runs as this user.
    run_as: Option<&'static str>,
}

impl PgCluster {
    /// Makes a new cluster and starts it; `None` (with a loud line) when the server programs
    /// are not installed and `REQUIRE_POSTGRES` is not `1`.
    pub async fn start() -> Option<PgCluster> {
        let Some(bin) = server_programs() else {
            let problem = format!(
                "no PostgreSQL server programs (initdb, pg_ctl) under {DEBIAN_PG_ROOT}/*/bin; \
                 install Debian's postgresql package"
            );
            if std::env::var("REQUIRE_POSTGRES").as_deref() == Ok("1") {
                panic!("REQUIRE_POSTGRES=1 but {problem}");
            }
            eprintln!("\n*** SKIPPING this test: {problem}. Set REQUIRE_POSTGRES=1 to make this an error. ***\n");
            return None;
        };
        let dir = tempfile::tempdir().expect("a temporary folder for the PostgreSQL cluster");
        let run_as = if running_as_root().await {
            let chown = Command::new("chown")
                .arg("-R")
                .arg(format!("{RUN_AS}:"))
                .arg(dir.path())
                .output()
                .await
                .expect("run chown");
            assert!(
                chown.status.success(),
                "could not give {} to the {RUN_AS} user: {}",
                dir.path().display(),
                String::from_utf8_lossy(&chown.stderr)
            );
            Some(RUN_AS)
        } else {
            None
        };
        let cluster = PgCluster {
            bin,
            dir,
            port: free_port(),
            run_as,
        };
        let data = cluster.data_dir();
        let init = cluster
            .run(
                "initdb",
                &[
                    "-D",
                    path_str(&data),
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "--encoding=UTF8",
                    "--no-sync",
                ],
            )
            .await;
        assert!(
            init.status.success(),
            "initdb failed: {}{}",
            String::from_utf8_lossy(&init.stdout),
            String::from_utf8_lossy(&init.stderr)
        );
        cluster.restart().await;
        Some(cluster)
    }

    /// The URL of `database` on this server.
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Creates an empty database.
    pub async fn create_database(&self, name: &str) {
        let admin = sqlx::PgPool::connect(&self.url("postgres"))
            .await
            .expect("connect to the test's own PostgreSQL");
        sqlx::query(&format!("CREATE DATABASE \"{name}\""))
            .execute(&admin)
            .await
            .expect("create a database");
        admin.close().await;
    }

    /// Kills the server at once, as a crash would (`pg_ctl stop -m immediate`): no
    /// checkpoint, every connection cut; the next start replays the log.
    pub async fn kill(&self) {
        let data = self.data_dir();
        let stop = self
            .run(
                "pg_ctl",
                &["-D", path_str(&data), "-m", "immediate", "-w", "stop"],
            )
            .await;
        assert!(
            stop.status.success(),
            "pg_ctl stop failed: {}\n{}",
            String::from_utf8_lossy(&stop.stderr),
            self.log()
        );
    }

    /// Starts the server (again) and waits until it accepts connections.
    pub async fn restart(&self) {
        let data = self.data_dir();
        let log = self.dir.path().join("server.log");
        let options = format!(
            "-c port={} -c listen_addresses=127.0.0.1 -c unix_socket_directories={} \
             -c fsync=off -c max_connections=60 -c shared_buffers=16MB",
            self.port,
            self.dir.path().display()
        );
        let start = self
            .run(
                "pg_ctl",
                &[
                    "-D",
                    path_str(&data),
                    "-l",
                    path_str(&log),
                    "-o",
                    &options,
                    "-w",
                    "-t",
                    "60",
                    "start",
                ],
            )
            .await;
        assert!(
            start.status.success(),
            "pg_ctl start failed: {}\n{}",
            String::from_utf8_lossy(&start.stderr),
            self.log()
        );
    }

    /// The server's log so far, for a failure message.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn command(&self, program: &str) -> Command {
        let program = self.bin.join(program);
        match self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.arg("-u").arg(user).arg("--").arg(program);
                command
            }
            None => Command::new(program),
        }
    }

    async fn run(&self, program: &str, args: &[&str]) -> Output {
        let mut command = self.command(program);
        command.args(args).kill_on_drop(true);
        // pg_ctl's server keeps stdout and stderr open; read them from the log instead.
        command.stdin(std::process::Stdio::null());
        if program == "pg_ctl" {
            command.stdout(std::process::Stdio::null());
        }
        tokio::time::timeout(Duration::from_secs(120), command.output())
            .await
            .unwrap_or_else(|_| panic!("{program} did not finish in 2 minutes"))
            .unwrap_or_else(|e| panic!("could not run {program}: {e}"))
    }
}

impl Drop for PgCluster {
    /// Stops the server (if it runs) before its folder goes.
    fn drop(&mut self) {
        let data = self.data_dir();
        let mut command = match self.run_as {
            Some(user) => {
                let mut command = std::process::Command::new("runuser");
                command
                    .arg("-u")
                    .arg(user)
                    .arg("--")
                    .arg(self.bin.join("pg_ctl"));
                command
            }
            None => std::process::Command::new(self.bin.join("pg_ctl")),
        };
        let _ = command
            .args(["-D", path_str(&data), "-m", "immediate", "-w", "stop"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
    }
}

/// The newest installed major version's `bin/` that has `initdb` and `pg_ctl`.
fn server_programs() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir(DEBIAN_PG_ROOT)
        .ok()?
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let major = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            (bin.join("initdb").is_file() && bin.join("pg_ctl").is_file()).then_some((major, bin))
        })
        .collect();
    versions.sort();
    versions.pop().map(|(_, bin)| bin)
}

async fn running_as_root() -> bool {
    let id = Command::new("id")
        .arg("-u")
        .output()
        .await
        .expect("run id -u");
    String::from_utf8_lossy(&id.stdout).trim() == "0"
}

/// A loopback port nothing listens on now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    listener.local_addr().expect("its address").port()
}

fn path_str(path: &Path) -> &str {
    path.to_str()
        .expect("temporary folders have UTF-8 paths here")
}
