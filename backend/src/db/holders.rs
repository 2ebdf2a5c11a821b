//! Card holders, the people the "User" search finds: the search, the profile, and how a new
//! card finds the person it belongs to (by employee ID, else by email).

use std::collections::HashMap;

use sqlx::{FromRow, QueryBuilder};

use super::{on_pool, to_rfc3339, Db, IN_LIST_CHUNK};
use desk_core::domain::CardState;
use desk_core::model::{
    search_key, HolderCard, HolderDetail, HolderSearch, HolderSortColumn, HolderSummary, PAGE_SIZE,
};

/// Who a card's holder is: the same employee ID is the same person; when a row has no
/// employee ID, the same email is the person known by email alone (a holder stored without
/// an employee ID). Both are compared as search keys (trimmed, lower-cased). A row with
/// neither is a person of its own.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum HolderKey {
    EmployeeId(String),
    Email(String),
}

impl HolderKey {
    pub fn of(employee_id: &str, email: &str) -> Option<HolderKey> {
        let employee_id = search_key(employee_id);
        if !employee_id.is_empty() {
            return Some(HolderKey::EmployeeId(employee_id));
        }
        let email = search_key(email);
        (!email.is_empty()).then_some(HolderKey::Email(email))
    }

    /// How a message names the key: `employee ID E100001`, `email anna@example.org`.
    pub fn describe(&self) -> String {
        match self {
            HolderKey::EmployeeId(id) => format!("employee ID {id}"),
            HolderKey::Email(email) => format!("email {email}"),
        }
    }
}

/// A stored holder, as a new card's row is checked against it.
#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct StoredHolder {
    pub id: i64,
    pub first_name: String,
    pub last_name: String,
    pub email: String,
    pub employee_id: String,
    employee_id_key: String,
    email_key: String,
}

impl StoredHolder {
    pub(crate) fn new(
        id: i64,
        first_name: &str,
        last_name: &str,
        email: &str,
        employee_id: &str,
    ) -> StoredHolder {
        StoredHolder {
            id,
            first_name: first_name.to_owned(),
            last_name: last_name.to_owned(),
            email: email.to_owned(),
            employee_id: employee_id.to_owned(),
            employee_id_key: search_key(employee_id),
            email_key: search_key(email),
        }
    }

    /// The key this holder is found by.
    pub(crate) fn lookup_key(&self) -> Option<HolderKey> {
        if !self.employee_id_key.is_empty() {
            Some(HolderKey::EmployeeId(self.employee_id_key.clone()))
        } else if !self.email_key.is_empty() {
            Some(HolderKey::Email(self.email_key.clone()))
        } else {
            None
        }
    }
}

pub(crate) const HOLDER_LOOKUP_COLUMNS: &str =
    "id, first_name, last_name, email, employee_id, employee_id_key, email_key";

/// Finds the stored holders for `keys` on `$executor` (a pool or a transaction): a map from
/// each key found to its holder, the lowest id when several match. Evaluates to
/// `Result<HashMap<HolderKey, StoredHolder>, sqlx::Error>`.
macro_rules! find_holders {
    ($executor:expr, $keys:expr) => {
        async {
            let keys: &[$crate::db::holders::HolderKey] = $keys;
            let mut employee_ids = Vec::new();
            let mut emails = Vec::new();
            for key in keys {
                match key {
                    $crate::db::holders::HolderKey::EmployeeId(id) => employee_ids.push(id.clone()),
                    $crate::db::holders::HolderKey::Email(email) => emails.push(email.clone()),
                }
            }
            let mut found: std::collections::HashMap<
                $crate::db::holders::HolderKey,
                $crate::db::holders::StoredHolder,
            > = std::collections::HashMap::new();
            for (list, condition) in [
                (&employee_ids, "employee_id_key IN "),
                (&emails, "employee_id_key = '' AND email_key IN "),
            ] {
                for chunk in list.chunks($crate::db::IN_LIST_CHUNK) {
                    let mut query = sqlx::QueryBuilder::new(format!(
                        "SELECT {} FROM card_holders WHERE {condition}",
                        $crate::db::holders::HOLDER_LOOKUP_COLUMNS
                    ));
                    $crate::db::push_in_list(&mut query, chunk);
                    query.push(" ORDER BY id DESC");
                    let rows = query
                        .build_query_as::<$crate::db::holders::StoredHolder>()
                        .fetch_all(&mut *$executor)
                        .await?;
                    // Read highest id first, so the lowest one is kept.
                    for row in rows {
                        if let Some(key) = row.lookup_key() {
                            found.insert(key, row);
                        }
                    }
                }
            }
            Ok::<_, sqlx::Error>(found)
        }
    };
}
pub(crate) use find_holders;

