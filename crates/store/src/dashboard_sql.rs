// Dashboard queries: `grid`, `evaluator_histogram` and `list_runs_sorted`. Like `queries.rs`,
// this file is compiled twice: `sqlite.rs` and `postgres.rs` `include!` it after `queries.rs`,
// whose imports and helpers (`push_filters`, `RUN_COLUMNS`, …) it shares. The dialects differ
// only through the constants `ERROR_TYPE_SQL`, `EVAL_BUCKET_SQL`, `GROUP_KEY_PREFIX`,
// `TEXT_ORDER`, `SEARCH_LIKE`, `SEARCH_ESCAPE` and `DAY_SQL`. Each function runs one
// statement, and every aggregate is computed by the database.

use crate::grid::{
    contains_pattern, stddev, EvaluatorBucket, GridKey, GridRow, RunRow as SortedRun, RunSort,
    SortCursor, SortValue, SortedPage,
};
use sqlx::Row as _;

/// Most rows of one sorted page.
const SORTED_PAGE_MAX: u32 = 500;

/// The SQL of one grid key, a TEXT value or NULL.
fn grid_key_sql(key: GridKey) -> &'static str {
    match key {
        GridKey::Suite => "r.suite",
        GridKey::Scenario => "r.scenario",
        GridKey::Tier => "r.tier",
        GridKey::Agent => "r.agent",
        GridKey::Model => "r.model",
        GridKey::Batch => "r.batch_id",
        GridKey::Day => DAY_SQL,
        GridKey::Status => "r.status",
        GridKey::ErrorType => ERROR_TYPE_SQL,
        // A ladder rather than floor(): SQLite's floor() needs its optional math functions,
        // and PostgreSQL rounds when casting a float to an integer.
        GridKey::ScoreBucket => {
            "CASE WHEN r.weighted_score IS NULL THEN NULL \
             WHEN r.weighted_score < 1 THEN '0' WHEN r.weighted_score < 2 THEN '1' \
             WHEN r.weighted_score < 3 THEN '2' WHEN r.weighted_score < 4 THEN '3' \
             WHEN r.weighted_score < 5 THEN '4' WHEN r.weighted_score < 6 THEN '5' \
             WHEN r.weighted_score < 7 THEN '6' WHEN r.weighted_score < 8 THEN '7' \
             WHEN r.weighted_score < 9 THEN '8' ELSE '9' END"
        }
    }
}

/// The aggregates of a grid row, aliased to the names `decode_grid_row` reads.
const GRID_AGGREGATES: &str = "COUNT(*) AS runs, \
    CAST(COALESCE(SUM(CASE WHEN r.status = 'completed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS completed_runs, \
    CAST(COALESCE(SUM(CASE WHEN r.status = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed_runs, \
    CAST(COALESCE(SUM(CASE WHEN r.status = 'completed' AND r.is_successful = TRUE THEN 1 ELSE 0 END), 0) AS BIGINT) AS successful_runs, \
    COALESCE(SUM(r.weighted_score), 0.0) AS weighted_sum, \
    COALESCE(SUM(r.weighted_score * r.weighted_score), 0.0) AS weighted_sq, \
    COUNT(r.weighted_score) AS weighted_n, \
    CAST(AVG(r.total_score) AS DOUBLE PRECISION) AS avg_total_score, \
    COALESCE(SUM(t.cost_usd), 0.0) AS cost_usd, \
    COUNT(t.cost_usd) AS cost_n, \
    CAST(COALESCE(SUM(t.tokens_in), 0) AS BIGINT) AS tokens_in, \
    CAST(COALESCE(SUM(t.tokens_out), 0) AS BIGINT) AS tokens_out, \
    CAST(COALESCE(SUM(t.tool_calls), 0) AS BIGINT) AS tool_calls, \
    CAST(AVG(t.duration_ms) AS DOUBLE PRECISION) AS avg_duration_ms, \
    MIN(r.started_at) AS first_started_at, \
    MAX(r.started_at) AS last_started_at";

/// Appends the run filters and, when `batches` is not empty, `r.batch_id IN (…)`.
fn push_scope(qb: &mut QueryBuilder<Db>, filter: &RunFilter, batches: &[String]) -> bool {
    let mut has_where = push_filters(qb, filter);
    if !batches.is_empty() {
        qb.push(if has_where { " AND " } else { " WHERE " });
        has_where = true;
        qb.push("r.batch_id IN (");
        let mut sep = qb.separated(", ");
        for b in batches {
            sep.push_bind(b.clone());
        }
        sep.push_unseparated(")");
    }
    has_where
}

