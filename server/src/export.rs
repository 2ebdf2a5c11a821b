//! The CSV downloads (GET): the card search, the user search, a card's history and the admin
//! audit log. Each handler checks the session and role itself, with the same checks as the
//! server functions (`app::api::access::operator` / `admin`): 401 without a session, 403 for
//! the wrong role. A search is read from the same query parameters as the search page, by the
//! page's own parser, and refused with the same sentence (400) before the database is asked.
//!
//! [`csv_download`] is the one way an export answers: it streams the pages of rows it is given
//! as CSV, and writes the export's audit line with the rows sent when the stream ends, or when
//! the client stops reading.

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Extension, Router};
use futures::StreamExt;

use app::api::access::{self, Denied};
use backend::auth::{AuthSession, DeskUser};
use backend::db::audit::AuditRecord;
use backend::db::export::Pages;
use backend::db::Db;
use backend::AppState;
use desk_core::domain::CardId;
use desk_core::export::{self, CsvRecord, CsvSheet};

/// The export routes, for the router and for the tests that must cover each one.
pub const ROUTES: [&str; 5] = [
    export::CARDS_PATH,
    export::USERS_PATH,
    "/export/cards/{card_id}/history.csv",
    export::AUDIT_PATH,
    "/export/jobs/{job_id}/items.csv",
];

pub fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    Router::new()
        .route(ROUTES[0], get(cards))
        .route(ROUTES[1], get(users))
        .route(ROUTES[2], get(history))
        .route(ROUTES[3], get(audit))
        .route(ROUTES[4], get(job_items))
}

/// What an export's audit line records: who, which export, and of what (the search).
#[derive(Clone, Debug)]
pub struct ExportAudit {
    pub db: Db,
    /// The user's name.
    pub actor: String,
    /// The audit action, e.g. `export cards`.
    pub action: &'static str,
    /// What was exported, e.g. the search; the rows sent are added to it.
    pub what: String,
}

impl ExportAudit {
    fn line(&self, ending: &Ending, rows: u64) -> String {
        let rows = match rows {
            1 => "1 row".to_owned(),
            n => format!("{n} rows"),
        };
        match ending {
            Ending::Complete => format!("{}; {rows}", self.what),
            Ending::CutOff => format!(
                "{}; cut off by the client after {rows} (the rows sent before it stopped reading)",
                self.what
            ),
            Ending::Failed => format!(
                "{}; failed after {rows} (a storage error ended it)",
                self.what
            ),
        }
    }

    async fn write(self, ending: Ending, rows: u64) {
        let detail = self.line(&ending, rows);
        let record = AuditRecord {
            actor: &self.actor,
            action: self.action,
            detail: &detail,
        };
        if let Err(e) = self.db.record_audit(record).await {
            tracing::error!(error = %e, action = self.action, %detail, "could not write an export's audit line");
        }
    }
}

enum Ending {
    Complete,
    CutOff,
    Failed,
}

/// Counts the rows sent and writes the audit line once: at the end of the stream, or, when
/// the body is dropped before its end (the client went away), from `Drop`.
struct Tally {
    audit: Option<ExportAudit>,
    /// Rows the connection has taken: a chunk counts once the body is asked for the next one.
    sent: u64,
    /// Rows of the last chunk handed over.
    pending: u64,
}

impl Tally {
    async fn finish(&mut self, ending: Ending) {
        self.sent += std::mem::take(&mut self.pending);
        if let Some(audit) = self.audit.take() {
            audit.write(ending, self.sent).await;
        }
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        let Some(audit) = self.audit.take() else {
            return;
        };
        let rows = self.sent;
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(audit.write(Ending::CutOff, rows));
            }
            Err(_) => tracing::error!(
                action = audit.action,
                rows,
                "an export was cut off outside the runtime; its audit line is not written"
            ),
        }
    }
}

/// A storage error of an export as its reply: 503 while the database is unavailable, else 500.
fn storage_reply(err: &sqlx::Error) -> Response {
    if backend::db::is_unavailable(err) {
        tracing::warn!(error = %err, "an export could not read the database");
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            app::api::DATABASE_UNAVAILABLE,
        )
            .into_response()
    } else {
        tracing::error!(error = %err, "an export failed");
        (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on the server. Try again; if it keeps happening, tell an admin.",
        )
            .into_response()
    }
}

fn csv_error_reply(err: &export::CsvError) -> Response {
    tracing::error!(error = %err, "an export could not write CSV");
    (
        StatusCode::INTERNAL_SERVER_ERROR,
        "Something went wrong on the server. Try again; if it keeps happening, tell an admin.",
    )
        .into_response()
}

/// `stem-YYYYMMDD-HHMM.csv`, in UTC, now.
pub fn filename(stem: &str) -> String {
    format!("{stem}-{}.csv", chrono::Utc::now().format("%Y%m%d-%H%M"))
}

