//! What the page knows of AI tagging: whether the operator turned it on, the model, where the
//! photos go and what a photo costs (`GET /api/v1/tags/status`, asked once), and the words
//! that ask the user before a photo leaves for a third party.

use shared::api::TaggingInfo;

/// The question asked before tagging `photos` photos: where they go and what it costs.
pub fn consent(info: &TaggingInfo, photos: i64, tokens: i64, usd: f64) -> String {
    let what = match photos {
        1 => "this photo".to_string(),
        n => format!("these {n} photos"),
    };
    format!(
        "Tag {what} with {model}? {copies} sent to {provider} to describe {it} ({tokens} tokens, about {cost}).",
        model = info.model,
        copies = if photos == 1 {
            "A small copy is"
        } else {
            "Small copies are"
        },
        provider = info.provider,
        it = if photos == 1 { "it" } else { "them" },
        tokens = thousands(tokens),
        cost = dollars(usd),
    )
}

/// A count with thousands separators: 2833 → "2,833".
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// A cost in US dollars, with the digits that matter for a fraction of a cent.
pub fn dollars(usd: f64) -> String {
    if !usd.is_finite() || usd <= 0.0 {
        "nothing known".to_string()
    } else if usd < 0.01 {
        format!("${usd:.4}")
    } else {
        format!("${usd:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info() -> TaggingInfo {
        TaggingInfo {
            enabled: true,
            model: "gpt-4o-mini".into(),
            detail: "low".into(),
            tokens_per_photo: 2_933,
            usd_per_photo: 0.0005,
            tokens_per_minute: 200_000,
            provider: "api.openai.com".into(),
        }
    }

    #[test]
    fn the_question_says_where_photos_go_and_what_it_costs() {
        let one = consent(&info(), 1, 2_933, 0.00046);
        assert!(one.contains("api.openai.com"), "{one}");
        assert!(
            one.contains("this photo") && one.contains("2,933 tokens"),
            "{one}"
        );
        assert!(one.contains("$0.0005"), "{one}");
        let many = consent(&info(), 50, 146_650, 0.023);
        assert!(
            many.contains("these 50 photos") && many.contains("$0.02"),
            "{many}"
        );
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(thousands(2833), "2,833");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_000_000), "1,000,000");
        assert_eq!(dollars(0.0), "nothing known");
        assert_eq!(dollars(1.5), "$1.50");
    }
}
