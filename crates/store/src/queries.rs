// The query layer, written once and compiled twice: `sqlite.rs` and `postgres.rs` each
// `include!` this file after defining `Db`, `Backend`, `IS_PG`, `PAIR_SEP_SQL`, `DAY_SQL` and
// `begin_write`. The SQL below is accepted by both dialects; the few places they differ are
// those constants. Multi-row statements go through `QueryBuilder`, which emits `?` for SQLite
// and `$N` for PostgreSQL.

use crate::error::{Result, StoreError};
use crate::filter::{Cursor, Page, RunFilter};
use crate::rollup::{self, Delta};
use crate::rows::*;
use crate::write_sql::*;
use crate::{ArtifactBody, ArtifactInfo, Outcome, Prepared};
use sqlx::{AssertSqlSafe, QueryBuilder};
use std::collections::HashMap;
use zebench_core::run::MIN_DIVISOR;
use zebench_core::{BatchDetail, BatchUpsert, Dimension, Run, RunDetail, Timestamp};

/// Most rows per multi-row statement: under SQLite's 32,766 and PostgreSQL's 65,535 parameters.
const CHUNK: usize = 400;

impl Backend {
    /// Stores a group of submissions in one transaction. Each job is all-or-nothing: a job
    /// with a run id already stored (or stored earlier in the group) with different content is
    /// refused with [`StoreError::Conflict`] and the other jobs go on. Returns one result per job.
    pub(crate) async fn submit_group(
        &self,
        jobs: &[&[Prepared]],
    ) -> Result<Vec<Result<Vec<Outcome>>>> {
        let mut tx = begin_write(&self.write).await?;

        let mut existing: HashMap<String, String> = HashMap::new();
        let all: Vec<&Prepared> = jobs.iter().flat_map(|j| j.iter()).collect();
        for chunk in crate::chunking::fixed_chunks(&all, CHUNK) {
            let mut qb = QueryBuilder::<Db>::new("SELECT run_id, content_hash FROM runs WHERE run_id IN (");
            let mut sep = qb.separated(", ");
            for p in chunk {
                sep.push_bind(p.run.run_id.as_str());
            }
            sep.push_unseparated(")");
            let rows: Vec<(String, String)> = qb.build_query_as().fetch_all(&mut *tx).await?;
            existing.extend(rows);
        }

        let (results, fresh) = crate::write_sql::classify(jobs, existing);
        if fresh.is_empty() {
            return Ok(results);
        }
        self.insert_fresh(&mut tx, &fresh).await?;
        tx.commit().await?;
        Ok(results)
    }

