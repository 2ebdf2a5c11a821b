//! The articles the simulated organisation may order (`GET /api/articles`).

use gocards::Article;

/// `(articleId, name)`, the contract's example first.
const ARTICLES: [(&str, &str); 3] = [
    ("KSK-K11686X", "Employee ID card, MIFARE DESFire EV3"),
    ("KSK-K11687X", "Contractor ID card, MIFARE DESFire EV3"),
    ("KSK-V20410P", "Visitor card, printed PVC without chip"),
];

/// The articles, `KSK-K11686X` first.
pub fn articles() -> Vec<Article> {
    ARTICLES
        .iter()
        .map(|(article_id, name)| Article {
            article_id: (*article_id).to_owned(),
            name: (*name).to_owned(),
        })
        .collect()
}

pub(crate) fn is_known(article_id: &str) -> bool {
    ARTICLES.iter().any(|(known, _)| *known == article_id)
}
