//! Text from outside (GO Cards replies, webhooks, forms, files) on its way to storage.
//! PostgreSQL refuses U+0000 in `text`, and other control characters only garble a page or a
//! log line, so they are refused where a person typed them and replaced where GO Cards sent
//! them (a report is still applied: its status or reason only shows the replacement).

use std::borrow::Cow;

/// What stands in for a control character that GO Cards sent.
pub const REPLACEMENT: char = '\u{FFFD}';

/// Whether `text` holds a control character (U+0000–U+001F, U+007F–U+009F).
pub fn has_control(text: &str) -> bool {
    text.chars().any(char::is_control)
}

/// `text` with each control character replaced by U+FFFD, and cut to `max_chars`.
pub fn clean_text(text: &str, max_chars: usize) -> Cow<'_, str> {
    if !has_control(text) && text.chars().count() <= max_chars {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars()
            .take(max_chars)
            .map(|c| if c.is_control() { REPLACEMENT } else { c })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn control_characters_are_replaced_and_others_kept() {
        assert_eq!(clean_text("HOLD\u{0}", 64), "HOLD\u{FFFD}");
        assert_eq!(
            clean_text("a\tb\nc\u{7f}\u{85}", 64),
            "a\u{FFFD}b\u{FFFD}c\u{FFFD}\u{FFFD}"
        );
        assert!(matches!(clean_text("Östberg – ok", 64), Cow::Borrowed(_)));
        assert_eq!(clean_text("abcdef", 3), "abc");
    }

    proptest! {
        #[test]
        fn cleaned_text_has_no_control_character(raw in any::<String>(), max in 0usize..300) {
            let cleaned = clean_text(&raw, max);
            prop_assert!(!has_control(&cleaned));
            prop_assert!(cleaned.chars().count() <= max);
        }
    }
}
