//! Attendees, memberships, identity decisions and reviews in PostgreSQL. An import, a
//! resolution and a merge each hold their org's advisory lock for their transaction, so
//! what one reads stays true until it commits, whichever process runs the others.

use std::collections::{BTreeSet, HashMap, HashSet};

use async_trait::async_trait;
use mingle_core::identity::{fold, Anchor, AnchorKind};
use mingle_core::Timestamp;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder};

use super::queue::finish_under_lease;
use super::{analyze, db, last_per_key, limit, PgStore};
use crate::models::*;
use crate::rows::*;
use crate::{IdentityStore, StoreError};

/// Rows per multi-row INSERT (at most 16 columns: far under the 65,535 bound values).
const BATCH: usize = 2_000;

fn json_list(v: &Option<Vec<String>>) -> Option<String> {
    v.as_ref().map(|l| serde_json::to_string(l).expect("strings serialize"))
}

/// Serializes the org's identity writes (imports, resolutions, merges) across processes.
pub(super) async fn lock_org(conn: &mut PgConnection, org_id: &str) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("mingle.identity.{org_id}"))
        .execute(conn)
        .await
        .map_err(db)?;
    Ok(())
}

async fn anchors_of(
    conn: &mut PgConnection,
    org_id: &str,
    ids: &[String],
) -> Result<HashMap<String, Vec<Anchor>>, StoreError> {
    let rows = sqlx::query(
        "SELECT kind, value, attendee_id FROM attendee_anchors
         WHERE org_id = $1 AND retired_at IS NULL AND attendee_id = ANY($2)
         ORDER BY kind, value",
    )
    .bind(org_id)
    .bind(ids)
    .fetch_all(conn)
    .await
    .map_err(db)?;
    let mut out: HashMap<String, Vec<Anchor>> = HashMap::new();
    for r in rows {
        let kind = parsed(&r, "kind", AnchorKind::parse)?;
        out.entry(get(&r, "attendee_id")?).or_default().push(Anchor { kind, value: get(&r, "value")? });
    }
    Ok(out)
}

async fn load_attendees(conn: &mut PgConnection, org_id: &str, ids: &[String]) -> Result<Vec<Attendee>, StoreError> {
    let rows: Vec<PgRow> = sqlx::query("SELECT * FROM attendees WHERE org_id = $1 AND attendee_id = ANY($2)")
        .bind(org_id)
        .bind(ids)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
    let found: Vec<String> = rows.iter().map(|r| get(r, "attendee_id")).collect::<Result<_, _>>()?;
    let mut anchors = anchors_of(conn, org_id, &found).await?;
    rows.iter()
        .map(|r| {
            let id: String = get(r, "attendee_id")?;
            attendee_from_row(r, anchors.remove(&id).unwrap_or_default())
        })
        .collect()
}

async fn memberships_of(
    conn: &mut PgConnection,
    org_id: &str,
    event_id: Option<&str>,
    ids: &[String],
) -> Result<Vec<Membership>, StoreError> {
    sqlx::query(
        "SELECT * FROM event_attendees WHERE org_id = $1 AND ($2::text IS NULL OR event_id = $2) AND attendee_id = ANY($3)",
    )
    .bind(org_id)
    .bind(event_id)
    .bind(ids)
    .fetch_all(conn)
    .await
    .map_err(db)?
    .iter()
    .map(membership_from_row)
    .collect()
}

