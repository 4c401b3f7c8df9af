//! When to send a request again: a pure decision from how the last attempt
//! ended (like tower's retry policies), and the full-jitter backoff.
//!
//! Like Envoy's and the AWS SDKs': at most `max_attempts`; connection
//! failures are retried for any method (nothing reached the API); timeouts
//! and 500/502/503/504 only for idempotent methods; 429 only when
//! `Retry-After` says how long to wait. The caller never waits past the
//! call's deadline (a wait from the network is compared, never added).

use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, RETRY_AFTER};

use super::ErrorKind;

/// First backoff ceiling; doubles per retry up to `MAX_BACKOFF`.
const BASE_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How one attempt ended, as the retry decision sees it.
#[derive(Debug, Clone, Copy)]
pub enum Ended<'a> {
    Answered { status: u16, headers: &'a HeaderMap },
    Failed(ErrorKind),
}

/// What the decision needs besides the attempt.
#[derive(Debug, Clone, Copy)]
pub struct Context {
    /// Attempts made so far, this one included.
    pub attempts: u32,
    pub max_attempts: u32,
    pub idempotent: bool,
    /// In `[0, 1)`: where in the backoff range to wait (`jitter` in
    /// production). Called only when a backoff is due: most attempts succeed.
    pub jitter: fn() -> f64,
    /// The clock, for `Retry-After` dates; called only for one.
    pub now: fn() -> SystemTime,
}

/// How long to wait before the next attempt; `None`: stop and report this one.
pub fn next_wait(ended: Ended<'_>, cx: Context) -> Option<Duration> {
    if cx.attempts >= cx.max_attempts {
        return None;
    }
    let backoff = || backoff(cx.attempts, (cx.jitter)());
    match ended {
        Ended::Failed(ErrorKind::Connect) => Some(backoff()),
        Ended::Failed(ErrorKind::Timeout | ErrorKind::Other) if cx.idempotent => Some(backoff()),
        Ended::Failed(_) => None,
        Ended::Answered { status, headers } => match status {
            500 | 502 | 503 | 504 if cx.idempotent => {
                Some(backoff().max(retry_after(headers, cx.now).unwrap_or_default()))
            }
            429 => retry_after(headers, cx.now),
            _ => None,
        },
    }
}

/// Full jitter: a wait between zero and a ceiling that doubles per attempt.
fn backoff(attempt: u32, jitter: f64) -> Duration {
    let ceiling = BASE_BACKOFF
        .saturating_mul(2u32.saturating_pow(attempt.saturating_sub(1)))
        .min(MAX_BACKOFF);
    ceiling.mul_f64(jitter.clamp(0.0, 1.0))
}

/// A random point in `[0, 1)`.
pub fn jitter() -> f64 {
    let mut bytes = [0u8; 8];
    let random = match getrandom::fill(&mut bytes) {
        Ok(()) => u64::from_le_bytes(bytes),
        Err(_) => std::time::Instant::now().elapsed().subsec_nanos() as u64,
    };
    (random >> 11) as f64 / (1u64 << 53) as f64
}

