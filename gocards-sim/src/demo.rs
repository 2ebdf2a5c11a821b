//! Believable cards for a standalone simulator.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use desk_core::domain::GoCardsStatus;
use gocards::CardInfo;

const NAMES: [(&str, &str); 8] = [
    ("Anna", "Berg"),
    ("Erik", "Lund"),
    ("Maja", "Holm"),
    ("Oskar", "Nyberg"),
    ("Sara", "Ek"),
    ("Jonas", "Strand"),
    ("Elin", "Sjöberg"),
    ("Karl", "Dahl"),
];

/// `count` cards, ORDERED or IN_PRODUCTION, with ids in the GO Cards format.
pub fn demo_cards(count: usize) -> Vec<CardInfo> {
    let now = Utc::now();
    (0..count)
        .map(|i| {
            let (first, last) = NAMES[i % NAMES.len()];
            let mut elements = BTreeMap::new();
            elements.insert("FIRST_NAME".to_owned(), first.to_owned());
            elements.insert("LAST_NAME".to_owned(), last.to_owned());
            CardInfo {
                card_id: format!("CA2611200{:03}-DEMO{:04}", i % 1000, i % 10_000),
                article_id: "KSK-K11686X".to_owned(),
                card_holder_email: format!(
                    "{}.{}{}@example.org",
                    first.to_lowercase(),
                    last.to_lowercase().replace('ö', "o"),
                    i
                ),
                card_elements: elements,
                status: if i % 3 == 0 {
                    GoCardsStatus::InProduction
                } else {
                    GoCardsStatus::Ordered
                },
                failure_reason: None,
                ordered: Some(now - Duration::days(1 + (i % 20) as i64)),
                produced: None,
                delivered: None,
                activated: None,
                updated: None,
            }
        })
        .collect()
}