async fn snapshot(
    conn: &mut PgConnection,
    org_id: &str,
    event_id: &str,
    q: &SnapshotQuery,
) -> Result<ImportSnapshot, StoreError> {
    let mut ids: BTreeSet<String> = q.attendee_ids.iter().cloned().collect();
    for kind in [AnchorKind::Email, AnchorKind::Linkedin] {
        let values: Vec<String> = q.anchors.iter().filter(|a| a.kind == kind).map(|a| a.value.clone()).collect();
        let found: Vec<String> = sqlx::query_scalar(
            "SELECT attendee_id FROM attendee_anchors
             WHERE org_id = $1 AND kind = $2 AND retired_at IS NULL AND value = ANY($3)",
        )
        .bind(org_id)
        .bind(kind.as_str())
        .bind(&values)
        .fetch_all(&mut *conn)
        .await
        .map_err(db)?;
        ids.extend(found);
    }
    let wanted: HashSet<&(String, String)> = q.name_company.iter().collect();
    let names: Vec<String> =
        q.name_company.iter().map(|(n, _)| n.clone()).collect::<BTreeSet<_>>().into_iter().collect();
    let same_names: Vec<(String, String, String)> = sqlx::query_as(
        "SELECT attendee_id, name_key, company_key FROM attendees
         WHERE org_id = $1 AND merged_into IS NULL AND name_key = ANY($2)",
    )
    .bind(org_id)
    .bind(&names)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    for (id, name_key, company_key) in same_names {
        if wanted.contains(&(name_key, company_key)) {
            ids.insert(id);
        }
    }
    let ids: Vec<String> = ids.into_iter().collect();
    let mut attendees = load_attendees(conn, org_id, &ids).await?;
    // Aliases lead to their targets, which the rows then update.
    let targets: Vec<String> = attendees
        .iter()
        .filter_map(|a| a.merged_into.clone())
        .filter(|t| ids.binary_search(t).is_err())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    attendees.extend(load_attendees(conn, org_id, &targets).await?);
    attendees.sort_by(|a, b| (a.created_at, &a.attendee_id).cmp(&(b.created_at, &b.attendee_id)));
    let all: Vec<String> = attendees.iter().map(|a| a.attendee_id.clone()).collect();
    let memberships = memberships_of(conn, org_id, Some(event_id), &all).await?;
    let distinct = sqlx::query_as(
        "SELECT attendee_a, attendee_b FROM distinct_pairs
         WHERE org_id = $1 AND (attendee_a = ANY($2) OR attendee_b = ANY($2))",
    )
    .bind(org_id)
    .bind(&all)
    .fetch_all(&mut *conn)
    .await
    .map_err(db)?;
    Ok(ImportSnapshot { attendees, memberships, distinct })
}

/// Writes attendee records, new or changed (their anchors are written separately).
async fn upsert_attendees(conn: &mut PgConnection, org_id: &str, attendees: &[Attendee]) -> Result<(), StoreError> {
    let attendees = last_per_key(attendees, |a| a.attendee_id.clone());
    for chunk in attendees.chunks(BATCH) {
        let mut b = QueryBuilder::<Postgres>::new(
            "INSERT INTO attendees (org_id, attendee_id, person_id, name, email, linkedin_url, title, company,
                name_key, company_key, merged_into, created_at, updated_at) ",
        );
        b.push_values(chunk, |mut row, a| {
            row.push_bind(org_id)
                .push_bind(&a.attendee_id)
                .push_bind(&a.person_id)
                .push_bind(&a.name)
                .push_bind(&a.email)
                .push_bind(&a.linkedin_url)
                .push_bind(&a.title)
                .push_bind(&a.company)
                .push_bind(fold(&a.name))
                .push_bind(a.company.as_deref().map(fold).unwrap_or_default())
                .push_bind(&a.merged_into)
                .push_bind(a.created_at.millis())
                .push_bind(a.updated_at.millis());
        });
        b.push(
            " ON CONFLICT (org_id, attendee_id) DO UPDATE SET person_id = excluded.person_id, name = excluded.name,
              email = excluded.email, linkedin_url = excluded.linkedin_url, title = excluded.title,
              company = excluded.company, name_key = excluded.name_key, company_key = excluded.company_key,
              updated_at = excluded.updated_at",
        );
        b.build().execute(&mut *conn).await.map_err(db)?;
    }
    Ok(())
}

/// Rewrites one membership's answers and dates in place.
async fn update_membership(conn: &mut PgConnection, org_id: &str, m: &Membership) -> Result<(), StoreError> {
    let a = &m.answers;
    sqlx::query(
        "UPDATE event_attendees SET raw_data = $1, goal = $2, needs = $3, offers = $4, interests = $5, bio = $6,
            role_at_event = $7, visibility = $8, sessions = $9, onboarded_at = $10, joined_at = $11, updated_at = $12
         WHERE org_id = $13 AND event_id = $14 AND attendee_id = $15",
    )
    .bind(m.raw_data.as_ref().map(|r| serde_json::to_string(r).expect("JSON serializes")))
    .bind(&a.goal)
    .bind(json_list(&a.needs))
    .bind(json_list(&a.offers))
    .bind(json_list(&a.interests))
    .bind(&a.bio)
    .bind(&a.role_at_event)
    .bind(&a.visibility)
    .bind(json_list(&a.sessions))
    .bind(m.onboarded_at.map(Timestamp::millis))
    .bind(m.joined_at.map(Timestamp::millis))
    .bind(m.updated_at.millis())
    .bind(org_id)
    .bind(&m.event_id)
    .bind(&m.attendee_id)
    .execute(conn)
    .await
    .map_err(db)?;
    Ok(())
}

