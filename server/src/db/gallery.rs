//! Gallery pages in an order other than newest-added (date taken, most blurred, sharpest),
//! paged by a keyset on (sort key, id), so a page never skips or repeats a photo while the
//! library changes between pages.

use shared::api::{PhotoFilter, PhotoSort};

use super::Database;
use super::photos::{PageRow, PhotoRow, columns_of_p, photo_filter_sql, tags_of_p};
use super::typed::Arg;

/// Where the next page starts: the last row's sort key and id.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cursor {
    key: Key,
    id: i64,
}

/// A sort key: a score (with a sentinel for unverified photos) or a time in Unix ms.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Key {
    Score(f64),
    Time(i64),
}

/// Unverified photos sort after every score in both score orders: below 0 when the highest
/// score leads, above 1 when the lowest does.
const UNSCORED_LAST_DESC: f64 = -1.0;
const UNSCORED_LAST_ASC: f64 = 2.0;

/// The SQL of one order: the key expression over `p`, and whether it ascends.
fn order_sql(sort: PhotoSort) -> (String, bool) {
    match sort {
        PhotoSort::Newest => ("p.id".into(), false),
        PhotoSort::Taken => ("COALESCE(p.taken_at, p.created_at)".into(), false),
        PhotoSort::Blurriest => (
            format!("COALESCE(p.blur_score, {UNSCORED_LAST_DESC:.1})"),
            false,
        ),
        PhotoSort::Sharpest => (
            format!("COALESCE(p.blur_score, {UNSCORED_LAST_ASC:.1})"),
            true,
        ),
    }
}

impl Cursor {
    /// The cursor after `row` in `sort` order (the same value the key expression gives).
    pub fn after(sort: PhotoSort, row: &PhotoRow) -> Cursor {
        let key = match sort {
            PhotoSort::Newest => Key::Time(row.id),
            PhotoSort::Taken => Key::Time(row.taken_at.unwrap_or(row.created_at)),
            PhotoSort::Blurriest => Key::Score(row.blur_score.unwrap_or(UNSCORED_LAST_DESC)),
            PhotoSort::Sharpest => Key::Score(row.blur_score.unwrap_or(UNSCORED_LAST_ASC)),
        };
        Cursor { key, id: row.id }
    }

    /// Reads a cursor of `sort` order written by [`Cursor::encode`]; `None` if it is not one.
    pub fn parse(sort: PhotoSort, text: &str) -> Option<Cursor> {
        let (key, id) = text.rsplit_once('_')?;
        let id = id.parse::<i64>().ok().filter(|id| *id > 0)?;
        let key = match sort {
            PhotoSort::Newest => return None,
            PhotoSort::Taken => Key::Time(key.parse().ok()?),
            PhotoSort::Blurriest | PhotoSort::Sharpest => {
                Key::Score(key.parse::<f64>().ok().filter(|k| k.is_finite())?)
            }
        };
        Some(Cursor { key, id })
    }

    /// The cursor as the API hands it out: `{key}_{id}`. Rust prints the shortest text that
    /// reads back as the same f64, so a score key compares equal to the stored one.
    pub fn encode(&self) -> String {
        match self.key {
            Key::Score(s) => format!("{s}_{}", self.id),
            Key::Time(t) => format!("{t}_{}", self.id),
        }
    }
}

/// One page of the user's photos of `filter` (and `tag`, when given) in `sort` order, after
/// `cursor`. Ties on the key are broken by id, newest first.
pub async fn page(
    db: &Database,
    user_id: i64,
    filter: PhotoFilter,
    tag: Option<&str>,
    sort: PhotoSort,
    cursor: Option<Cursor>,
    limit: i64,
) -> Result<Vec<PageRow>, sqlx::Error> {
    let (key, ascending) = order_sql(sort);
    let mut sql = format!("SELECT {}, {} FROM photos p", columns_of_p(), tags_of_p());
    let mut next = 2; // $1 is the user.
    if tag.is_some() {
        sql.push_str(&format!(
            " JOIN photo_tags t ON t.photo_id = p.id AND t.user_id = $1 AND t.tag = ${next}"
        ));
        next += 1;
    }
    sql.push_str(" WHERE p.user_id = $1");
    sql.push_str(&photo_filter_sql(filter, "p."));
    if cursor.is_some() {
        let beyond = if ascending { ">" } else { "<" };
        let (k, id) = (next, next + 1);
        sql.push_str(&format!(
            " AND ({key} {beyond} ${k} OR ({key} = ${k} AND p.id < ${id}))"
        ));
        next += 2;
    }
    let direction = if ascending { "ASC" } else { "DESC" };
    sql.push_str(&format!(
        " ORDER BY {key} {direction}, p.id DESC LIMIT ${next}"
    ));

    let mut args = vec![Arg::Int(user_id)];
    if let Some(tag) = tag {
        args.push(Arg::Text(tag));
    }
    if let Some(c) = cursor {
        args.push(match c.key {
            Key::Score(s) => Arg::Float(s),
            Key::Time(t) => Arg::Int(t),
        });
        args.push(Arg::Int(c.id));
    }
    args.push(Arg::Int(limit));
    db.fetch_all(&sql, &args, usize::try_from(limit).unwrap_or(0))
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_written() {
        for (sort, key) in [
            (PhotoSort::Taken, Key::Time(1_700_000_000_123)),
            (PhotoSort::Taken, Key::Time(-86_400_000)),
            (PhotoSort::Blurriest, Key::Score(0.1 + 0.2)),
            (PhotoSort::Blurriest, Key::Score(UNSCORED_LAST_DESC)),
            (PhotoSort::Sharpest, Key::Score(UNSCORED_LAST_ASC)),
            (PhotoSort::Sharpest, Key::Score(1e-9)),
        ] {
            let cursor = Cursor { key, id: 42 };
            assert_eq!(Cursor::parse(sort, &cursor.encode()), Some(cursor));
        }
    }

    #[test]
    fn a_cursor_of_another_kind_or_malformed_is_refused() {
        for (sort, text) in [
            (PhotoSort::Newest, "0.5_3"),
            (PhotoSort::Taken, "0.5_3"),
            (PhotoSort::Blurriest, "NaN_3"),
            (PhotoSort::Blurriest, "inf_3"),
            (PhotoSort::Blurriest, "0.5_0"),
            (PhotoSort::Blurriest, "0.5"),
            (PhotoSort::Sharpest, "_7"),
        ] {
            assert_eq!(Cursor::parse(sort, text), None, "{sort:?} {text}");
        }
    }
}
