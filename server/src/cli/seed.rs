//! `seed-demo`: believable holders and cards, spread over every state.

use anyhow::bail;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use backend::db::cards::NewCard;
use backend::db::{now_ms, Db};
use desk_core::domain::{CardState, CommandList, Process};

use super::progress::Progress;

const FIRST_NAMES: &[&str] = &[
    "Anna", "Erik", "Lars", "Karin", "Åsa", "Björn", "Sofia", "Johan", "Elin", "Mikael", "Ingrid",
    "Oskar", "Maja", "Nils", "Linnea", "Per", "Emma", "Gustav", "Sara", "Anders", "Hanna", "Olof",
    "Maria", "Jonas", "Ebba", "Fredrik", "Astrid", "Henrik", "Frida", "Magnus", "Örjan", "Ylva",
    "Amira", "Mohammed", "Wei", "Priya", "Lucas", "Chloé", "Mateo", "Zeynep", "Noah", "Aisha",
];
const LAST_NAMES: &[&str] = &[
    "Berg",
    "Andersson",
    "Johansson",
    "Karlsson",
    "Nilsson",
    "Eriksson",
    "Larsson",
    "Olsson",
    "Persson",
    "Svensson",
    "Gustafsson",
    "Pettersson",
    "Jonsson",
    "Jansson",
    "Hansson",
    "Bengtsson",
    "Östberg",
    "Åkesson",
    "Lindqvist",
    "Lundgren",
    "Ström",
    "Sjöberg",
    "Wallin",
    "Engström",
    "Holm",
    "Forsberg",
    "Sandberg",
    "Lindberg",
    "Nyström",
    "Ekström",
    "Björk",
    "Hedlund",
    "Dahl",
    "Öberg",
    "Ahmed",
    "Nguyen",
    "Kowalski",
    "García",
    "Müller",
    "Rossi",
    "Yilmaz",
    "Chen",
];
const DOMAINS: &[&str] = &[
    "example.org",
    "example.com",
    "corp.example",
    "agency.example",
];

/// The demo's mix of states, in per mille. Most are open orders: what operators work on.
const STATE_MIX: &[(CardState, u32)] = &[
    (CardState::Ordered, 300),
    (CardState::InProduction, 250),
    (CardState::Produced, 150),
    (CardState::Failed, 30),
    (CardState::Registered, 50),
    (CardState::Processing, 50),
    (CardState::Aborted, 20),
    (CardState::Active, 80),
    (CardState::Inactive, 30),
    (CardState::Expired, 20),
    (CardState::Locked, 20),
];

/// Letters and digits for the tail of a card id.
const TAIL: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ0123456789";

fn ascii_email_part(name: &str) -> String {
    name.chars()
        .map(|c| match c {
            'å' | 'ä' | 'Å' | 'Ä' | 'á' => 'a',
            'ö' | 'Ö' | 'ó' => 'o',
            'é' | 'è' => 'e',
            'ü' | 'Ü' => 'u',
            other => other.to_ascii_lowercase(),
        })
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// The `index`-th demo card, the same every time.
pub fn demo_card(rng: &mut StdRng, index: u64, now: i64) -> NewCard {
    let first = FIRST_NAMES[rng.random_range(0..FIRST_NAMES.len())];
    let last = LAST_NAMES[rng.random_range(0..LAST_NAMES.len())];
    let domain = DOMAINS[rng.random_range(0..DOMAINS.len())];
    let roll = rng.random_range(0..1000);
    let mut acc = 0;
    let mut state = CardState::Ordered;
    for (s, weight) in STATE_MIX {
        acc += weight;
        if roll < acc {
            state = *s;
            break;
        }
    }
    let tail: String = (0..8)
        .map(|_| TAIL[rng.random_range(0..TAIL.len())] as char)
        .collect();
    let ordered_at = (!state.may_lack_order_date() || rng.random_bool(0.3)).then(|| {
        // Within the last 90 days.
        now - rng.random_range(0..90 * 24 * 3600 * 1000_i64)
    });
    NewCard {
        card_id: format!("CA26{index:08}-{tail}"),
        first_name: first.to_owned(),
        last_name: last.to_owned(),
        email: format!(
            "{}.{}{}@{domain}",
            ascii_email_part(first),
            ascii_email_part(last),
            index % 1000
        ),
        employee_id: format!("E{:06}", 100_000 + index),
        state,
        ordered_at,
    }
}

/// Fills an empty database with `count` demo cards and enables Update card order on
/// Ordered and In production. Refuses a database that has cards.
pub async fn seed_cards(db: &Db, count: u64) -> anyhow::Result<()> {
    if count > 100_000_000 {
        bail!("--cards is at most 100000000");
    }
    let existing = db.count_cards().await?;
    if existing > 0 {
        bail!("the database already has {existing} cards; seed-demo only fills an empty database");
    }
    let mut rng = StdRng::seed_from_u64(2026);
    let now = now_ms();
    let mut progress = Progress::new(count, "seeding demo cards");
    // Batches keep memory flat for a million cards; each batch is its own transaction.
    const BATCH: u64 = 50_000;
    let mut done = 0;
    while done < count {
        let n = BATCH.min(count - done);
        let cards: Vec<NewCard> = (done..done + n)
            .map(|i| demo_card(&mut rng, i, now))
            .collect();
        db.insert_cards(&cards, |written| progress.set(done + written as u64))
            .await?;
        done += n;
    }
    progress.finish();
    db.analyze().await?;
    // The demo offers every process where it applies.
    for state in [CardState::Ordered, CardState::InProduction] {
        for process in [Process::UpdateCardOrder, Process::AbortCardOrder] {
            db.set_command(state, process, true).await?;
        }
    }
    db.set_command(CommandList::User, Process::OrderCard, true)
        .await?;
    db.audit(
        "seed-demo",
        "enable command",
        "update-card-order and abort-card-order on ordered and in_production; order-card on Users › User",
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use desk_core::domain::CardId;

    #[test]
    fn demo_cards_are_valid_and_varied() {
        let mut rng = StdRng::seed_from_u64(1);
        let cards: Vec<NewCard> = (0..2000)
            .map(|i| demo_card(&mut rng, i, 1_800_000_000_000))
            .collect();
        for card in &cards {
            assert!(CardId::parse(&card.card_id).is_ok(), "{}", card.card_id);
            assert!(card.email.contains('@'));
            if !card.state.may_lack_order_date() {
                assert!(card.ordered_at.is_some());
            }
        }
        for state in CardState::ALL {
            assert!(cards.iter().any(|c| c.state == state), "no {state:?}");
        }
        let surnames: std::collections::HashSet<_> = cards.iter().map(|c| &c.last_name).collect();
        assert!(surnames.len() > 30);
    }
}