#[derive(FromRow)]
struct HolderRow {
    id: i64,
    first_name: String,
    last_name: String,
    email: String,
    employee_id: String,
}

#[derive(FromRow)]
pub(super) struct HolderCardRow {
    pub(super) holder_id: i64,
    pub(super) card_id: String,
    #[sqlx(try_from = "String")]
    pub(super) state: CardState,
    pub(super) ordered_at: Option<i64>,
}

/// A holder's cards, oldest order first (cards not yet ordered last), then by card ID.
const CARD_ORDER: &str = "holder_id, ordered_at ASC NULLS LAST, card_id";

impl Db {
    /// The stored holders for `keys` (see [`HolderKey`]).
    pub async fn find_holders(
        &self,
        keys: &[HolderKey],
    ) -> Result<HashMap<HolderKey, StoredHolder>, sqlx::Error> {
        on_pool!(self, pool => {
            let mut conn = pool.acquire().await?;
            find_holders!(conn, keys).await
        })
    }

    /// The WHERE clause of `search` and its text parameters. `walk`: written so that neither
    /// engine uses a prefix index for it (an export walks the holders in id order instead,
    /// when the matches are many).
    pub(super) fn holder_filter(search: &HolderSearch, walk: bool) -> (String, Vec<String>) {
        let mut filter = String::from("1 = 1");
        let mut binds: Vec<String> = Vec::new();
        for (column, value) in [
            ("h.last_name_key", &search.last_name),
            ("h.first_name_key", &search.first_name),
            ("h.email_key", &search.email),
            ("h.employee_id_key", &search.employee_id),
        ] {
            let key = search_key(value);
            if key.is_empty() {
                continue;
            }
            let column = if walk {
                format!("({column} || '')")
            } else {
                column.to_owned()
            };
            // A prefix is the range [key, key + U+10FFFF): both engines compare these
            // columns bytewise, so the range uses the index (as for cards).
            let upper = format!("{key}\u{10FFFF}");
            binds.push(key);
            binds.push(upper);
            filter.push_str(&format!(
                " AND {column} >= ${} AND {column} < ${}",
                binds.len() - 1,
                binds.len()
            ));
        }
        (filter, binds)
    }

    /// The SQL and its text parameters for one page of `search` (one row more than a page,
    /// to tell whether another follows). The page is found on the key indexes alone (the
    /// inner select reads only indexed columns), then joined to the holders for its rows.
    /// Public so the benchmark can time the bare query.
    pub fn holder_search_sql(search: &HolderSearch) -> (String, Vec<String>) {
        let (filter, binds) = Self::holder_filter(search, false);
        let direction = if search.sort.descending {
            "DESC"
        } else {
            "ASC"
        };
        let columns: &[&str] = match search.sort.column {
            HolderSortColumn::Name => &["last_name_key", "first_name_key"],
            HolderSortColumn::Email => &["email_key"],
            HolderSortColumn::EmployeeId => &["employee_id_key"],
        };
        let order = |table: &str, id: &str| {
            let mut parts: Vec<String> = columns
                .iter()
                .map(|c| format!("{table}.{c} {direction}"))
                .collect();
            parts.push(format!("{table}.{id} {direction}"));
            parts.join(", ")
        };
        let selected: Vec<String> = columns.iter().map(|c| format!("h.{c}")).collect();
        let offset = (i64::from(search.page()) - 1) * PAGE_SIZE as i64;
        let sql = format!(
            "SELECT h.id, h.first_name, h.last_name, h.email, h.employee_id \
             FROM (SELECT h.id AS hid, {} FROM card_holders h WHERE {filter} \
             ORDER BY {} LIMIT {} OFFSET {offset}) p \
             JOIN card_holders h ON h.id = p.hid ORDER BY {}",
            selected.join(", "),
            order("h", "id"),
            PAGE_SIZE + 1,
            order("p", "hid"),
        );
        (sql, binds)
    }

