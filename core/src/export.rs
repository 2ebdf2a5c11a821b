//! CSV export: the cell rule that makes a file safe in a spreadsheet, RFC 4180 records, the
//! columns of each export, and the addresses the downloads are served at. Pure: a sheet is
//! written into memory a page at a time, and the server sends each page as it is done.

use std::borrow::Cow;

use crate::domain::CardState;
use crate::model::{AuditEntry, HistoryEntry, JobItemView};

/// The characters a spreadsheet reads as the start of a formula (or that hide one).
pub const FORMULA_STARTS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// What goes before a cell that begins with one of [`FORMULA_STARTS`].
pub const FORMULA_GUARD: char = '\'';

/// The download addresses (GET). Each answers 401 without a session, and 403 to a role that
/// may not have it.
pub const CARDS_PATH: &str = "/export/cards.csv";
pub const USERS_PATH: &str = "/export/users.csv";
pub const AUDIT_PATH: &str = "/export/audit.csv";
/// `/export/cards/{card_id}/history.csv`.
pub fn history_path(card_id: &str) -> String {
    format!("/export/cards/{card_id}/history.csv")
}

/// `/export/jobs/{job_id}/items.csv`, of one outcome if given (`?outcome=failed`).
pub fn job_items_path(job_id: i64, outcome: Option<crate::domain::ItemOutcome>) -> String {
    match outcome {
        Some(outcome) => format!(
            "/export/jobs/{job_id}/items.csv?outcome={}",
            outcome.as_str()
        ),
        None => format!("/export/jobs/{job_id}/items.csv"),
    }
}

/// The cell as written to the file: with a leading `'` when it begins with `=`, `+`, `-`, `@`,
/// a tab or a carriage return, so that a spreadsheet shows it as text instead of running it.
pub fn safe_cell(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some(first) if FORMULA_STARTS.contains(&first) => {
            let mut guarded = String::with_capacity(cell.len() + 1);
            guarded.push(FORMULA_GUARD);
            guarded.push_str(cell);
            Cow::Owned(guarded)
        }
        _ => Cow::Borrowed(cell),
    }
}

/// The inverse of [`safe_cell`], for a file coming back (`import-cards`): a `'` before one of
/// [`FORMULA_STARTS`] is dropped; any other cell is as it was. (A value that itself began
/// with `'=` is read as `=`: the one text the rule cannot tell apart.)
pub fn unguard_cell(cell: &str) -> &str {
    match cell.strip_prefix(FORMULA_GUARD) {
        Some(rest) if rest.starts_with(FORMULA_STARTS) => rest,
        _ => cell,
    }
}

/// One row of an export: its header and its cells, in the header's order.
pub trait CsvRecord {
    /// The header row.
    const HEADER: &'static [&'static str];
    /// The cells, as many as [`CsvRecord::HEADER`] has names (before [`safe_cell`]).
    fn cells(&self) -> Vec<Cow<'_, str>>;
}

#[derive(Debug, thiserror::Error)]
#[error("could not write a CSV row: {0}")]
pub struct CsvError(#[from] csv::Error);

/// A CSV file written in memory, piece by piece: [`CsvSheet::take`] hands over what was
/// written so far. RFC 4180: CRLF after each record, a field quoted when it holds a comma, a
/// quote or a line break, and a quote inside doubled; every cell passes [`safe_cell`].
pub struct CsvSheet {
    /// `None` only inside [`CsvSheet::take`].
    writer: Option<csv::Writer<Vec<u8>>>,
}

impl Default for CsvSheet {
    fn default() -> Self {
        CsvSheet::new()
    }
}

fn writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .quote_style(csv::QuoteStyle::Necessary)
        .from_writer(Vec::new())
}

impl CsvSheet {
    pub fn new() -> CsvSheet {
        CsvSheet {
            writer: Some(writer()),
        }
    }