/// Streams `pages` as a CSV download named `filename`: `R`'s header, then each page's rows
/// as it is read (one chunk a page, so memory holds one page), with `Content-Type: text/csv;
/// charset=utf-8` and `Content-Disposition: attachment`. The first page is read before the
/// reply starts, so a database that cannot answer gets a 503, not a broken file. Once the
/// stream ends, `audit` is written with the number of rows sent; if the client stops reading
/// first, with the rows it had been sent, marked as cut off; if a later page fails, the
/// download is broken off (the client sees an incomplete transfer) and the line says so.
pub async fn csv_download<R>(audit: ExportAudit, filename: &str, mut pages: Pages<R>) -> Response
where
    R: CsvRecord + Send + 'static,
{
    let first = match pages.next().await {
        None => Vec::new(),
        Some(Ok(rows)) => rows,
        Some(Err(e)) => return storage_reply(&e),
    };
    let mut sheet = CsvSheet::new();
    let head = sheet
        .header::<R>()
        .and_then(|()| first.iter().try_for_each(|row| sheet.row(row)))
        .and_then(|()| sheet.take());
    let head = match head {
        Ok(bytes) => bytes,
        Err(e) => return csv_error_reply(&e),
    };
    let tally = Tally {
        audit: Some(audit),
        sent: 0,
        pending: first.len() as u64,
    };
    drop(first);
    struct Sending<R> {
        head: Option<Vec<u8>>,
        pages: Pages<R>,
        sheet: CsvSheet,
        tally: Tally,
    }
    let state = Sending {
        head: Some(head),
        pages,
        sheet,
        tally,
    };
    let body = futures::stream::unfold(Some(state), |state| async move {
        let mut s = state?;
        if let Some(head) = s.head.take() {
            return Some((Ok(Bytes::from(head)), Some(s)));
        }
        // The chunk before this one is with the connection now.
        s.tally.sent += std::mem::take(&mut s.tally.pending);
        match s.pages.next().await {
            None => {
                s.tally.finish(Ending::Complete).await;
                None
            }
            Some(Err(e)) => {
                tracing::error!(error = %e, "an export failed part-way; the download is broken off");
                s.tally.finish(Ending::Failed).await;
                Some((
                    Err(std::io::Error::other(
                        "the export could not read the database",
                    )),
                    None,
                ))
            }
            Some(Ok(rows)) => {
                let written = rows
                    .iter()
                    .try_for_each(|row| s.sheet.row(row))
                    .and_then(|()| s.sheet.take());
                match written {
                    Ok(bytes) => {
                        s.tally.pending = rows.len() as u64;
                        Some((Ok(Bytes::from(bytes)), Some(s)))
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "an export could not write CSV; the download is broken off");
                        s.tally.finish(Ending::Failed).await;
                        Some((
                            Err(std::io::Error::other("the export could not write CSV")),
                            None,
                        ))
                    }
                }
            }
        }
    });
    let disposition = HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
        .unwrap_or_else(|_| HeaderValue::from_static("attachment"));
    (
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/csv; charset=utf-8"),
            ),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        // Fused: a body may be polled again after its end (the compression layer does).
        Body::from_stream(futures::StreamExt::fuse(body)),
    )
        .into_response()
}

/// A refused download: 401 or 403 (or 500 for a missing layer), with the sentence the
/// server functions give.
fn denied_reply(denied: Denied) -> Response {
    let (status, message) = match denied {
        Denied::Unauthenticated => (
            StatusCode::UNAUTHORIZED,
            "Your session has ended. Log in again.",
        ),
        Denied::Forbidden => (StatusCode::FORBIDDEN, "You are not allowed to do this."),
        Denied::Internal => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Something went wrong on the server. Try again; if it keeps happening, tell an admin.",
        ),
    };
    (status, message).into_response()
}

fn bad_request(message: String) -> Response {
    (StatusCode::BAD_REQUEST, message).into_response()
}