async fn write_plan(conn: &mut PgConnection, org_id: &str, plan: &ImportPlan) -> Result<(), StoreError> {
    upsert_attendees(conn, org_id, &plan.attendees).await?;
    let anchors: Vec<(&Attendee, &Anchor)> =
        plan.attendees.iter().flat_map(|a| a.anchors.iter().map(move |x| (a, x))).collect();
    for chunk in anchors.chunks(BATCH) {
        let mut b = QueryBuilder::<Postgres>::new(
            "INSERT INTO attendee_anchors (org_id, kind, value, attendee_id, created_at) ",
        );
        b.push_values(chunk, |mut row, (a, anchor)| {
            row.push_bind(org_id)
                .push_bind(anchor.kind.as_str())
                .push_bind(&anchor.value)
                .push_bind(&a.attendee_id)
                .push_bind(a.updated_at.millis());
        });
        b.push(" ON CONFLICT DO NOTHING");
        b.build().execute(&mut *conn).await.map_err(db)?;
    }
    let memberships = last_per_key(&plan.memberships, |m| (m.event_id.clone(), m.attendee_id.clone()));
    for chunk in memberships.chunks(BATCH) {
        let mut b = QueryBuilder::<Postgres>::new(
            "INSERT INTO event_attendees (org_id, event_id, attendee_id, raw_data, goal, needs, offers, interests, bio,
                role_at_event, visibility, sessions, onboarded_at, joined_at, created_at, updated_at) ",
        );
        b.push_values(chunk, |mut row, m| {
            let a = &m.answers;
            row.push_bind(org_id)
                .push_bind(&m.event_id)
                .push_bind(&m.attendee_id)
                .push_bind(m.raw_data.as_ref().map(|r| serde_json::to_string(r).expect("JSON serializes")))
                .push_bind(&a.goal)
                .push_bind(json_list(&a.needs))
                .push_bind(json_list(&a.offers))
                .push_bind(json_list(&a.interests))
                .push_bind(&a.bio)
                .push_bind(&a.role_at_event)
                .push_bind(&a.visibility)
                .push_bind(json_list(&a.sessions))
                .push_bind(m.onboarded_at.map(Timestamp::millis))
                .push_bind(m.joined_at.map(Timestamp::millis))
                .push_bind(m.created_at.millis())
                .push_bind(m.updated_at.millis());
        });
        b.push(
            " ON CONFLICT (org_id, event_id, attendee_id) DO UPDATE SET raw_data = excluded.raw_data, goal = excluded.goal,
              needs = excluded.needs, offers = excluded.offers, interests = excluded.interests, bio = excluded.bio,
              role_at_event = excluded.role_at_event, visibility = excluded.visibility, sessions = excluded.sessions,
              updated_at = excluded.updated_at",
        );
        b.build().execute(&mut *conn).await.map_err(db)?;
    }
    insert_decisions(conn, org_id, &plan.decisions).await?;
    for chunk in plan.reviews.chunks(BATCH) {
        let mut b = QueryBuilder::<Postgres>::new(
            "INSERT INTO reviews (org_id, review_id, attendee_id, event_id, candidate_id, clash, reason, evidence,
                status, run_id, created_at) ",
        );
        b.push_values(chunk, |mut row, r| {
            row.push_bind(org_id)
                .push_bind(&r.review_id)
                .push_bind(&r.attendee_id)
                .push_bind(&r.event_id)
                .push_bind(&r.candidate_id)
                .push_bind(&r.clash)
                .push_bind(&r.reason)
                .push_bind(r.evidence.to_string())
                .push_bind(r.status.as_str())
                .push_bind(&r.run_id)
                .push_bind(r.created_at.millis());
        });
        b.build().execute(&mut *conn).await.map_err(db)?;
    }
    Ok(())
}

