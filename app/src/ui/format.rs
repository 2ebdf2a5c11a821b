//! Small display helpers shared by the pages.

/// "2026-11-20T09:12:00Z" → "2026-11-20 09:12 UTC"; anything else is shown as it is.
pub fn short_time(rfc3339: &str) -> String {
    let bytes = rfc3339.as_bytes();
    if bytes.len() >= 16 && bytes.get(10) == Some(&b'T') {
        format!("{} {} UTC", &rfc3339[..10], &rfc3339[11..16])
    } else {
        rfc3339.to_owned()
    }
}

pub fn optional_time(value: &Option<String>) -> String {
    value
        .as_deref()
        .map(short_time)
        .unwrap_or_else(|| "—".to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_rfc3339() {
        assert_eq!(short_time("2026-11-20T09:12:00Z"), "2026-11-20 09:12 UTC");
        assert_eq!(short_time("garbage"), "garbage");
        assert_eq!(short_time("2026-11-20Tö"), "2026-11-20Tö");
        assert_eq!(optional_time(&None), "—");
    }
}
