//! `import-cards FILE.csv`: validate every row, then write all of them or none.
//!
//! A card export (`cards-….csv`) is a valid file: its first seven columns are [`COLUMNS`],
//! and the columns after them (`last_checked_at`, `gocards_status`, `failure_reason`) are
//! ignored, as is any column not named here. The `'` the export puts before a cell that
//! would start a formula (`=`, `+`, `-`, `@`) is taken off again
//! ([`desk_core::export::unguard_cell`]).

use std::collections::HashMap;
use std::fmt;
use std::io::Read;

use backend::db::cards::NewCard;
use backend::db::holders::HolderKey;
use backend::db::Db;
use desk_core::domain::{CardId, CardState};

use super::progress::Progress;

pub const COLUMNS: [&str; 7] = [
    "card_id",
    "first_name",
    "last_name",
    "email",
    "employee_id",
    "status",
    "ordered_at",
];
const MAX_FIELD_LEN: usize = 200;
/// Problems listed before the rest are summarised.
const MAX_REPORTED: usize = 50;

/// One problem, at a line of the file (the header is line 1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineError {
    pub line: u64,
    pub problem: String,
}

#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    #[error("could not read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{}", render(.0))]
    Invalid(Vec<LineError>),
    #[error("storage: {0}")]
    Storage(#[from] sqlx::Error),
}

fn render(errors: &[LineError]) -> String {
    let mut text = format!(
        "the file was rejected and nothing was imported: {} problem(s)\n",
        errors.len()
    );
    for e in errors.iter().take(MAX_REPORTED) {
        text.push_str(&format!("  line {}: {}\n", e.line, e.problem));
    }
    if errors.len() > MAX_REPORTED {
        text.push_str(&format!("  … and {} more\n", errors.len() - MAX_REPORTED));
    }
    text.push_str("Fix these lines and run the import again.");
    text
}

impl fmt::Display for LineError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

/// Parses and checks a whole CSV file. Either every row is good, or the list of problems.
pub fn parse_cards(input: impl Read) -> Result<Vec<(u64, NewCard)>, Vec<LineError>> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(true)
        .from_reader(input);
    let headers = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            return Err(vec![LineError {
                line: 1,
                problem: format!("the header row could not be read: {e}"),
            }])
        }
    };
    let mut index = HashMap::new();
    for (i, name) in headers.iter().enumerate() {
        index.insert(name.trim().trim_start_matches('\u{feff}').to_owned(), i);
    }
    let missing: Vec<&str> = COLUMNS
        .iter()
        .copied()
        .filter(|c| !index.contains_key(*c))
        .collect();
    if !missing.is_empty() {
        return Err(vec![LineError {
            line: 1,
            problem: format!(
                "missing column(s): {}; the header must be {}",
                missing.join(", "),
                COLUMNS.join(",")
            ),
        }]);
    }
    let column = |name: &str| index.get(name).copied().unwrap_or(usize::MAX);
    let cols: Vec<usize> = COLUMNS.iter().map(|c| column(c)).collect();

    let mut errors = Vec::new();
    let mut cards = Vec::new();
    let mut seen: HashMap<String, u64> = HashMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map(|p| p.line()).unwrap_or(0);
                errors.push(LineError {
                    line,
                    problem: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        let line = record.position().map(|p| p.line()).unwrap_or(0);
        let field = |i: usize| {
            record
                .get(cols[i])
                .map(|v| desk_core::export::unguard_cell(v.trim()))
        };
        let mut problems = Vec::new();
        let mut get = |i: usize| match field(i) {
            Some(v) if v.chars().count() > MAX_FIELD_LEN => {
                problems.push(format!(
                    "{} is longer than {MAX_FIELD_LEN} characters",
                    COLUMNS[i]
                ));
                String::new()
            }
            Some(v) if desk_core::domain::text::has_control(v) => {
                problems.push(format!(
                    "{} holds a control character (such as NUL or a line break)",
                    COLUMNS[i]
                ));
                String::new()
            }
            Some(v) => v.to_owned(),
            None => {
                problems.push(format!("no value for {}", COLUMNS[i]));
                String::new()
            }
        };
        let (raw_id, first_name, last_name, email, employee_id, raw_status, raw_ordered) =
            (get(0), get(1), get(2), get(3), get(4), get(5), get(6));
        let card_id = match CardId::parse(&raw_id) {
            Ok(id) => Some(id),
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        };
        if first_name.is_empty() {
            problems.push("first_name is empty".into());
        }
        if last_name.is_empty() {
            problems.push("last_name is empty".into());
        }
        if !email.is_empty() && !email.contains('@') {
            problems.push(format!("email \"{email}\" has no @"));
        }
        let state = match raw_status.parse::<CardState>() {
            Ok(s) => Some(s),
            Err(e) => {
                problems.push(e.to_string());
                None
            }
        };
        let ordered_at = if raw_ordered.is_empty() {
            if let Some(state) = state.filter(|s| !s.may_lack_order_date()) {
                problems.push(format!(
                    "ordered_at is empty, but a card in state {} must have one",
                    state.as_str()
                ));
            }
            None
        } else {
            match chrono::DateTime::parse_from_rfc3339(&raw_ordered) {
                Ok(t) => Some(t.timestamp_millis()),
                Err(_) => {
                    problems.push(format!(
                        "ordered_at \"{raw_ordered}\" is not an RFC 3339 date like 2026-11-20T09:12:00Z"
                    ));
                    None
                }
            }
        };
        if let Some(id) = &card_id {
            if let Some(first) = seen.insert(id.to_string(), line) {
                problems.push(format!("card id {id} repeats line {first}"));
            }
        }
        if !problems.is_empty() {
            errors.extend(
                problems
                    .into_iter()
                    .map(|problem| LineError { line, problem }),
            );
            continue;
        }
        if let (Some(card_id), Some(state)) = (card_id, state) {
            cards.push((
                line,
                NewCard {
                    card_id: card_id.to_string(),
                    first_name,
                    last_name,
                    email,
                    employee_id,
                    state,
                    ordered_at,
                },
            ));
        }
    }
    errors.extend(same_person_same_names(&cards));
    errors.sort_by_key(|e| e.line);
    if errors.is_empty() {
        Ok(cards)
    } else {
        Err(errors)
    }
}