async fn insert_decisions(conn: &mut PgConnection, org_id: &str, decisions: &[Decision]) -> Result<(), StoreError> {
    for chunk in decisions.chunks(BATCH) {
        let mut b = QueryBuilder::<Postgres>::new(
            "INSERT INTO identity_decisions (org_id, attendee_id, decision_id, kind, event_id, run_id, review_id, anchors,
                other_kind, other_partner_id, reason, verdict, created_at) ",
        );
        b.push_values(chunk, |mut row, d| {
            row.push_bind(org_id)
                .push_bind(&d.attendee_id)
                .push_bind(&d.decision_id)
                .push_bind(d.kind.as_str())
                .push_bind(&d.event_id)
                .push_bind(&d.run_id)
                .push_bind(&d.review_id)
                .push_bind(serde_json::to_string(&d.anchors).expect("anchors serialize"))
                .push_bind(d.other.as_ref().map(|o| o.kind.clone()))
                .push_bind(d.other.as_ref().map(|o| o.partner_id.clone()))
                .push_bind(&d.reason)
                .push_bind(&d.verdict)
                .push_bind(d.created_at.millis());
        });
        b.build().execute(&mut *conn).await.map_err(db)?;
    }
    Ok(())
}

#[async_trait]
impl IdentityStore for PgStore {
    async fn is_member(&self, org_id: &str, event_id: &str, attendee_id: &str) -> Result<bool, StoreError> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM event_attendees WHERE org_id = $1 AND event_id = $2 AND attendee_id = $3)",
        )
        .bind(org_id)
        .bind(event_id)
        .bind(attendee_id)
        .fetch_one(&self.pool)
        .await
        .map_err(db)
    }

    async fn is_distinct(&self, org_id: &str, a: &str, b: &str) -> Result<bool, StoreError> {
        let (a, b) = if a <= b { (a, b) } else { (b, a) };
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM distinct_pairs WHERE org_id = $1 AND attendee_a = $2 AND attendee_b = $3)",
        )
        .bind(org_id)
        .bind(a)
        .bind(b)
        .fetch_one(&self.pool)
        .await
        .map_err(db)
    }

    async fn apply_import(
        &self,
        lease: &Lease,
        event_id: &str,
        query: &SnapshotQuery,
        plan: Box<dyn FnOnce(ImportSnapshot) -> ImportPlan + Send>,
        now: Timestamp,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        let org_id = lease.org_id.as_str();
        lock_org(&mut tx, org_id).await?;
        let snap = snapshot(&mut tx, org_id, event_id, query).await?;
        let plan = plan(snap);
        write_plan(&mut tx, org_id, &plan).await?;
        if !finish_under_lease(&mut tx, lease, &RunEnd::succeeded(&plan.progress, now)).await? {
            return Ok(false);
        }
        tx.commit().await.map_err(db)?;
        analyze(&self.pool, plan.attendees.len(), "attendees, attendee_anchors, event_attendees, identity_decisions")
            .await;
        Ok(true)
    }

    async fn get_attendee(&self, org_id: &str, attendee_id: &str) -> Result<Option<Attendee>, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(db)?;
        Ok(load_attendees(&mut conn, org_id, &[attendee_id.to_owned()]).await?.pop())
    }

    async fn list_attendees(
        &self,
        org_id: &str,
        event_id: &str,
        page: &PageQuery,
    ) -> Result<Vec<AttendeeListing>, StoreError> {
        let after = page.after.as_ref().map(|p| p.id.clone()).unwrap_or_default();
        let rows = sqlx::query(
            "SELECT m.*, a.name, a.title, a.company,
                (SELECT COUNT(*) FROM reviews r WHERE r.org_id = m.org_id AND r.attendee_id = m.attendee_id
                    AND r.status = 'open') AS open_reviews,
                f.input_hash AS enriched_hash, f.model_id AS enriched_model
             FROM event_attendees m
             JOIN attendees a ON a.org_id = m.org_id AND a.attendee_id = m.attendee_id
             LEFT JOIN attendee_features f
                ON f.org_id = m.org_id AND f.event_id = m.event_id AND f.attendee_id = m.attendee_id
             WHERE m.org_id = $1 AND m.event_id = $2 AND m.attendee_id > $3
             ORDER BY m.attendee_id LIMIT $4",
        )
        .bind(org_id)
        .bind(event_id)
        .bind(after)
        .bind(limit(page))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?;
        rows.iter().map(attendee_listing_from_row).collect()
    }

    async fn list_decisions(
        &self,
        org_id: &str,
        attendee_id: &str,
        page: &PageQuery,
    ) -> Result<Vec<Decision>, StoreError> {
        // Decision IDs are UUIDv7, ordered by creation time: the primary key is the order.
        let after = page.after.as_ref().map(|p| p.id.clone()).unwrap_or_else(|| "\u{10FFFF}".into());
        sqlx::query(
            "SELECT * FROM identity_decisions WHERE org_id = $1 AND attendee_id = $2 AND decision_id < $3
             ORDER BY decision_id DESC LIMIT $4",
        )
        .bind(org_id)
        .bind(attendee_id)
        .bind(after)
        .bind(limit(page))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(decision_from_row)
        .collect()
    }

    async fn get_review(&self, org_id: &str, review_id: &str) -> Result<Option<Review>, StoreError> {
        sqlx::query("SELECT * FROM reviews WHERE org_id = $1 AND review_id = $2")
            .bind(org_id)
            .bind(review_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(db)?
            .map(|r| review_from_row(&r))
            .transpose()
    }

    async fn list_open_reviews(
        &self,
        org_id: &str,
        event_id: Option<&str>,
        page: &PageQuery,
    ) -> Result<Vec<Review>, StoreError> {
        let (key, id) = page.after.as_ref().map(|p| (p.key, p.id.clone())).unwrap_or((i64::MAX, "\u{10FFFF}".into()));
        sqlx::query(
            "SELECT * FROM reviews WHERE org_id = $1 AND status = 'open' AND ($2::text IS NULL OR event_id = $2)
                AND (created_at, review_id) < ($3, $4)
             ORDER BY created_at DESC, review_id DESC LIMIT $5",
        )
        .bind(org_id)
        .bind(event_id)
        .bind(key)
        .bind(id)
        .bind(limit(page))
        .fetch_all(&self.pool)
        .await
        .map_err(db)?
        .iter()
        .map(review_from_row)
        .collect()
    }

    async fn resolve_review(&self, org_id: &str, r: &Resolution) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await.map_err(db)?;
        lock_org(&mut tx, org_id).await?;
        let closed = sqlx::query(
            "UPDATE reviews SET status = $1, decision_reason = $2, resolved_at = $3
             WHERE org_id = $4 AND review_id = $5 AND status = $6",
        )
        .bind(r.status.as_str())
        .bind(&r.reason)
        .bind(r.now.millis())
        .bind(org_id)
        .bind(&r.review_id)
        .bind(ReviewStatus::Open.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if closed.rows_affected() == 0 {
            return Ok(false);
        }
        if let Some((attendee_id, person_id)) = &r.relink {
            sqlx::query("UPDATE attendees SET person_id = $1, updated_at = $2 WHERE org_id = $3 AND attendee_id = $4")
                .bind(person_id)
                .bind(r.now.millis())
                .bind(org_id)
                .bind(attendee_id)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        if let Some((a, b)) = &r.distinct {
            let (a, b) = if a <= b { (a, b) } else { (b, a) };
            sqlx::query(
                "INSERT INTO distinct_pairs (org_id, attendee_a, attendee_b, review_id, created_at)
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
            )
            .bind(org_id)
            .bind(a)
            .bind(b)
            .bind(&r.review_id)
            .bind(r.now.millis())
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        insert_decisions(&mut tx, org_id, std::slice::from_ref(&r.decision)).await?;
        tx.commit().await.map_err(db)?;
        Ok(true)
    }

    async fn merge_attendees(
        &self,
        org_id: &str,
        m: &MergeRequest,
        plan: MergePlanner,
    ) -> Result<Option<MergeCounts>, StoreError> {
        let now = m.now.millis();
        let mut tx = self.pool.begin().await.map_err(db)?;
        lock_org(&mut tx, org_id).await?;
        let closed = sqlx::query(
            "UPDATE reviews SET status = $1, decision_reason = $2, resolved_at = $3
             WHERE org_id = $4 AND review_id = $5 AND status = $6",
        )
        .bind(ReviewStatus::Merged.as_str())
        .bind(&m.reason)
        .bind(now)
        .bind(org_id)
        .bind(&m.review_id)
        .bind(ReviewStatus::Open.as_str())
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        if closed.rows_affected() == 0 {
            return Ok(None);
        }
        let pair = [m.source.clone(), m.target.clone()];
        let mut records = load_attendees(&mut tx, org_id, &pair).await?;
        let mut take = |id: &str| {
            let i = records.iter().position(|a| a.attendee_id == id);
            i.map(|i| records.swap_remove(i)).ok_or_else(|| StoreError::Backend(format!("attendee {id} vanished")))
        };
        let (source, target) = (take(&m.source)?, take(&m.target)?);
        let memberships = memberships_of(&mut tx, org_id, None, &pair).await?;
        let (source_memberships, target_memberships) = memberships.into_iter().partition(|x| x.attendee_id == m.source);
        let plan = plan(MergeSnapshot { source, target, source_memberships, target_memberships });

        for a in &plan.retire_anchors {
            sqlx::query(
                "UPDATE attendee_anchors SET retired_at = $1
                 WHERE org_id = $2 AND kind = $3 AND value = $4 AND attendee_id = $5",
            )
            .bind(now)
            .bind(org_id)
            .bind(a.kind.as_str())
            .bind(&a.value)
            .bind(&m.source)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        for a in &plan.move_anchors {
            sqlx::query(
                "UPDATE attendee_anchors SET attendee_id = $1
                 WHERE org_id = $2 AND kind = $3 AND value = $4 AND attendee_id = $5",
            )
            .bind(&m.target)
            .bind(org_id)
            .bind(a.kind.as_str())
            .bind(&a.value)
            .bind(&m.source)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        for c in &plan.combined_memberships {
            update_membership(&mut tx, org_id, c).await?;
            sqlx::query("DELETE FROM event_attendees WHERE org_id = $1 AND event_id = $2 AND attendee_id = $3")
                .bind(org_id)
                .bind(&c.event_id)
                .bind(&m.source)
                .execute(&mut *tx)
                .await
                .map_err(db)?;
        }
        for event_id in &plan.moved_memberships {
            sqlx::query(
                "UPDATE event_attendees SET attendee_id = $1, updated_at = $2
                 WHERE org_id = $3 AND event_id = $4 AND attendee_id = $5",
            )
            .bind(&m.target)
            .bind(now)
            .bind(org_id)
            .bind(event_id)
            .bind(&m.source)
            .execute(&mut *tx)
            .await
            .map_err(db)?;
        }
        upsert_attendees(&mut tx, org_id, std::slice::from_ref(&plan.target)).await?;
        // The source and its aliases become aliases of the target: one person.
        sqlx::query(
            "UPDATE attendees SET merged_into = $1, updated_at = $2, person_id = $3
             WHERE org_id = $4 AND (attendee_id = $5 OR merged_into = $5)",
        )
        .bind(&m.target)
        .bind(now)
        .bind(&plan.target.person_id)
        .bind(org_id)
        .bind(&m.source)
        .execute(&mut *tx)
        .await
        .map_err(db)?;
        insert_decisions(&mut tx, org_id, std::slice::from_ref(&m.decision)).await?;
        // Every stored match row involving the source goes, in every run.
        let deleted = sqlx::query(
            "DELETE FROM matches WHERE org_id = $1 AND (a_id = $2 OR b_id = $2)
               AND run_id IN (SELECT run_id FROM runs WHERE org_id = $1 AND kind = 'match')",
        )
        .bind(org_id)
        .bind(&m.source)
        .execute(&mut *tx)
        .await
        .map_err(db)?
        .rows_affected() as i64;
        tx.commit().await.map_err(db)?;
        Ok(Some(MergeCounts {
            superseded_anchors: plan.retire_anchors.len() as i64,
            rewritten_anchors: plan.move_anchors.len() as i64,
            deleted_computations: deleted,
        }))
    }
}