    /// Writes one record of raw cells, each made safe first.
    pub fn record<'a>(&mut self, cells: impl IntoIterator<Item = &'a str>) -> Result<(), CsvError> {
        let cells: Vec<Cow<'a, str>> = cells.into_iter().map(safe_cell).collect();
        self.writer
            .get_or_insert_with(writer)
            .write_record(cells.iter().map(|c| c.as_bytes()))
            .map_err(CsvError)
    }

    /// Writes `R`'s header row.
    pub fn header<R: CsvRecord>(&mut self) -> Result<(), CsvError> {
        self.record(R::HEADER.iter().copied())
    }

    /// Writes one row.
    pub fn row<R: CsvRecord>(&mut self, row: &R) -> Result<(), CsvError> {
        let cells = row.cells();
        self.record(cells.iter().map(|c| c.as_ref()))
    }

    /// The bytes written since the last call.
    pub fn take(&mut self) -> Result<Vec<u8>, CsvError> {
        let Some(full) = self.writer.take() else {
            return Ok(Vec::new());
        };
        let bytes = full
            .into_inner()
            .map_err(|e| CsvError(csv::Error::from(e.into_error())))?;
        self.writer = Some(writer());
        Ok(bytes)
    }
}

/// A card in the card-search export. The first seven columns are `import-cards`' header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CardExportRow {
    pub card_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub employee_id: String,
    pub state: CardState,
    /// RFC 3339, UTC.
    pub ordered_at: Option<String>,
    /// RFC 3339, UTC.
    pub last_checked_at: Option<String>,
    pub gocards_status: Option<String>,
    pub failure_reason: Option<String>,
}

impl CsvRecord for CardExportRow {
    const HEADER: &'static [&'static str] = &[
        "card_id",
        "first_name",
        "last_name",
        "email",
        "employee_id",
        "status",
        "ordered_at",
        "last_checked_at",
        "gocards_status",
        "failure_reason",
    ];

    fn cells(&self) -> Vec<Cow<'_, str>> {
        vec![
            Cow::Borrowed(self.card_id.as_str()),
            Cow::Borrowed(self.first_name.as_str()),
            Cow::Borrowed(self.last_name.as_str()),
            Cow::Borrowed(self.email.as_str()),
            Cow::Borrowed(self.employee_id.as_str()),
            Cow::Borrowed(self.state.as_str()),
            Cow::Borrowed(self.ordered_at.as_deref().unwrap_or("")),
            Cow::Borrowed(self.last_checked_at.as_deref().unwrap_or("")),
            Cow::Borrowed(self.gocards_status.as_deref().unwrap_or("")),
            Cow::Borrowed(self.failure_reason.as_deref().unwrap_or("")),
        ]
    }
}

/// A user (card holder) in the user-search export.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HolderExportRow {
    pub holder_id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub employee_id: String,
    /// The user's cards, oldest order first: `(card id, state)`.
    pub cards: Vec<(String, CardState)>,
}

impl HolderExportRow {
    /// The `cards` cell: `CA… ordered; CA… produced`, empty when the user has none.
    pub fn cards_cell(&self) -> String {
        self.cards
            .iter()
            .map(|(id, state)| format!("{id} {}", state.as_str()))
            .collect::<Vec<_>>()
            .join("; ")
    }
}

impl CsvRecord for HolderExportRow {
    const HEADER: &'static [&'static str] = &[
        "user_id",
        "first_name",
        "last_name",
        "email",
        "employee_id",
        "cards",
    ];

    fn cells(&self) -> Vec<Cow<'_, str>> {
        vec![
            Cow::Owned(self.holder_id.to_string()),
            Cow::Borrowed(self.first_name.as_str()),
            Cow::Borrowed(self.last_name.as_str()),
            Cow::Borrowed(self.email.as_str()),
            Cow::Borrowed(self.employee_id.as_str()),
            Cow::Owned(self.cards_cell()),
        ]
    }
}

