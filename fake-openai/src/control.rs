//! The steering handle of a running fake ([`Control`]): injected failures, taken one request at
//! a time in the order they were asked for, and the request log with times and tokens.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

/// A failure the next request(s) get instead of a normal answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "fault", rename_all = "snake_case")]
pub enum Fault {
    /// 429 `rate_limit_exceeded` (type `tokens`), with `Retry-After` when given.
    RateLimited {
        /// Sent as `retry-after-ms` and as `Retry-After` in whole seconds (rounded up).
        #[serde(default)]
        retry_after_ms: Option<u64>,
    },
    /// 429 `slow_down`: traffic ramped up too fast.
    SlowDown,
    /// 429 `insufficient_quota`: billing; retrying cannot help.
    InsufficientQuota,
    /// 503 `server_is_overloaded`.
    Overloaded,
    /// 500 `server_error`.
    ServerError,
    /// 200 with `message.refusal` and no content.
    Refusal,
    /// 200 with `finish_reason: "length"` and the JSON cut in half.
    Truncated,
    /// 200 with content that is not JSON.
    MalformedJson,
    /// 200 with `tags: []`.
    EmptyTags,
}

impl Fault {
    /// The snake_case name used in the log and the HTTP control API.
    pub fn name(&self) -> &'static str {
        match self {
            Fault::RateLimited { .. } => "rate_limited",
            Fault::SlowDown => "slow_down",
            Fault::InsufficientQuota => "insufficient_quota",
            Fault::Overloaded => "overloaded",
            Fault::ServerError => "server_error",
            Fault::Refusal => "refusal",
            Fault::Truncated => "truncated",
            Fault::MalformedJson => "malformed_json",
            Fault::EmptyTags => "empty_tags",
        }
    }
}

/// One request to `/v1/chat/completions`, as the log keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RequestRecord {
    /// When it arrived (Unix ms).
    pub at_ms: i64,
    /// The status answered.
    pub status: u16,
    /// The model asked for (empty if the body did not parse).
    pub model: String,
    /// `low`, `high` or `auto` as sent.
    pub detail: Option<String>,
    /// Size of the image received, in pixels.
    pub image_width: Option<u32>,
    /// Size of the image received, in pixels.
    pub image_height: Option<u32>,
    /// Bytes of the image received (decoded from base64).
    pub image_bytes: Option<usize>,
    /// Prompt tokens counted: the text estimate plus the image's price. Counted for refused
    /// and rate-limited requests too (0 when the request did not parse): OpenAI counts
    /// failed requests against the limit.
    pub prompt_tokens: u32,
    /// Tokens of the answer (0 for an error).
    pub completion_tokens: u32,
    /// The injected fault this request got, if any.
    pub fault: Option<String>,
    /// `error.code` (or `error.type`) of an error answer.
    pub error: Option<String>,
}

#[derive(Debug, Default)]
pub(crate) struct Inner {
    pub faults: VecDeque<(Fault, u32)>,
    pub log: Vec<RequestRecord>,
    pub next_id: u64,
}

/// Shared state of one fake.
#[derive(Debug)]
pub(crate) struct Shared {
    pub api_key: String,
    pub inner: Mutex<Inner>,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves plain data behind: keep serving.
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Steers and inspects a running fake (also served as JSON under `/_fake/`).
#[derive(Debug, Clone)]
pub struct Control {
    pub(crate) shared: Arc<Shared>,
}

impl Control {
    /// The next `times` requests get `fault` (after faults already pending).
    pub fn fail_next(&self, fault: Fault, times: u32) {
        if times > 0 {
            self.shared.lock().faults.push_back((fault, times));
        }
    }

    /// Drops every pending fault.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Every request so far, oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().log.clone()
    }

    /// Empties the request log.
    pub fn clear_requests(&self) {
        self.shared.lock().log.clear();
    }

    /// The most prompt + completion tokens answered within any window of `window_ms` (a
    /// sliding window over the log's arrival times), counting only answered requests (200):
    /// what a tokens-per-minute limit would have seen.
    pub fn peak_tokens_in_window(&self, window_ms: i64) -> u64 {
        let log: Vec<(i64, u64)> = self
            .requests()
            .into_iter()
            .filter(|r| r.status == 200)
            .map(|r| (r.at_ms, u64::from(r.prompt_tokens + r.completion_tokens)))
            .collect();
        peak_in_window(&log, window_ms)
    }

    /// The API key requests must carry.
    pub fn api_key(&self) -> &str {
        &self.shared.api_key
    }

    pub(crate) fn take_fault(&self) -> Option<Fault> {
        let mut inner = self.shared.lock();
        let (fault, remaining) = inner.faults.front_mut()?;
        let taken = fault.clone();
        *remaining -= 1;
        if *remaining == 0 {
            inner.faults.pop_front();
        }
        Some(taken)
    }
}

/// The largest sum of values whose times fall within `[t, t + window_ms)` for any `t`.
pub fn peak_in_window(events: &[(i64, u64)], window_ms: i64) -> u64 {
    let mut sorted = events.to_vec();
    sorted.sort_unstable();
    let (mut start, mut sum, mut peak) = (0, 0u64, 0u64);
    for &(at, value) in &sorted {
        sum += value;
        while at - sorted[start].0 >= window_ms {
            sum -= sorted[start].1;
            start += 1;
        }
        peak = peak.max(sum);
    }
    peak
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_peak_window_slides_over_arrival_times() {
        let events = [(0, 10), (500, 10), (999, 10), (1000, 10), (2500, 5)];
        assert_eq!(peak_in_window(&events, 1000), 30);
        assert_eq!(peak_in_window(&events, 1001), 40);
        assert_eq!(peak_in_window(&[], 1000), 0);
    }

    #[test]
    fn faults_are_taken_in_order_and_counted_down() {
        let control = Control {
            shared: Arc::new(Shared {
                api_key: "k".into(),
                inner: Mutex::default(),
            }),
        };
        control.fail_next(Fault::Overloaded, 2);
        control.fail_next(Fault::Refusal, 1);
        let taken: Vec<_> = std::iter::from_fn(|| control.take_fault()).collect();
        assert_eq!(
            taken,
            [Fault::Overloaded, Fault::Overloaded, Fault::Refusal]
        );
        let json = serde_json::to_value(Fault::RateLimited {
            retry_after_ms: Some(1000),
        })
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!({"fault": "rate_limited", "retry_after_ms": 1000})
        );
    }
}