/// The pairs of the request's query string (`+` and `%XX` decoded, as a form sends them).
fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    url::form_urlencoded::parse(query.unwrap_or("").as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// The audit's "what" of a search: its fields as the page's address names them, unescaped
/// (`search status=ordered&last_name=B`).
fn search_text(address: &str) -> String {
    let query = address.split_once('?').map(|(_, q)| q).unwrap_or("");
    let pairs: Vec<String> = url::form_urlencoded::parse(query.as_bytes())
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    if pairs.is_empty() {
        "search with no filter".to_owned()
    } else {
        format!("search {}", pairs.join("&"))
    }
}

fn audit_for(state: &AppState, user: &DeskUser, action: &'static str, what: String) -> ExportAudit {
    ExportAudit {
        db: state.db.clone(),
        actor: user.username.clone(),
        action,
        what,
    }
}

/// `GET /export/cards.csv?<the card search's query>`: every card the search matches.
async fn cards(
    Extension(state): Extension<AppState>,
    auth: AuthSession,
    RawQuery(query): RawQuery,
) -> Response {
    let user = match access::operator(auth.user) {
        Ok(user) => user,
        Err(denied) => return denied_reply(denied),
    };
    let search = match app::ui::search::search_from_pairs(query_pairs(query.as_deref())) {
        Ok(search) => search,
        Err(message) => return bad_request(message),
    };
    // Every match: the page does not apply (a page past the last one shown is no reason to
    // refuse), the field checks do.
    let search = desk_core::model::CardSearch { page: 1, ..search };
    if let Err(e) = search.validate() {
        return bad_request(e.to_string());
    }
    let what = search_text(&app::ui::search::search_url(&search));
    let audit = audit_for(&state, &user, "export cards", what);
    match state.db.export_cards(search).await {
        Ok(pages) => csv_download(audit, &filename("cards"), pages).await,
        Err(e) => storage_reply(&e),
    }
}

/// `GET /export/users.csv?<the user search's query>`: every user the search matches.
async fn users(
    Extension(state): Extension<AppState>,
    auth: AuthSession,
    RawQuery(query): RawQuery,
) -> Response {
    let user = match access::operator(auth.user) {
        Ok(user) => user,
        Err(denied) => return denied_reply(denied),
    };
    let search = app::ui::holder::holder_search_from_pairs(query_pairs(query.as_deref()));
    let search = desk_core::model::HolderSearch { page: 1, ..search };
    if let Err(e) = search.validate() {
        return bad_request(e.to_string());
    }
    let what = search_text(&app::ui::holder::holder_search_url(&search));
    let audit = audit_for(&state, &user, "export users", what);
    match state.db.export_holders(search).await {
        Ok(pages) => csv_download(audit, &filename("users"), pages).await,
        Err(e) => storage_reply(&e),
    }
}

/// `GET /export/cards/{card_id}/history.csv`: a card's whole history, newest first.
async fn history(
    Extension(state): Extension<AppState>,
    auth: AuthSession,
    Path(card_id): Path<String>,
) -> Response {
    let user = match access::operator(auth.user) {
        Ok(user) => user,
        Err(denied) => return denied_reply(denied),
    };
    let not_found = || {
        let shown: String = card_id.chars().take(40).collect();
        (
            StatusCode::NOT_FOUND,
            format!("No card {shown} exists. Check the card ID, or search for it."),
        )
            .into_response()
    };
    let Ok(id) = CardId::parse(&card_id) else {
        return not_found();
    };
    match state.db.card(id.as_str()).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found(),
        Err(e) => return storage_reply(&e),
    }
    let audit = audit_for(
        &state,
        &user,
        "export card history",
        format!("card {}", id.as_str()),
    );
    let pages = state.db.export_history(id.as_str().to_owned());
    csv_download(audit, &filename(&format!("history-{}", id.as_str())), pages).await
}

/// `GET /export/audit.csv`: the whole admin audit log, newest first (admins only).
async fn audit(Extension(state): Extension<AppState>, auth: AuthSession) -> Response {
    let user = match access::admin(auth.user) {
        Ok(user) => user,
        Err(denied) => return denied_reply(denied),
    };
    let audit = audit_for(
        &state,
        &user,
        "export audit log",
        "the audit log".to_owned(),
    );
    let pages = state.db.export_audit();
    csv_download(audit, &filename("audit"), pages).await
}

/// `GET /export/jobs/{job_id}/items.csv[?outcome=…]`: a job's items in order, of one outcome
/// if given. An operator's own jobs, any job for an admin; someone else's is "no such job".
async fn job_items(
    Extension(state): Extension<AppState>,
    auth: AuthSession,
    Path(job_id): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    use backend::services::jobs::{visible_job, Asker, JobError};
    use desk_core::domain::ItemOutcome;

    let user = match access::operator(auth.user) {
        Ok(user) => user,
        Err(denied) => return denied_reply(denied),
    };
    let not_found = || {
        let shown: String = job_id.chars().take(20).collect();
        (
            StatusCode::NOT_FOUND,
            format!("No job {shown} exists. Open the job from Jobs."),
        )
            .into_response()
    };
    let Ok(id) = job_id.parse::<i64>() else {
        return not_found();
    };
    let mut outcome = None;
    for (key, value) in query_pairs(query.as_deref()) {
        if key == "outcome" && !value.is_empty() {
            match value.parse::<ItemOutcome>() {
                Ok(o) => outcome = Some(o),
                Err(_) => {
                    let shown: String = value.chars().take(20).collect();
                    return bad_request(format!(
                        "Unknown outcome \"{shown}\". Use changed, unchanged, ordered, failed, skipped or not_run."
                    ));
                }
            }
        }
    }
    let asker = Asker {
        id: user.id,
        username: &user.username,
        admin: user.role == desk_core::model::Role::Admin,
    };
    let job = match visible_job(&state.db, id, asker).await {
        Ok(job) => job,
        Err(JobError::Storage(e)) => return storage_reply(&e),
        Err(_) => return not_found(),
    };
    let what = match outcome {
        Some(o) => format!("job {id} items, outcome {}", o.as_str()),
        None => format!("job {id} items"),
    };
    let audit = audit_for(&state, &user, "export job items", what);
    let pages = state.db.export_job_items(id, job.process, outcome);
    csv_download(audit, &filename(&format!("job-{id}-items")), pages).await
}