/// `Retry-After` as seconds or an HTTP date.
pub(crate) fn retry_after(headers: &HeaderMap, now: fn() -> SystemTime) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = text.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = httpdate::parse_http_date(text).ok()?;
    Some(at.duration_since(now()).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    const NOW: fn() -> SystemTime = || SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);

    fn cx(attempts: u32, idempotent: bool) -> Context {
        Context {
            attempts,
            max_attempts: 3,
            idempotent,
            jitter: || 0.5,
            now: NOW,
        }
    }

    fn answered(status: u16, headers: &HeaderMap) -> Ended<'_> {
        Ended::Answered { status, headers }
    }

    #[test]
    fn the_decision_table() {
        let none = HeaderMap::new();
        let mut later = HeaderMap::new();
        later.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        let half_first = Some(BASE_BACKOFF / 2);
        // Nothing reached the API: any method.
        assert_eq!(next_wait(Ended::Failed(ErrorKind::Connect), cx(1, false)), half_first);
        // May have taken effect: idempotent methods only.
        assert_eq!(next_wait(Ended::Failed(ErrorKind::Timeout), cx(1, true)), half_first);
        assert_eq!(next_wait(Ended::Failed(ErrorKind::Timeout), cx(1, false)), None);
        assert_eq!(next_wait(answered(503, &none), cx(1, true)), half_first);
        assert_eq!(next_wait(answered(503, &none), cx(1, false)), None);
        // A server's Retry-After lengthens the backoff, never shortens it.
        assert_eq!(
            next_wait(answered(503, &later), cx(1, true)),
            Some(Duration::from_secs(2))
        );
        // 429 only when the API says when.
        assert_eq!(
            next_wait(answered(429, &later), cx(1, false)),
            Some(Duration::from_secs(2))
        );
        assert_eq!(next_wait(answered(429, &none), cx(1, true)), None);
        // Never built, refused by its token endpoint, or an answer to keep.
        assert_eq!(next_wait(Ended::Failed(ErrorKind::Invalid), cx(1, true)), None);
        assert_eq!(next_wait(Ended::Failed(ErrorKind::Auth), cx(1, true)), None);
        for status in [200, 400, 404, 501] {
            assert_eq!(next_wait(answered(status, &none), cx(1, true)), None, "{status}");
        }
        // No randomness is drawn (a syscall) for an answer that ends the call.
        let success = Context {
            jitter: || panic!("jitter drawn for an answer that is kept"),
            ..cx(1, true)
        };
        assert_eq!(next_wait(answered(200, &none), success), None);
        // The last attempt is final.
        assert_eq!(next_wait(Ended::Failed(ErrorKind::Connect), cx(3, true)), None);
        assert_eq!(next_wait(answered(429, &later), cx(3, true)), None);
    }

    #[test]
    fn backoff_is_full_jitter_under_a_growing_ceiling() {
        // The figures the README states: 0.2 s, 0.4 s, … 5 s.
        let ceilings_ms = [
            (1, 200),
            (2, 400),
            (3, 800),
            (4, 1600),
            (5, 3200),
            (6, 5000),
            (7, 5000),
            (40, 5000),
        ];
        for (attempt, ms) in ceilings_ms {
            let ceiling = Duration::from_millis(ms);
            assert_eq!(backoff(attempt, 0.0), Duration::ZERO);
            assert_eq!(backoff(attempt, 0.5), ceiling / 2, "attempt {attempt}");
            assert_eq!(backoff(attempt, 1.0), ceiling, "attempt {attempt}");
            // Out-of-range jitter can't stretch a wait.
            assert_eq!(backoff(attempt, f64::INFINITY), ceiling);
        }
        let draws: Vec<f64> = (0..200).map(|_| jitter()).collect();
        assert!(draws.iter().all(|j| (0.0..1.0).contains(j)));
        // Spread over the whole range, not clustered.
        assert!(draws.iter().any(|j| *j < 0.25) && draws.iter().any(|j| *j > 0.75));
    }

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        let now = NOW();
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, HeaderValue::from_static("2"));
        assert_eq!(retry_after(&headers, NOW), Some(Duration::from_secs(2)));
        headers.insert(
            RETRY_AFTER,
            httpdate::fmt_http_date(now + Duration::from_secs(30)).parse().unwrap(),
        );
        assert_eq!(retry_after(&headers, NOW), Some(Duration::from_secs(30)));
        // A date in the past: go now.
        headers.insert(
            RETRY_AFTER,
            httpdate::fmt_http_date(now - Duration::from_secs(30)).parse().unwrap(),
        );
        assert_eq!(retry_after(&headers, NOW), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, HeaderValue::from_static("soon"));
        assert_eq!(retry_after(&headers, NOW), None);
    }
}
