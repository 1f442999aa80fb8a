//! The deployment's daily Library API quota (10,000 requests a day per project, shared by every
//! user): one counter per Google day in `library_quota`, taken before every Library request
//! (each retry included), so every process of the deployment spends from the same count and
//! stops before Google would refuse.
//!
//! Google resets daily quotas at midnight Pacific time; the day here follows the US rule for
//! Pacific daylight time, so our count resets when Google's does.

use sqlx::AnyPool;
use time::{Date, Month, OffsetDateTime};

use super::GoogleError;

const DAY_MS: i64 = 86_400_000;
const HOUR_MS: i64 = 3_600_000;

/// The counter and its daily limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LibraryQuota {
    /// Requests the deployment may send per Google day.
    pub per_day: u64,
}

impl LibraryQuota {
    /// Counts one request against today's quota, or says when the next day starts if today's
    /// is spent. Atomic on both backends (one conditional UPDATE).
    pub async fn take(&self, pool: &AnyPool, now_ms: i64) -> Result<(), GoogleError> {
        let (day, resets_at_ms) = google_day(now_ms);
        let limit = i64::try_from(self.per_day).unwrap_or(i64::MAX);
        sqlx::query(
            "INSERT INTO library_quota (day, used) VALUES ($1, 0) ON CONFLICT (day) DO NOTHING",
        )
        .bind(day)
        .execute(pool)
        .await?;
        let taken =
            sqlx::query("UPDATE library_quota SET used = used + 1 WHERE day = $1 AND used < $2")
                .bind(day)
                .bind(limit)
                .execute(pool)
                .await?;
        if taken.rows_affected() == 1 {
            Ok(())
        } else {
            Err(GoogleError::QuotaExhausted {
                per_day: self.per_day,
                resets_at_ms,
            })
        }
    }

    /// Requests counted today.
    pub async fn used_today(pool: &AnyPool, now_ms: i64) -> Result<i64, sqlx::Error> {
        let row: Option<(i64,)> = sqlx::query_as("SELECT used FROM library_quota WHERE day = $1")
            .bind(google_day(now_ms).0)
            .fetch_optional(pool)
            .await?;
        Ok(row.map_or(0, |(n,)| n))
    }
}

/// The Google day (days since 1970-01-01 in Pacific time) of a moment, and when the next one
/// starts (Unix ms).
pub fn google_day(now_ms: i64) -> (i64, i64) {
    let local = now_ms + pacific_offset_ms(now_ms);
    let day = local.div_euclid(DAY_MS);
    // Midnight of the next local day, in UTC: with the offset at that moment (a change of
    // offset happens at 2:00 local time, never at midnight).
    let next_local = (day + 1) * DAY_MS;
    let guess = next_local - pacific_offset_ms(now_ms);
    (day, next_local - pacific_offset_ms(guess))
}

/// Pacific time's offset from UTC at a moment: -7 h from the second Sunday of March, 2:00
/// PST (10:00 UTC), to the first Sunday of November, 2:00 PDT (9:00 UTC); else -8 h.
fn pacific_offset_ms(utc_ms: i64) -> i64 {
    let year =
        OffsetDateTime::from_unix_timestamp(utc_ms.div_euclid(1000)).map_or(1970, |t| t.year());
    let summer = nth_sunday(year, Month::March, 2)
        .zip(nth_sunday(year, Month::November, 1))
        .is_some_and(|(start, end)| {
            (start * DAY_MS + 10 * HOUR_MS..end * DAY_MS + 9 * HOUR_MS).contains(&utc_ms)
        });
    if summer { -7 * HOUR_MS } else { -8 * HOUR_MS }
}

/// Days since 1970-01-01 of the `n`th Sunday of `month` in `year`.
fn nth_sunday(year: i32, month: Month, n: i64) -> Option<i64> {
    let first = Date::from_calendar_date(year, month, 1).ok()?;
    let to_sunday = (7 - i64::from(first.weekday().number_days_from_sunday())) % 7;
    let epoch = OffsetDateTime::UNIX_EPOCH.date().to_julian_day();
    Some(i64::from(first.to_julian_day() - epoch) + to_sunday + (n - 1) * 7)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i32, m: u8, d: u8, h: i64) -> i64 {
        let month = Month::try_from(m).unwrap();
        let date = Date::from_calendar_date(y, month, d).unwrap();
        let days = date.to_julian_day() - OffsetDateTime::UNIX_EPOCH.date().to_julian_day();
        i64::from(days) * DAY_MS + h * HOUR_MS
    }

    #[test]
    fn daylight_saving_runs_from_the_second_sunday_of_march_to_the_first_of_november() {
        // 2026: Sunday 8 March to Sunday 1 November; 2025: 9 March to 2 November.
        assert_eq!(
            nth_sunday(2026, Month::March, 2),
            Some(utc(2026, 3, 8, 0) / DAY_MS)
        );
        assert_eq!(
            nth_sunday(2026, Month::November, 1),
            Some(utc(2026, 11, 1, 0) / DAY_MS)
        );
        assert_eq!(
            nth_sunday(2025, Month::March, 2),
            Some(utc(2025, 3, 9, 0) / DAY_MS)
        );
        assert_eq!(
            nth_sunday(2025, Month::November, 1),
            Some(utc(2025, 11, 2, 0) / DAY_MS)
        );
        assert_eq!(pacific_offset_ms(utc(2026, 3, 8, 9)), -8 * HOUR_MS);
        assert_eq!(pacific_offset_ms(utc(2026, 3, 8, 10)), -7 * HOUR_MS);
        assert_eq!(pacific_offset_ms(utc(2026, 11, 1, 8)), -7 * HOUR_MS);
        assert_eq!(pacific_offset_ms(utc(2026, 11, 1, 9)), -8 * HOUR_MS);
    }

    #[test]
    fn the_day_turns_at_pacific_midnight_in_winter_and_summer() {
        // Winter: midnight PST is 08:00 UTC.
        let (before, reset) = google_day(utc(2026, 1, 15, 7));
        let (after, _) = google_day(utc(2026, 1, 15, 8));
        assert_eq!(after, before + 1);
        assert_eq!(reset, utc(2026, 1, 15, 8));
        // Summer: midnight PDT is 07:00 UTC.
        let (before, reset) = google_day(utc(2026, 7, 15, 6));
        let (after, _) = google_day(utc(2026, 7, 15, 7));
        assert_eq!(after, before + 1);
        assert_eq!(reset, utc(2026, 7, 15, 7));
        // The evening before the clocks change: the next day still starts at PST's midnight.
        let (_, reset) = google_day(utc(2026, 3, 8, 2));
        assert_eq!(reset, utc(2026, 3, 8, 8));
    }
}