/// A card's history row, newest first, as the profile lists it.
impl CsvRecord for HistoryEntry {
    const HEADER: &'static [&'static str] = &[
        "at",
        "kind",
        "source",
        "actor",
        "from_status",
        "to_status",
        "gocards_status",
        "detail",
        "repeats",
        "last_at",
    ];

    fn cells(&self) -> Vec<Cow<'_, str>> {
        vec![
            Cow::Borrowed(self.at.as_str()),
            Cow::Borrowed(self.kind.as_str()),
            Cow::Borrowed(self.source.as_str()),
            Cow::Borrowed(self.actor.as_deref().unwrap_or("")),
            Cow::Borrowed(self.from_state.as_str()),
            Cow::Borrowed(self.to_state.as_str()),
            Cow::Borrowed(self.gocards_status.as_deref().unwrap_or("")),
            Cow::Borrowed(self.detail.as_deref().unwrap_or("")),
            Cow::Owned(self.repeats.to_string()),
            Cow::Borrowed(self.last_at.as_deref().unwrap_or("")),
        ]
    }
}

/// An admin audit line, newest first.
impl CsvRecord for AuditEntry {
    const HEADER: &'static [&'static str] = &["at", "actor", "action", "detail"];

    fn cells(&self) -> Vec<Cow<'_, str>> {
        vec![
            Cow::Borrowed(self.at.as_str()),
            Cow::Borrowed(self.actor.as_str()),
            Cow::Borrowed(self.action.as_str()),
            Cow::Borrowed(self.detail.as_str()),
        ]
    }
}

