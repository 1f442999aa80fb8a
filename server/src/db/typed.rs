//! Hot statements from one SQL text on both engines: typed and prepared on PostgreSQL, through
//! the `Any` driver on SQLite.
//!
//! On PostgreSQL the `Any` driver converts every value of every row into its own form before a
//! row is decoded, and a statement that binds an `Option` cannot be cached (see "Nullable binds"
//! in `db/mod.rs`). The statements that run per gallery page, per request and per job therefore
//! go through [`Database::fetch_all`] and its siblings, which run them on typed PostgreSQL
//! connections (`pg_pool`; values decoded straight from PostgreSQL's binary format; every
//! parameter bound with its own type, a `NULL` included, so each statement is parsed and
//! planned once per connection). On SQLite the same text runs through the `Any` pool, where an
//! `Option` bind caches safely.
//! The typed pool also plans each statement once (`plan_cache_mode`, set in `Database::connect`).

use futures_util::{Stream, TryStreamExt};
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgArguments, PgRow};
use sqlx::{Any, AnyConnection, Arguments, Encode, FromRow, Postgres, Type};

use super::{Database, pg_pool};

/// One parameter of a statement run by [`Database`]'s typed methods. A nullable value keeps
/// its type when it is `None`, which is what lets PostgreSQL cache the statement.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Arg<'a> {
    /// A BIGINT.
    Int(i64),
    /// A DOUBLE PRECISION (REAL on SQLite).
    Float(f64),
    /// A TEXT.
    Text(&'a str),
    /// A BIGINT or NULL.
    NullableInt(Option<i64>),
    /// A DOUBLE PRECISION or NULL.
    NullableFloat(Option<f64>),
    /// A TEXT or NULL.
    NullableText(Option<&'a str>),
    /// A BYTEA (BLOB on SQLite) or NULL.
    NullableBytes(Option<&'a [u8]>),
}

/// A row type the typed methods can decode from either engine.
pub trait FromEitherRow:
    Send + Unpin + for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, AnyRow>
{
}

impl<T> FromEitherRow for T where
    T: Send + Unpin + for<'r> FromRow<'r, PgRow> + for<'r> FromRow<'r, AnyRow>
{
}

/// The arguments of one execution, for either driver.
fn arguments<'q, A>(args: &[Arg<'q>]) -> Result<A, sqlx::Error>
where
    A: Arguments<'q>,
    i64: Encode<'q, A::Database> + Type<A::Database>,
    f64: Encode<'q, A::Database> + Type<A::Database>,
    &'q str: Encode<'q, A::Database> + Type<A::Database>,
    Option<i64>: Encode<'q, A::Database> + Type<A::Database>,
    Option<f64>: Encode<'q, A::Database> + Type<A::Database>,
    Option<&'q str>: Encode<'q, A::Database> + Type<A::Database>,
    Option<&'q [u8]>: Encode<'q, A::Database> + Type<A::Database>,
{
    let mut out = A::default();
    for arg in args {
        let added: Result<(), BoxDynError> = match *arg {
            Arg::Int(v) => out.add(v),
            Arg::Float(v) => out.add(v),
            Arg::Text(v) => out.add(v),
            Arg::NullableInt(v) => out.add(v),
            Arg::NullableFloat(v) => out.add(v),
            Arg::NullableText(v) => out.add(v),
            Arg::NullableBytes(v) => out.add(v),
        };
        added.map_err(sqlx::Error::Encode)?;
    }
    Ok(out)
}

/// Runs one statement on a pooled PostgreSQL connection: `$run` builds it on `$conn`. A
/// connection that turns out lost although it was used unchecked costs the statement a second
/// run on a checked one (see `pg_pool`).
macro_rules! on_pg {
    ($pg:expr, |$conn:ident| $run:expr) => {{
        let mut pooled = pg_pool::get($pg).await?;
        let out = {
            let $conn = &mut pooled.raw;
            $run.await
        };
        pooled.suspect = out.is_err();
        match out {
            Err(e) if !pooled.checked && pg_pool::lost_before_running(&e) => {
                $pg.manager().count_loss();
                drop(pooled);
                let mut pooled = pg_pool::get($pg).await?;
                let out = {
                    let $conn = &mut pooled.raw;
                    $run.await
                };
                pooled.suspect = out.is_err();
                out
            }
            out => out,
        }
    }};
}

impl Database {
    /// Every row `sql` returns, into a vector made for `expected` rows (a page's limit): grown
    /// by doubling, a page of 51 rows was copied four times over.
    pub async fn fetch_all<'q, T: FromEitherRow>(
        &self,
        sql: &'q str,
        args: &[Arg<'q>],
        expected: usize,
    ) -> Result<Vec<T>, sqlx::Error> {
        match &self.pg {
            Some(pg) => on_pg!(pg, |conn| async {
                let query = sqlx::query_as_with::<Postgres, T, PgArguments>(sql, arguments(args)?);
                collect(query.fetch(conn), expected).await
            }),
            None => {
                let query = sqlx::query_as_with::<Any, T, AnyArguments<'q>>(sql, arguments(args)?);
                collect(query.fetch(&self.pool), expected).await
            }
        }
    }

    /// The first row `sql` returns, if any.
    pub async fn fetch_optional<'q, T: FromEitherRow>(
        &self,
        sql: &'q str,
        args: &[Arg<'q>],
    ) -> Result<Option<T>, sqlx::Error> {
        match &self.pg {
            Some(pg) => {
                on_pg!(pg, |conn| sqlx::query_as_with::<Postgres, T, PgArguments>(
                    sql,
                    arguments(args)?
                )
                .fetch_optional(conn))
            }
            None => {
                sqlx::query_as_with::<Any, T, AnyArguments<'q>>(sql, arguments(args)?)
                    .fetch_optional(&self.pool)
                    .await
            }
        }
    }

    /// Runs `sql`; returns how many rows it changed.
    pub async fn execute<'q>(&self, sql: &'q str, args: &[Arg<'q>]) -> Result<u64, sqlx::Error> {
        match &self.pg {
            Some(pg) => {
                let done = on_pg!(pg, |conn| sqlx::query_with::<Postgres, PgArguments>(
                    sql,
                    arguments(args)?
                )
                .execute(conn))?;
                Ok(done.rows_affected())
            }
            None => Ok(
                sqlx::query_with::<Any, AnyArguments<'q>>(sql, arguments(args)?)
                    .execute(&self.pool)
                    .await?
                    .rows_affected(),
            ),
        }
    }
}

/// The most rows a vector is made for before the first row arrives (a page holds at most 201).
const MAX_EXPECTED: usize = 256;

/// The rows of `stream`, into a vector with room for `expected` (at most [`MAX_EXPECTED`]:
/// the hint never sets how much memory a statement takes).
async fn collect<T>(
    mut stream: impl Stream<Item = Result<T, sqlx::Error>> + Unpin,
    expected: usize,
) -> Result<Vec<T>, sqlx::Error> {
    let mut rows = Vec::with_capacity(expected.min(MAX_EXPECTED));
    while let Some(row) = stream.try_next().await? {
        rows.push(row);
    }
    Ok(rows)
}

/// Runs `sql` on one `Any` connection (a transaction's, on SQLite); returns how many rows it
/// changed.
pub async fn execute_on<'q>(
    conn: &mut AnyConnection,
    sql: &'q str,
    args: &[Arg<'q>],
) -> Result<u64, sqlx::Error> {
    Ok(
        sqlx::query_with::<Any, AnyArguments<'q>>(sql, arguments(args)?)
            .execute(conn)
            .await?
            .rows_affected(),
    )
}