    /// Writes runs known to be new, with everything that hangs off them.
    async fn insert_fresh(
        &self,
        tx: &mut sqlx::Transaction<'static, Db>,
        fresh: &[&Prepared],
    ) -> Result<()> {
        // Batches named by the runs, created on first sight at their earliest run's start.
        let batches = crate::write_sql::batches_first_seen(fresh);
        for chunk in crate::chunking::fixed_chunks(&batches, CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(INSERT_BATCH_FIRST_SEEN);
            qb.push_values(chunk, |mut b, (id, at)| {
                b.push_bind(*id).push_bind(*at);
            });
            qb.push(BATCH_FIRST_SEEN_CONFLICT);
            qb.build().execute(&mut **tx).await?;
        }

        let mut pks: HashMap<String, i64> = HashMap::with_capacity(fresh.len());
        for chunk in crate::chunking::fixed_chunks(fresh, CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(INSERT_RUN);
            qb.push_values(chunk, |mut b, p| {
                let r = &p.run;
                b.push_bind(r.run_id.as_str())
                    .push_bind(r.batch_id.as_deref())
                    .push_bind(r.suite.as_str())
                    .push_bind(r.scenario.as_str())
                    .push_bind(r.tier.as_str())
                    .push_bind(r.agent.as_str())
                    .push_bind(r.model.as_deref())
                    .push_bind(r.status.as_str())
                    .push_bind(p.started_at)
                    .push_bind(r.completed_at.map(Timestamp::millis))
                    .push_bind(r.total_score)
                    .push_bind(r.weighted_score)
                    .push_bind(r.success_metric)
                    .push_bind(r.is_successful)
                    .push_bind(p.metadata.as_deref())
                    .push_bind(r.specialist_enabled)
                    .push_bind(r.specialist_name.as_deref())
                    .push_bind(r.specialist_version.as_deref())
                    .push_bind(p.hash.as_str())
                    .push_bind(p.received_at)
                    .push_bind(p.submitted_by.as_deref());
            });
            qb.push(" RETURNING id, run_id");
            let rows: Vec<(i64, String)> = qb.build_query_as().fetch_all(&mut **tx).await?;
            pks.extend(rows.into_iter().map(|(id, run_id)| (run_id, id)));
        }
        let pk = |p: &Prepared| pks.get(&p.run.run_id).copied().unwrap_or_default();

        let evaluations: Vec<(i64, i64, &zebench_core::EvaluationInput)> = fresh
            .iter()
            .flat_map(|p| p.run.evaluations.iter().map(move |e| (p, e)))
            .map(|(p, e)| (pk(p), p.received_at, e))
            .collect();
        for chunk in crate::chunking::fixed_chunks(&evaluations, CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(INSERT_EVALUATION);
            qb.push_values(chunk, |mut b, (run_pk, at, e)| {
                b.push_bind(*run_pk)
                    .push_bind(e.evaluator_name.as_str())
                    .push_bind(e.score)
                    .push_bind(e.max_score)
                    .push_bind(e.details.as_deref())
                    .push_bind(*at);
            });
            qb.build().execute(&mut **tx).await?;
        }

        let telemetry: Vec<(i64, &zebench_core::TelemetryInput)> = fresh
            .iter()
            .filter_map(|p| p.run.telemetry.as_ref().filter(|t| !t.is_empty()).map(|t| (pk(p), t)))
            .collect();
        for chunk in crate::chunking::fixed_chunks(&telemetry, CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(INSERT_TELEMETRY);
            qb.push_values(chunk, |mut b, (run_pk, t)| {
                b.push_bind(*run_pk)
                    .push_bind(t.tool_calls)
                    .push_bind(t.tokens_in)
                    .push_bind(t.tokens_out)
                    .push_bind(t.cost_usd)
                    .push_bind(t.duration_ms)
                    .push_bind(t.workspace_dir.as_deref());
            });
            qb.build().execute(&mut **tx).await?;
        }

        let artifacts: Vec<(i64, &crate::EncodedArtifact)> = fresh
            .iter()
            .flat_map(|p| p.artifacts.iter().map(move |a| (pk(p), a)))
            .collect();
        for chunk in crate::chunking::fixed_chunks(&artifacts, CHUNK / 4) {
            let mut qb = QueryBuilder::<Db>::new(INSERT_ARTIFACT);
            qb.push_values(chunk, |mut b, (run_pk, a)| {
                b.push_bind(*run_pk)
                    .push_bind(a.name.as_str())
                    .push_bind(a.encoding)
                    .push_bind(a.size)
                    .push_bind(a.body.as_slice());
            });
            qb.build().execute(&mut **tx).await?;
        }

        for (batch_id, d) in rollup::batch_deltas(fresh.iter().map(|p| &p.run)) {
            sqlx::query(ADD_TO_BATCH)
            .bind(d.runs)
            .bind(d.successful_runs)
            .bind(d.failed_runs)
            .bind(d.score_sum)
            .bind(d.score_n)
            .bind(d.weighted_sum)
            .bind(d.weighted_n)
            .bind(d.cost_sum)
            .bind(batch_id)
            .execute(&mut **tx)
            .await?;
        }

        let deltas: Vec<((&'static str, String), Delta)> =
            rollup::rollup_deltas(fresh.iter().map(|p| (&p.run, p.started_at))).into_iter().collect();
        for chunk in crate::chunking::fixed_chunks(&deltas, CHUNK / 2) {
            let mut qb = QueryBuilder::<Db>::new(INSERT_ROLLUP);
            qb.push_values(chunk, |mut b, ((dim, key), d)| {
                b.push_bind(*dim)
                    .push_bind(key.as_str())
                    .push_bind(d.runs)
                    .push_bind(d.completed_runs)
                    .push_bind(d.failed_runs)
                    .push_bind(d.successful_runs)
                    .push_bind(d.score_sum)
                    .push_bind(d.score_n)
                    .push_bind(d.weighted_sum)
                    .push_bind(d.weighted_n)
                    .push_bind(d.weighted_min)
                    .push_bind(d.weighted_max)
                    .push_bind(d.cost_sum)
                    .push_bind(d.tokens_in)
                    .push_bind(d.tokens_out)
                    .push_bind(d.tool_calls)
                    .push_bind(d.duration_ms);
            });
            qb.push(ROLLUP_CONFLICT);
            qb.build().execute(&mut **tx).await?;
        }

        if IS_PG {
            for event in crate::events::for_submission(&fresh.iter().map(|p| &p.run).collect::<Vec<_>>()) {
                notify(tx, &event).await?;
            }
        }
        Ok(())
    }

    /// Creates a batch or updates its descriptive fields; `created_at` keeps its first value.
    /// `origin`: the storing [`crate::Store::instance_id`], announced with a completion.
    pub(crate) async fn upsert_batch(&self, b: &BatchUpsert, now: i64, origin: &str) -> Result<()> {
        let mut tx = begin_write(&self.write).await?;
        let metadata = b.metadata.as_ref().map(|m| serde_json::Value::Object(m.clone()).to_string());
        sqlx::query(UPSERT_BATCH)
        .bind(b.batch_id.as_str())
        .bind(b.created_at.map(Timestamp::millis).unwrap_or(now))
        .bind(b.completed_at.map(Timestamp::millis))
        .bind(metadata)
        .execute(&mut *tx)
        .await?;
        if IS_PG {
            notify(&mut tx, &crate::events::Event::BatchUpdated { batch_id: b.batch_id.clone() }).await?;
            if b.completed_at.is_some() {
                let event = crate::events::Event::BatchCompleted {
                    batch_id: b.batch_id.clone(),
                    origin: origin.to_string(),
                };
                notify(&mut tx, &event).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub(crate) async fn run_pk(&self, run_id: &str) -> Result<Option<i64>> {
        Ok(sqlx::query_scalar::<Db, i64>("SELECT id FROM runs WHERE run_id = $1")
            .bind(run_id)
            .fetch_optional(&self.read)
            .await?)
    }

    pub(crate) async fn get_run(&self, run_id: &str) -> Result<Option<RunDetail>> {
        let sql = format!("SELECT {RUN_COLUMNS} FROM runs r WHERE r.run_id = $1");
        let Some(row) = sqlx::query_as::<Db, RunRow>(AssertSqlSafe(sql))
            .bind(run_id)
            .fetch_optional(&self.read)
            .await?
        else {
            return Ok(None);
        };
        let run = row.into_run()?;
        let mut details = self.details_for(vec![run]).await?;
        Ok(details.pop())
    }

    /// Evaluations and telemetry for a page of runs, in two queries whatever the page size.
    pub(crate) async fn details_for(&self, runs: Vec<Run>) -> Result<Vec<RunDetail>> {
        let mut evals: HashMap<i64, Vec<EvaluationRow>> = HashMap::new();
        let mut tele: HashMap<i64, TelemetryRow> = HashMap::new();
        for chunk in crate::chunking::fixed_chunks(&runs, CHUNK) {
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {EVALUATION_COLUMNS} FROM evaluations e WHERE e.run_pk IN ("
            ));
            let mut sep = qb.separated(", ");
            for r in chunk {
                sep.push_bind(r.id);
            }
            qb.push(") ORDER BY e.run_pk, e.id");
            for row in qb.build_query_as::<EvaluationRow>().fetch_all(&self.read).await? {
                evals.entry(row.run_pk).or_default().push(row);
            }
            let mut qb = QueryBuilder::<Db>::new(format!(
                "SELECT {TELEMETRY_COLUMNS} FROM telemetry t WHERE t.run_pk IN ("
            ));
            let mut sep = qb.separated(", ");
            for r in chunk {
                sep.push_bind(r.id);
            }
            qb.push(")");
            for row in qb.build_query_as::<TelemetryRow>().fetch_all(&self.read).await? {
                tele.insert(row.run_pk, row);
            }
        }
        Ok(runs
            .into_iter()
            .map(|run| {
                let evaluations = evals
                    .remove(&run.id)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|e| e.into_evaluation(&run.run_id))
                    .collect();
                let telemetry = tele.remove(&run.id).map(|t| t.into_telemetry(&run.run_id));
                RunDetail { run, evaluations, telemetry }
            })
            .collect())
    }

    pub(crate) async fn list_runs(
        &self,
        filter: &RunFilter,
        limit: u32,
        after: Option<Cursor>,
    ) -> Result<Page<Run>> {
        let mut qb = QueryBuilder::<Db>::new(format!("SELECT {RUN_COLUMNS} FROM runs r"));
        let mut has_where = push_filters(&mut qb, filter);
        if let Some(c) = after {
            qb.push(if has_where { " AND " } else { " WHERE " });
            has_where = true;
            qb.push("(r.started_at < ")
                .push_bind(c.started_at)
                .push(" OR (r.started_at = ")
                .push_bind(c.started_at)
                .push(" AND r.id < ")
                .push_bind(c.id)
                .push("))");
        }
        let _ = has_where;
        qb.push(" ORDER BY r.started_at DESC, r.id DESC LIMIT ")
            .push_bind(i64::from(limit) + 1);
        let rows = qb.build_query_as::<RunRow>().fetch_all(&self.read).await?;
        let mut items = rows.into_iter().map(RunRow::into_run).collect::<Result<Vec<_>>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|r| Cursor { started_at: r.started_at.millis(), id: r.id })
        } else {
            None
        };
        Ok(Page { items, next })
    }

    pub(crate) async fn list_batches(&self, limit: u32) -> Result<Vec<zebench_core::Batch>> {
        let sql = format!(
            "SELECT {BATCH_COLUMNS} FROM batches b ORDER BY b.created_at DESC, b.batch_id DESC LIMIT $1"
        );
        let rows = sqlx::query_as::<Db, BatchRow>(AssertSqlSafe(sql))
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        Ok(rows.into_iter().map(BatchRow::into_batch).collect())
    }

    pub(crate) async fn batch(&self, batch_id: &str) -> Result<Option<zebench_core::Batch>> {
        let sql = format!("SELECT {BATCH_COLUMNS} FROM batches b WHERE b.batch_id = $1");
        Ok(sqlx::query_as::<Db, BatchRow>(AssertSqlSafe(sql))
            .bind(batch_id)
            .fetch_optional(&self.read)
            .await?
            .map(BatchRow::into_batch))
    }

    pub(crate) async fn get_batch(&self, batch_id: &str) -> Result<Option<BatchDetail>> {
        // One snapshot for the batch row and its runs, so the totals match the list even
        // while runs are being added.
        let mut tx = self.read.begin_with(READ_SNAPSHOT).await?;
        let sql = format!("SELECT {BATCH_COLUMNS} FROM batches b WHERE b.batch_id = $1");
        let Some(row) = sqlx::query_as::<Db, BatchRow>(AssertSqlSafe(sql))
            .bind(batch_id)
            .fetch_optional(&mut *tx)
            .await?
        else {
            return Ok(None);
        };
        let sql = format!(
            "SELECT {RUN_COLUMNS} FROM runs r WHERE r.batch_id = $1 ORDER BY r.started_at, r.id"
        );
        let runs = sqlx::query_as::<Db, RunRow>(AssertSqlSafe(sql))
            .bind(batch_id)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .map(RunRow::into_run)
            .collect::<Result<Vec<_>>>()?;
        tx.commit().await?;
        Ok(Some(BatchDetail { batch: row.into_batch(), runs }))
    }

    /// Rollup rows of one dimension (`all` for the totals).
    pub(crate) async fn rollups(&self, dim: &str) -> Result<Vec<AggRow>> {
        let sql = format!("SELECT key, {AGG_COLUMNS} FROM rollups WHERE dim = $1 ORDER BY key");
        Ok(sqlx::query_as::<Db, AggRow>(AssertSqlSafe(sql))
            .bind(dim)
            .fetch_all(&self.read)
            .await?)
    }

    /// A breakdown computed from the runs themselves, for filtered views.
    pub(crate) async fn live_breakdown(&self, dim: Dimension, filter: &RunFilter) -> Result<Vec<AggRow>> {
        let common = "COUNT(*) AS runs, \
            CAST(COALESCE(SUM(CASE WHEN r.status = 'completed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS completed_runs, \
            CAST(COALESCE(SUM(CASE WHEN r.status = 'failed' THEN 1 ELSE 0 END), 0) AS BIGINT) AS failed_runs, \
            CAST(COALESCE(SUM(CASE WHEN r.status = 'completed' AND r.is_successful = TRUE THEN 1 ELSE 0 END), 0) AS BIGINT) AS successful_runs";
        let telemetry = "COALESCE(SUM(t.cost_usd), 0.0) AS cost_sum, \
            CAST(COALESCE(SUM(t.tokens_in), 0) AS BIGINT) AS tokens_in, \
            CAST(COALESCE(SUM(t.tokens_out), 0) AS BIGINT) AS tokens_out, \
            CAST(COALESCE(SUM(t.tool_calls), 0) AS BIGINT) AS tool_calls, \
            CAST(COALESCE(SUM(t.duration_ms), 0) AS BIGINT) AS duration_ms";
        let mut qb;
        if dim == Dimension::Evaluator {
            qb = QueryBuilder::<Db>::new(format!(
                "SELECT e.evaluator_name AS key, {common}, \
                 COALESCE(SUM(CASE WHEN r.status = 'completed' THEN e.s END), 0.0) AS score_sum, \
                 CAST(COUNT(CASE WHEN r.status = 'completed' THEN 1 END) AS BIGINT) AS score_n, \
                 CAST(0 AS DOUBLE PRECISION) AS weighted_sum, CAST(0 AS BIGINT) AS weighted_n, \
                 CAST(NULL AS DOUBLE PRECISION) AS weighted_min, CAST(NULL AS DOUBLE PRECISION) AS weighted_max, \
                 {telemetry} \
                 FROM (SELECT run_pk, evaluator_name, \
                       AVG(CASE WHEN max_score >= {MIN_DIVISOR} THEN score / max_score ELSE score END) AS s \
                       FROM evaluations WHERE run_pk IN (SELECT r.id FROM runs r"
            ));
            push_filters(&mut qb, filter);
            qb.push(
                ") GROUP BY run_pk, evaluator_name) e \
                 JOIN runs r ON r.id = e.run_pk LEFT JOIN telemetry t ON t.run_pk = r.id \
                 GROUP BY e.evaluator_name ORDER BY 1",
            );
        } else {
            let key = match dim {
                Dimension::Agent => "r.agent".to_string(),
                Dimension::Model => "COALESCE(r.model, '')".to_string(),
                Dimension::AgentModel => format!("r.agent || {PAIR_SEP_SQL} || COALESCE(r.model, '')"),
                Dimension::Suite => "r.suite".to_string(),
                Dimension::Scenario => "r.scenario".to_string(),
                Dimension::Tier => "r.tier".to_string(),
                Dimension::Day => DAY_SQL.to_string(),
                Dimension::Evaluator => unreachable!("handled above"),
            };
            qb = QueryBuilder::<Db>::new(format!(
                "SELECT {key} AS key, {common}, \
                 COALESCE(SUM(CASE WHEN r.status = 'completed' THEN r.total_score END), 0.0) AS score_sum, \
                 CAST(COUNT(CASE WHEN r.status = 'completed' THEN r.total_score END) AS BIGINT) AS score_n, \
                 COALESCE(SUM(CASE WHEN r.status = 'completed' THEN r.weighted_score END), 0.0) AS weighted_sum, \
                 CAST(COUNT(CASE WHEN r.status = 'completed' THEN r.weighted_score END) AS BIGINT) AS weighted_n, \
                 MIN(CASE WHEN r.status = 'completed' THEN r.weighted_score END) AS weighted_min, \
                 MAX(CASE WHEN r.status = 'completed' THEN r.weighted_score END) AS weighted_max, \
                 {telemetry} \
                 FROM runs r LEFT JOIN telemetry t ON t.run_pk = r.id"
            ));
            push_filters(&mut qb, filter);
            qb.push(" GROUP BY 1 ORDER BY 1");
        }
        Ok(qb.build_query_as::<AggRow>().fetch_all(&self.read).await?)
    }

    pub(crate) async fn artifacts(&self, run_pk: i64) -> Result<Vec<ArtifactInfo>> {
        let rows = sqlx::query_as::<Db, ArtifactInfoRow>(
            "SELECT name, size FROM artifacts WHERE run_pk = $1 ORDER BY name",
        )
        .bind(run_pk)
        .fetch_all(&self.read)
        .await?;
        Ok(rows.into_iter().map(|r| ArtifactInfo { name: r.name, size: r.size }).collect())
    }

    pub(crate) async fn artifact(&self, run_pk: i64, name: &str) -> Result<Option<ArtifactBody>> {
        let row = sqlx::query_as::<Db, ArtifactRow>(
            "SELECT name, encoding, size, body FROM artifacts WHERE run_pk = $1 AND name = $2",
        )
        .bind(run_pk)
        .bind(name)
        .fetch_optional(&self.read)
        .await?;
        row.map(crate::decode_artifact).transpose()
    }

    /// Refreshes the planner's statistics (after a bulk load, before autovacuum gets to it).
    pub(crate) async fn analyze(&self) -> Result<()> {
        sqlx::query(ANALYZE_SQL).execute(&self.write).await?;
        Ok(())
    }

    pub(crate) async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.read).await?;
        Ok(())
    }
}

