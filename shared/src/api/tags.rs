//! AI tags: the JSON of `/api/v1/tags/*`, `/api/v1/photos/{id}/tag` and the tag pieces of
//! photos and statistics. A vision model (OpenAI's or any OpenAI-compatible server) tags
//! photos on a queued, rate-limited job; the page shows the estimate before a batch starts.

use serde::{Deserialize, Serialize};

/// Whether tagging is available and what it costs: `GET /api/v1/tags/status` (always 200).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaggingInfo {
    /// The operator configured a vision model and did not switch tagging off. When false,
    /// every endpoint that queues tagging answers 503 `tagging_disabled`.
    pub enabled: bool,
    /// The model asked, e.g. `gpt-4o-mini`.
    pub model: String,
    /// The image detail sent: `low`, `high` or `auto`.
    pub detail: String,
    /// Tokens one photo is budgeted at: the image's price for the model and detail, the
    /// prompt's text and the answer's maximum (what the rate limit counts).
    pub tokens_per_photo: i64,
    /// What one photo costs at most, in US dollars (0 for a model without a known price,
    /// such as a local server's).
    pub usd_per_photo: f64,
    /// The deployment's token budget per minute; batches wait, never fail, when it is spent.
    pub tokens_per_minute: i64,
    /// The host photos are sent to (the configured base URL's), e.g. `api.openai.com`.
    pub provider: String,
}

/// A tagging batch was queued (202). Follow it at `GET /api/v1/blur/jobs/{batch_id}` or its
/// `/events` stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagAccepted {
    /// The batch.
    pub batch_id: i64,
    /// Photos queued (photos with a tagging job already pending are not queued twice).
    pub total: i64,
    /// Tokens the batch is budgeted at (`total` × `tokens_per_photo`).
    pub estimated_tokens: i64,
    /// What the batch costs at most, in US dollars.
    pub estimated_usd: f64,
}

/// What tagging a selection would cost: `POST /api/v1/tags/estimate` (nothing is queued).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagEstimate {
    /// Photos the selection holds.
    pub photos: i64,
    /// Tokens they are budgeted at.
    pub estimated_tokens: i64,
    /// What they cost at most, in US dollars.
    pub estimated_usd: f64,
}

/// One of the user's tags and how many of their photos carry it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagCount {
    /// The tag (lowercase).
    pub tag: String,
    /// Photos with it.
    pub count: i64,
}

/// The user's tags, most used first: `GET /api/v1/tags`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TagList {
    /// Tags with their counts, most used first, then by name.
    pub tags: Vec<TagCount>,
}

/// How often the vision model and the blur kernel disagree: part of `GET /api/v1/stats`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AiAudit {
    /// Photos the model has tagged.
    pub tagged: i64,
    /// Of those, the photos the model says look blurred.
    pub model_says_blurred: i64,
    /// Tagged and verified photos where the model's `looks_blurred` differs from the kernel's
    /// verdict under the user's threshold.
    pub disagreements: i64,
}

/// Longest tag kept, in characters.
pub const MAX_TAG_CHARS: usize = 32;
/// Most tags kept per photo.
pub const MAX_TAGS_PER_PHOTO: usize = 10;

/// Tags as stored: trimmed, lowercase, inner whitespace collapsed to one space, at most
/// [`MAX_TAG_CHARS`] characters (cut on a character boundary), empty ones dropped, duplicates
/// dropped (first kept), at most [`MAX_TAGS_PER_PHOTO`].
pub fn normalize_tags<I, S>(raw: I) -> Vec<String>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut out: Vec<String> = Vec::new();
    for tag in raw {
        let Some(tag) = normalize_tag(tag.as_ref()) else {
            continue;
        };
        if !out.contains(&tag) {
            out.push(tag);
        }
        if out.len() == MAX_TAGS_PER_PHOTO {
            break;
        }
    }
    out
}

/// One tag as stored (see [`normalize_tags`]); `None` when nothing is left of it.
pub fn normalize_tag(raw: &str) -> Option<String> {
    let words: Vec<String> = raw
        .split_whitespace()
        .map(|w| {
            w.chars()
                .filter(|c| !c.is_control())
                .flat_map(char::to_lowercase)
                .collect::<String>()
        })
        .filter(|w| !w.is_empty())
        .collect();
    let joined: String = words.join(" ").chars().take(MAX_TAG_CHARS).collect();
    let tag = joined.trim().to_string();
    (!tag.is_empty()).then_some(tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_are_trimmed_lowercased_deduplicated_and_bounded() {
        let raw = [
            "  Beach ",
            "beach",
            "SUN  set",
            "",
            "   ",
            "a-very-long-tag-that-goes-on-and-on-forever",
        ];
        assert_eq!(
            normalize_tags(raw),
            ["beach", "sun set", "a-very-long-tag-that-goes-on-and"]
        );
        let many: Vec<String> = (0..20).map(|i| format!("t{i}")).collect();
        assert_eq!(normalize_tags(&many).len(), MAX_TAGS_PER_PHOTO);
        assert_eq!(normalize_tag("ÉTÉ"), Some("été".into()));
        assert_eq!(normalize_tag("tab\there"), Some("tab here".into()));
        assert_eq!(normalize_tag("\u{7}"), None);
    }

    #[test]
    fn the_wire_names_are_the_contract() {
        let info = TaggingInfo {
            enabled: true,
            model: "gpt-4o-mini".into(),
            detail: "low".into(),
            tokens_per_photo: 3_100,
            usd_per_photo: 0.0005,
            tokens_per_minute: 200_000,
            provider: "api.openai.com".into(),
        };
        let json = serde_json::to_value(&info).unwrap();
        for key in [
            "enabled",
            "model",
            "detail",
            "tokens_per_photo",
            "usd_per_photo",
            "tokens_per_minute",
            "provider",
        ] {
            assert!(json.get(key).is_some(), "{key}");
        }
        let list: TagList =
            serde_json::from_str(r#"{"tags": [{"tag": "beach", "count": 2}]}"#).unwrap();
        assert_eq!(list.tags[0].count, 2);
        let audit: AiAudit =
            serde_json::from_str(r#"{"tagged": 3, "model_says_blurred": 1, "disagreements": 1}"#)
                .unwrap();
        assert_eq!(audit.tagged, 3);
    }
}