    /// One page of holders matching `search`, each with its cards' states, plus whether
    /// another page follows.
    pub async fn search_holders(
        &self,
        search: &HolderSearch,
    ) -> Result<(Vec<HolderSummary>, bool), sqlx::Error> {
        let (sql, binds) = Db::holder_search_sql(search);
        let mut rows: Vec<HolderRow> = on_pool!(self, pool => {
            let mut query = sqlx::query_as::<_, HolderRow>(&sql);
            for bind in &binds {
                query = query.bind(bind);
            }
            query.fetch_all(pool).await
        })?;
        let has_next = rows.len() > PAGE_SIZE;
        rows.truncate(PAGE_SIZE);
        let ids: Vec<i64> = rows.iter().map(|r| r.id).collect();
        let mut states: HashMap<i64, Vec<CardState>> = HashMap::new();
        for card in self.cards_of_holders(&ids).await? {
            states.entry(card.holder_id).or_default().push(card.state);
        }
        let summaries = rows
            .into_iter()
            .map(|row| HolderSummary {
                card_states: states.remove(&row.id).unwrap_or_default(),
                holder_id: row.id,
                first_name: row.first_name,
                last_name: row.last_name,
                email: row.email,
                employee_id: row.employee_id,
            })
            .collect();
        Ok((summaries, has_next))
    }

    /// The cards of `holder_ids`, by holder, oldest order first.
    pub(super) async fn cards_of_holders(
        &self,
        holder_ids: &[i64],
    ) -> Result<Vec<HolderCardRow>, sqlx::Error> {
        let mut found = Vec::new();
        for chunk in holder_ids.chunks(IN_LIST_CHUNK) {
            if chunk.is_empty() {
                continue;
            }
            let rows: Vec<HolderCardRow> = on_pool!(self, pool => {
                let mut query = QueryBuilder::new(
                    "SELECT holder_id, card_id, state, ordered_at FROM cards WHERE holder_id IN (",
                );
                let mut list = query.separated(", ");
                for id in chunk {
                    list.push_bind(*id);
                }
                query.push(format!(") ORDER BY {CARD_ORDER}"));
                query.build_query_as::<HolderCardRow>().fetch_all(pool).await
            })?;
            found.extend(rows);
        }
        Ok(found)
    }

    /// A holder's profile: details and cards. `None` when no holder has this id.
    pub async fn holder(&self, holder_id: i64) -> Result<Option<HolderDetail>, sqlx::Error> {
        let row: Option<HolderRow> = on_pool!(self, pool => sqlx::query_as::<_, HolderRow>(
            "SELECT id, first_name, last_name, email, employee_id FROM card_holders WHERE id = $1",
        )
        .bind(holder_id)
        .fetch_optional(pool)
        .await)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let cards = self
            .cards_of_holders(&[row.id])
            .await?
            .into_iter()
            .map(|card| HolderCard {
                card_id: card.card_id,
                state: card.state,
                ordered_at: card.ordered_at.map(to_rfc3339),
            })
            .collect();
        Ok(Some(HolderDetail {
            holder_id: row.id,
            first_name: row.first_name,
            last_name: row.last_name,
            email: row.email,
            employee_id: row.employee_id,
            cards,
            commands: Vec::new(),
        }))
    }

    pub async fn count_holders(&self) -> Result<i64, sqlx::Error> {
        on_pool!(self, pool => sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM card_holders").fetch_one(pool).await)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_employee_id_wins_then_the_email() {
        assert_eq!(
            HolderKey::of(" E1 ", "a@x"),
            Some(HolderKey::EmployeeId("e1".into()))
        );
        assert_eq!(
            HolderKey::of("", "Anna@Example.org"),
            Some(HolderKey::Email("anna@example.org".into()))
        );
        assert_eq!(HolderKey::of(" ", ""), None);
    }
}
