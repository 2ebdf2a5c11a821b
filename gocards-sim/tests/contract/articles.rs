//! `GET /api/articles`.

use testkit::gocards::start_sim;

#[tokio::test]
async fn three_articles_are_listed_the_employee_card_first() -> anyhow::Result<()> {
    let t = start_sim().await?;
    let articles = t.client()?.articles().await?;
    assert_eq!(articles.len(), 3);
    assert_eq!(articles[0].article_id, "KSK-K11686X");
    assert_eq!(articles[0].name, "Employee ID card, MIFARE DESFire EV3");
    assert!(articles.iter().all(|a| !a.name.is_empty()));
    assert_eq!(articles, gocards_sim::articles());
    assert_eq!(t.calls_to("/api/articles"), 1);
    Ok(())
}