/// One row of the grid query; `None` for the empty group an aggregate without keys returns
/// when no run matches.
fn decode_grid_row(row: &<Db as sqlx::Database>::Row, keys: usize) -> Result<Option<GridRow>> {
    let runs: i64 = row.try_get("runs")?;
    let (Some(first_started_at), Some(last_started_at)) = (
        row.try_get::<Option<i64>, _>("first_started_at")?,
        row.try_get::<Option<i64>, _>("last_started_at")?,
    ) else {
        return Ok(None);
    };
    if runs == 0 {
        return Ok(None);
    }
    let weighted_n: i64 = row.try_get("weighted_n")?;
    let weighted_sum: f64 = row.try_get("weighted_sum")?;
    let weighted_sq: f64 = row.try_get("weighted_sq")?;
    Ok(Some(GridRow {
        keys: (0..keys)
            .map(|i| row.try_get::<Option<String>, _>(i))
            .collect::<Result<_, _>>()?,
        runs,
        completed_runs: row.try_get("completed_runs")?,
        failed_runs: row.try_get("failed_runs")?,
        successful_runs: row.try_get("successful_runs")?,
        avg_weighted_score: mean(weighted_sum, weighted_n),
        weighted_n,
        weighted_stddev: stddev(weighted_n, weighted_sum, weighted_sq),
        avg_total_score: row.try_get("avg_total_score")?,
        cost_usd: row.try_get("cost_usd")?,
        cost_n: row.try_get("cost_n")?,
        tokens_in: row.try_get("tokens_in")?,
        tokens_out: row.try_get("tokens_out")?,
        tool_calls: row.try_get("tool_calls")?,
        avg_duration_ms: row.try_get("avg_duration_ms")?,
        first_started_at,
        last_started_at,
    }))
}

/// A run of a sorted page: the run's columns, then its telemetry figures.
#[derive(sqlx::FromRow)]
struct SortedRunRow {
    #[sqlx(flatten)]
    run: RunRow,
    cost_usd: Option<f64>,
    duration_ms: Option<i64>,
    tool_calls: Option<i64>,
    tokens_in: Option<i64>,
    tokens_out: Option<i64>,
}