/// One item of a job, in the job's order. `item` is the card id or the user's id; `name` the
/// user's name (empty for a card).
impl CsvRecord for JobItemView {
    const HEADER: &'static [&'static str] = &[
        "position",
        "item",
        "name",
        "state_before",
        "state_after",
        "outcome",
        "message",
    ];

    fn cells(&self) -> Vec<Cow<'_, str>> {
        let (item, name) = match self.href.strip_prefix("/users/") {
            Some(id) => (Cow::Borrowed(id), Cow::Borrowed(self.target.as_str())),
            None => (Cow::Borrowed(self.target.as_str()), Cow::Borrowed("")),
        };
        vec![
            Cow::Owned((self.position + 1).to_string()),
            item,
            name,
            Cow::Borrowed(self.before.map_or("", CardState::as_str)),
            Cow::Borrowed(self.after.map_or("", CardState::as_str)),
            Cow::Borrowed(self.outcome.map_or("", |o| o.as_str())),
            Cow::Borrowed(self.message.as_str()),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn write(cells: &[&str]) -> String {
        let mut sheet = CsvSheet::new();
        sheet.record(cells.iter().copied()).expect("record");
        String::from_utf8(sheet.take().expect("take")).expect("utf-8")
    }

    fn read(bytes: &[u8]) -> Vec<Vec<String>> {
        csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes)
            .records()
            .map(|r| r.expect("record").iter().map(str::to_owned).collect())
            .collect()
    }

    #[test]
    fn formula_starts_get_a_quote_mark() {
        for cell in ["=SUM(A1)", "+1", "-2", "@cmd", "\tx", "\rx"] {
            assert_eq!(safe_cell(cell), format!("'{cell}"), "{cell:?}");
        }
        for cell in ["", "Anna", "a=b", " =x", "'=x", "Östberg", "1-2"] {
            assert_eq!(safe_cell(cell), cell, "{cell:?}");
        }
    }

    #[test]
    fn records_are_rfc_4180() {
        assert_eq!(write(&["a", "b"]), "a,b\r\n");
        assert_eq!(
            write(&["a,b", "say \"hi\""]),
            "\"a,b\",\"say \"\"hi\"\"\"\r\n"
        );
        assert_eq!(write(&["two\nlines", "x"]), "\"two\nlines\",x\r\n");
        assert_eq!(write(&["=1+1", "-"]), "'=1+1,'-\r\n");
        // Guarded and quoted at once.
        assert_eq!(write(&["=a,b", "\r"]), "\"'=a,b\",\"'\r\"\r\n");
    }

    #[test]
    fn the_card_header_starts_with_the_import_columns() {
        assert_eq!(
            CardExportRow::HEADER.join(","),
            "card_id,first_name,last_name,email,employee_id,status,ordered_at,\
             last_checked_at,gocards_status,failure_reason"
        );
        let row = CardExportRow {
            card_id: "CA2202040404-5GG3F4C8".into(),
            first_name: "=Anna".into(),
            last_name: "Berg, Jr".into(),
            email: "@x".into(),
            employee_id: "-1".into(),
            state: CardState::InProduction,
            ordered_at: Some("2026-11-20T09:12:00Z".into()),
            last_checked_at: None,
            gocards_status: Some("IN_PRODUCTION".into()),
            failure_reason: Some("line one\nline two".into()),
        };
        let mut sheet = CsvSheet::new();
        sheet.header::<CardExportRow>().expect("header");
        sheet.row(&row).expect("row");
        let bytes = sheet.take().expect("take");
        let rows = read(&bytes);
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[1],
            [
                "CA2202040404-5GG3F4C8",
                "'=Anna",
                "Berg, Jr",
                "'@x",
                "'-1",
                "in_production",
                "2026-11-20T09:12:00Z",
                "",
                "IN_PRODUCTION",
                "line one\nline two"
            ]
        );
    }

    #[test]
    fn the_users_cards_cell_lists_ids_and_states() {
        let row = HolderExportRow {
            holder_id: 7,
            first_name: "A".into(),
            last_name: "B".into(),
            email: String::new(),
            employee_id: String::new(),
            cards: vec![
                ("CA1".into(), CardState::Ordered),
                ("CA2".into(), CardState::Produced),
            ],
        };
        assert_eq!(row.cards_cell(), "CA1 ordered; CA2 produced");
        assert_eq!(row.cells().len(), HolderExportRow::HEADER.len());
    }

    #[test]
    fn take_hands_over_each_piece_once() {
        let mut sheet = CsvSheet::new();
        sheet.record(["a"]).expect("a");
        assert_eq!(sheet.take().expect("take"), b"a\r\n");
        assert_eq!(sheet.take().expect("take"), b"");
        sheet.record(["b"]).expect("b");
        assert_eq!(sheet.take().expect("take"), b"b\r\n");
    }

    proptest! {
        #[test]
        fn no_cell_starts_a_formula(cell in any::<String>()) {
            let safe = safe_cell(&cell);
            prop_assert!(!safe.starts_with(FORMULA_STARTS));
            let guarded = format!("'{}", cell);
            prop_assert!(safe == cell || *safe == guarded);
        }

        #[test]
        fn a_record_reads_back_as_its_safe_cells(
            cells in proptest::collection::vec(any::<String>(), 1..6)
        ) {
            let mut sheet = CsvSheet::new();
            sheet.record(cells.iter().map(String::as_str)).expect("record");
            let bytes = sheet.take().expect("take");
            let read = read(&bytes);
            let expected: Vec<String> = cells.iter().map(|c| safe_cell(c).into_owned()).collect();
            // A record of one empty cell is written as `""`, and read back as one empty cell.
            prop_assert_eq!(read, vec![expected]);
        }

        #[test]
        fn unguard_undoes_safe_cell(cell in any::<String>()) {
            // The one text the rule cannot tell apart: a value that began with the guard
            // before a formula start.
            prop_assume!(!(cell.starts_with(FORMULA_GUARD) && cell[1..].starts_with(FORMULA_STARTS)));
            let safe = safe_cell(&cell);
            prop_assert_eq!(unguard_cell(&safe), cell.as_str());
        }
    }
}
