//! The deployment's daily Library API quota (10,000 requests a day per project, shared by every
//! user): one counter per Google day in `library_quota`, taken before every Library request
//! (each retry included), so every process of the deployment spends from the same count and
//! stops before Google would refuse.
//!
//! Google resets daily quotas at midnight Pacific time; the day here follows the US rule for
//! Pacific daylight time, so our count resets when Google's does.

use sqlx::AnyPool;

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
    let days = utc_ms.div_euclid(DAY_MS);
    let (year, _, _) = civil_from_days(days);
    let dst_start = (nth_sunday(year, 3, 2)) * DAY_MS + 10 * HOUR_MS;
    let dst_end = (nth_sunday(year, 11, 1)) * DAY_MS + 9 * HOUR_MS;
    if (dst_start..dst_end).contains(&utc_ms) {
        -7 * HOUR_MS
    } else {
        -8 * HOUR_MS
    }
}

/// Days since 1970-01-01 of the `n`th Sunday of `month` in `year`.
fn nth_sunday(year: i64, month: i64, n: i64) -> i64 {
    let first = days_from_civil(year, month, 1);
    // 1970-01-01 was a Thursday: weekday 0 = Sunday.
    let weekday = (first + 4).rem_euclid(7);
    first + (7 - weekday) % 7 + (n - 1) * 7
}

/// Howard Hinnant's `days_from_civil`: days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc(y: i64, m: i64, d: i64, h: i64) -> i64 {
        days_from_civil(y, m, d) * DAY_MS + h * HOUR_MS
    }

    #[test]
    fn dates_round_trip() {
        for days in [-1, 0, 59, 10_000, 20_000, 30_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        // 2026: DST from Sunday 8 March to Sunday 1 November.
        assert_eq!(civil_from_days(nth_sunday(2026, 3, 2)), (2026, 3, 8));
        assert_eq!(civil_from_days(nth_sunday(2026, 11, 1)), (2026, 11, 1));
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