impl Backend {
    /// Runs grouped by `keys` with their aggregates; see [`crate::Store::grid`].
    pub(crate) async fn grid(
        &self,
        filter: &RunFilter,
        batches: &[String],
        keys: &[GridKey],
        limit: u32,
    ) -> Result<Vec<GridRow>> {
        let mut sql = String::from("SELECT ");
        for (i, key) in keys.iter().enumerate() {
            sql.push_str(&format!(
                "{GROUP_KEY_PREFIX}({}){TEXT_ORDER} AS k{i}, ",
                grid_key_sql(*key)
            ));
        }
        sql.push_str(GRID_AGGREGATES);
        sql.push_str(" FROM runs r LEFT JOIN telemetry t ON t.run_pk = r.id");
        let mut qb = QueryBuilder::<Db>::new(sql);
        push_scope(&mut qb, filter, batches);
        if !keys.is_empty() {
            let positions: Vec<String> = (1..=keys.len()).map(|i| i.to_string()).collect();
            qb.push(" GROUP BY ").push(positions.join(", "));
            let order: Vec<String> = positions
                .iter()
                .map(|p| format!("{p} NULLS LAST"))
                .collect();
            qb.push(" ORDER BY ").push(order.join(", "));
        }
        qb.push(" LIMIT ").push_bind(i64::from(limit));
        let rows = qb.build().fetch_all(&self.read).await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            if let Some(r) = decode_grid_row(row, keys.len())? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Evaluations of the matching runs counted per evaluator and tenth of the normalized
    /// score; see [`crate::Store::evaluator_histogram`].
    pub(crate) async fn evaluator_histogram(
        &self,
        filter: &RunFilter,
        batches: &[String],
    ) -> Result<Vec<EvaluatorBucket>> {
        let mut qb = histogram_query(filter, batches);
        let rows: Vec<(String, i64, i64)> = qb.build_query_as().fetch_all(&self.read).await?;
        Ok(rows
            .into_iter()
            .map(|(evaluator, bucket, count)| EvaluatorBucket {
                evaluator,
                bucket,
                count,
            })
            .collect())
    }

    /// One page of matching runs in `sort` order; see [`crate::Store::list_runs_sorted`].
    pub(crate) async fn list_runs_sorted(
        &self,
        filter: &RunFilter,
        search: Option<&str>,
        sort: RunSort,
        limit: u32,
        cursor: Option<&str>,
    ) -> Result<SortedPage> {
        let after = cursor
            .map(|c| SortCursor::parse(c, sort).map_err(StoreError::InvalidCursor))
            .transpose()?;
        let limit = limit.clamp(1, SORTED_PAGE_MAX);
        let col = sort.column_sql();

        // The page's keys first, from as narrow a row as the order allows; the runs' columns
        // are read for those rows only.
        let mut qb = QueryBuilder::<Db>::new(format!(
            "SELECT {RUN_COLUMNS}, t.cost_usd, t.duration_ms, t.tool_calls, t.tokens_in, t.tokens_out \
             FROM (SELECT r.id AS pk, {col} AS sv FROM runs r"
        ));
        if sort.needs_telemetry() {
            qb.push(" LEFT JOIN telemetry t ON t.run_pk = r.id");
        }
        let mut has_where = push_filters(&mut qb, filter);
        let mut and = |qb: &mut QueryBuilder<Db>| {
            qb.push(if has_where { " AND " } else { " WHERE " });
            has_where = true;
        };
        if let Some(needle) = search.filter(|s| !s.is_empty()) {
            and(&mut qb);
            let pattern = contains_pattern(needle);
            qb.push("(");
            for (i, column) in ["r.run_id", "r.scenario", "r.suite", "r.agent", "r.model"]
                .into_iter()
                .enumerate()
            {
                if i > 0 {
                    qb.push(" OR ");
                }
                qb.push(format!("{column} {SEARCH_LIKE} "))
                    .push_bind(pattern.clone());
                qb.push(SEARCH_ESCAPE);
            }
            qb.push(")");
        }
        if let Some(c) = after {
            and(&mut qb);
            // Rows after the cursor: further along the order, or tied and further by key,
            // or (after a row with a value) any row without one.
            let before = if sort.descending() { "<" } else { ">" };
            match c.value {
                Some(v) => {
                    qb.push(format!("({col} {before} "));
                    push_sort_value(&mut qb, v);
                    qb.push(format!(" OR ({col} = "));
                    push_sort_value(&mut qb, v);
                    qb.push(format!(" AND r.id {before} "))
                        .push_bind(c.id)
                        .push(")");
                    if sort != RunSort::Newest && sort != RunSort::Oldest {
                        qb.push(format!(" OR {col} IS NULL"));
                    }
                    qb.push(")");
                }
                None => {
                    qb.push(format!("({col} IS NULL AND r.id {before} "))
                        .push_bind(c.id)
                        .push(")");
                }
            }
        }
        qb.push(format!(" ORDER BY {} LIMIT ", sort.order_sql(col, "r.id")))
            .push_bind(i64::from(limit) + 1);
        qb.push(format!(
            ") p JOIN runs r ON r.id = p.pk LEFT JOIN telemetry t ON t.run_pk = r.id ORDER BY {}",
            sort.order_sql("p.sv", "p.pk")
        ));

        let rows = qb
            .build_query_as::<SortedRunRow>()
            .fetch_all(&self.read)
            .await?;
        let mut items = rows
            .into_iter()
            .map(|row| {
                Ok(SortedRun {
                    run: row.run.into_run()?,
                    cost_usd: row.cost_usd,
                    duration_ms: row.duration_ms,
                    tool_calls: row.tool_calls,
                    tokens_in: row.tokens_in,
                    tokens_out: row.tokens_out,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|last| {
                let value = match sort {
                    RunSort::Newest | RunSort::Oldest => {
                        Some(SortValue::Int(last.run.started_at.millis()))
                    }
                    RunSort::ScoreDesc | RunSort::ScoreAsc => {
                        last.run.weighted_score.map(SortValue::Float)
                    }
                    RunSort::CostDesc => last.cost_usd.map(SortValue::Float),
                    RunSort::DurationDesc => last.duration_ms.map(SortValue::Int),
                };
                SortCursor {
                    sort,
                    value,
                    id: last.run.id,
                }
                .to_string()
            })
        } else {
            None
        };
        Ok(SortedPage { items, next })
    }
}

/// The histogram statement: evaluations of the matching runs grouped by evaluator and
/// `EVAL_BUCKET_SQL`.
fn histogram_query(filter: &RunFilter, batches: &[String]) -> QueryBuilder<Db> {
    let mut qb = QueryBuilder::<Db>::new(format!(
        "SELECT e.evaluator_name{TEXT_ORDER} AS evaluator, {EVAL_BUCKET_SQL} AS bucket, \
         COUNT(*) AS count FROM evaluations e"
    ));
    if !filter.is_empty() || !batches.is_empty() {
        qb.push(" JOIN runs r ON r.id = e.run_pk");
        push_scope(&mut qb, filter, batches);
    }
    qb.push(" GROUP BY 1, 2 ORDER BY 1, 2");
    qb
}

fn push_sort_value(qb: &mut QueryBuilder<Db>, v: SortValue) {
    match v {
        SortValue::Int(i) => qb.push_bind(i),
        SortValue::Float(f) => qb.push_bind(f),
    };
}