/// Appends `WHERE …` for the filter's set fields; returns whether a WHERE was written.
fn push_filters(qb: &mut QueryBuilder<Db>, f: &RunFilter) -> bool {
    let mut first = true;
    let mut clause = |qb: &mut QueryBuilder<Db>, sql: &'static str| {
        qb.push(if first { " WHERE " } else { " AND " });
        first = false;
        qb.push(sql);
    };
    let exact: [(&'static str, &Option<String>); 7] = [
        ("r.suite = ", &f.suite),
        ("r.scenario = ", &f.scenario),
        ("r.tier = ", &f.tier),
        ("r.agent = ", &f.agent),
        ("r.model = ", &f.model),
        ("r.status = ", &f.status),
        ("r.batch_id = ", &f.batch_id),
    ];
    for (sql, value) in exact {
        if let Some(v) = value {
            clause(qb, sql);
            qb.push_bind(v.clone());
        }
    }
    if let Some(since) = f.since {
        clause(qb, "r.started_at >= ");
        qb.push_bind(since);
    }
    if let Some(until) = f.until {
        clause(qb, "r.started_at < ");
        qb.push_bind(until);
    }
    !first
}

#[allow(dead_code)]
async fn notify(tx: &mut sqlx::Transaction<'static, Db>, event: &crate::events::Event) -> Result<()> {
    let payload = serde_json::to_string(event).map_err(|e| StoreError::Corrupt(e.to_string()))?;
    sqlx::query("SELECT pg_notify($1, $2)")
        .bind(crate::events::PG_CHANNEL)
        .bind(payload)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
