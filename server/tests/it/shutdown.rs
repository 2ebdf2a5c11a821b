//! SIGTERM to a real `server` process in the middle of a sync on PostgreSQL: the run stops
//! after the cards in flight, is marked "interrupted (shutdown)", hands its lease back at
//! once, and the process exits within 10 s.

use std::time::{Duration, Instant};

use backend::sync::{SyncHandle, SyncSettings};
use desk_core::model::{RunPhase, RunStatus};
use gocards_sim::{FaultMode, FaultSpec};

use super::processes::{open_cards, register, runs, start_server, start_sim};
use super::sync::skip_listing;

/// Sends SIGTERM to the child, as an orchestrator does.
fn terminate(child: &std::process::Child) {
    let pid = libc::pid_t::try_from(child.id()).expect("a pid");
    // SAFETY: kill(2) with a pid this test started and still owns; no memory is involved.
    let sent = unsafe { libc::kill(pid, libc::SIGTERM) };
    assert_eq!(sent, 0, "SIGTERM was sent");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_sync_interrupts_the_run_hands_the_lease_back_and_exits_in_time() {
    const CARDS: usize = 3_000;
    let Some(test_db) = testkit::db::postgres().await else {
        return;
    };
    let db = test_db.db.clone();
    db.insert_cards(&open_cards("TERM", CARDS), |_| {})
        .await
        .expect("cards");
    let (sim, sim_url) = start_sim().await;
    register(&sim, &db).await;
    // A slow GO Cards: 16 calls in flight at 300 ms each, so the poll takes about a minute.
    sim.set_fault(FaultSpec {
        latency_ms: 300,
        ..FaultSpec::new(FaultMode::Latency)
    });
    // Nothing new in the listing: the run is all poll.
    skip_listing(&db).await;
    let data = tempfile::tempdir().expect("temp dir");
    let extra = [("SYNC_STALE_AFTER_SECS", "0"), ("SYNC_CONCURRENCY", "16")];
    let mut child = start_server(&test_db.url, &sim_url, &sim, data.path(), &extra);

    // Wait until the run is well into the poll.
    let deadline = Instant::now() + Duration::from_secs(60);
    let running = loop {
        let last = runs(&db).await.pop();
        if let Some(run) = last.filter(|run| {
            run.status == RunStatus::Running && run.phase == RunPhase::Polling && run.checked >= 32
        }) {
            break run;
        }
        assert!(Instant::now() < deadline, "the sync did not get going");
        assert!(
            child.try_wait().expect("child").is_none(),
            "the server died"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };

    terminate(&child);
    let signalled = Instant::now();
    let exit = loop {
        if let Some(exit) = child.try_wait().expect("child") {
            break Some(exit);
        }
        if signalled.elapsed() > Duration::from_secs(15) {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let took = signalled.elapsed();
    eprintln!("SIGTERM mid-sync: the server exited {took:?} after the signal ({exit:?})");
    let Some(exit) = exit else {
        let _ = child.kill();
        let _ = child.wait();
        panic!("the server did not exit within 15 s of SIGTERM");
    };
    assert!(took <= Duration::from_secs(10), "exit took {took:?}");
    assert!(exit.success(), "a clean exit: {exit:?}");

    // The lease is free at once, and the run says why it stopped.
    let state = db.sync_state().await.expect("state");
    assert_eq!(state.lease_holder, None, "{state:?}");
    let run = runs(&db)
        .await
        .into_iter()
        .find(|run| run.id == running.id)
        .expect("the run");
    assert_eq!(run.status, RunStatus::Interrupted, "{run:?}");
    assert!(
        run.error
            .as_deref()
            .unwrap_or_default()
            .starts_with("Interrupted (shutdown)"),
        "{run:?}"
    );
    assert!(run.checked < CARDS as i64, "it stopped early: {run:?}");
    // It stopped after the cards in flight: every card GO Cards was asked about was counted.
    let ended = run.ended_at.expect("ended");
    let asked = sim
        .calls_ms()
        .iter()
        .filter(|(method, path, at)| {
            method == "GET"
                && path.starts_with("/api/card/")
                && (run.started_at..=ended).contains(at)
        })
        .count();
    assert_eq!(asked as i64, run.checked, "{run:?}");

    // Another replica takes the next run at once, without waiting for the lease to lapse.
    sim.set_fault(FaultSpec::new(FaultMode::None));
    let client = gocards::GoCardsClient::new(gocards::GoCardsConfig {
        base_url: url::Url::parse(&sim_url).expect("url"),
        client_id: sim.config().client_id.clone(),
        client_secret: sim.config().client_secret.clone().into(),
        organisation_id: sim.config().organisation_id.clone(),
        timeout: Duration::from_secs(5),
    })
    .expect("client");
    let replica = SyncHandle::new(SyncSettings {
        stale_after: Duration::ZERO,
        ..SyncSettings::default()
    });
    let next = backend::sync::run_if_due(&db, &client, &replica)
        .await
        .expect("storage")
        .expect("the next run is due and the lease free, at once");
    assert_eq!(next.status, RunStatus::Completed, "{next:?}");
}