/// Rows for one person (the same employee ID, or without one the same email) must give the
/// same names: each row that does not is a problem at its line.
fn same_person_same_names(cards: &[(u64, NewCard)]) -> Vec<LineError> {
    let mut first: HashMap<HolderKey, (u64, &NewCard)> = HashMap::new();
    let mut errors = Vec::new();
    for (line, card) in cards {
        let Some(key) = HolderKey::of(&card.employee_id, &card.email) else {
            continue;
        };
        match first.get(&key) {
            Some((at, earlier)) => {
                if !same_names(earlier, &card.first_name, &card.last_name) {
                    errors.push(LineError {
                        line: *line,
                        problem: format!(
                            "the {} is {} {} on line {at}, but this row names {} {}; one \
                             person has one name",
                            key.describe(),
                            earlier.first_name,
                            earlier.last_name,
                            card.first_name,
                            card.last_name
                        ),
                    });
                }
            }
            None => {
                first.insert(key, (*line, card));
            }
        }
    }
    errors
}

fn same_names(card: &NewCard, first_name: &str, last_name: &str) -> bool {
    card.first_name == first_name && card.last_name == last_name
}

/// Imports the file at `path`; returns how many cards were written.
pub async fn import_file(db: &Db, path: &std::path::Path) -> Result<usize, ImportError> {
    let file = std::fs::File::open(path).map_err(|source| ImportError::Read {
        path: path.display().to_string(),
        source,
    })?;
    import(db, std::io::BufReader::new(file)).await
}

pub async fn import(db: &Db, input: impl Read) -> Result<usize, ImportError> {
    let rows = parse_cards(input).map_err(ImportError::Invalid)?;
    let ids: Vec<String> = rows.iter().map(|(_, c)| c.card_id.clone()).collect();
    let existing: std::collections::HashSet<String> =
        db.existing_card_ids(&ids).await?.into_iter().collect();
    let mut errors: Vec<LineError> = rows
        .iter()
        .filter(|(_, c)| existing.contains(&c.card_id))
        .map(|(line, c)| LineError {
            line: *line,
            problem: format!("card id {} is already in the database", c.card_id),
        })
        .collect();
    // A row goes to the stored user with its employee ID (or email), who must have its names.
    let keys: Vec<HolderKey> = rows
        .iter()
        .filter_map(|(_, c)| HolderKey::of(&c.employee_id, &c.email))
        .collect::<std::collections::HashSet<_>>()
        .into_iter()
        .collect();
    let stored = db.find_holders(&keys).await?;
    for (line, card) in &rows {
        let Some(key) = HolderKey::of(&card.employee_id, &card.email) else {
            continue;
        };
        if let Some(holder) = stored.get(&key) {
            if holder.first_name != card.first_name || holder.last_name != card.last_name {
                errors.push(LineError {
                    line: *line,
                    problem: format!(
                        "the {} belongs to {} {} in the database, but this row names {} {}; \
                         use the stored names, or the right {}",
                        key.describe(),
                        holder.first_name,
                        holder.last_name,
                        card.first_name,
                        card.last_name,
                        match key {
                            HolderKey::EmployeeId(_) => "employee ID",
                            HolderKey::Email(_) => "email",
                        }
                    ),
                });
            }
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return Err(ImportError::Invalid(errors));
    }
    let cards: Vec<NewCard> = rows.into_iter().map(|(_, c)| c).collect();
    let mut progress = Progress::new(cards.len() as u64, "importing cards");
    db.insert_cards(&cards, |done| progress.set(done as u64))
        .await?;
    progress.finish();
    db.analyze().await?;
    Ok(cards.len())
}
