//! The load benchmark's ceilings: bare axum routes reading one event by key from the
//! same database, with no auth, no middleware and no envelope. Run by
//! `scripts/load-bench`, which points wrk at them beside the real server.
//!
//! - `/row/{id}`: plain axum + sqlx, one `SELECT` through a sqlx pool: what the issue
//!   measured as the ceiling (about 25,000 requests/s here).
//! - `/store/{id}`: the same read through mingle's store, the read path the real
//!   `GET /events/:event_id` takes (on SQLite a read on the request's own thread, see
//!   `mingle-store/src/sqlite/on_thread.rs`). The gap between the real route and this
//!   one is what mingle's middleware, auth and envelope cost.
//!
//!     cargo bench -p mingle --bench load_ceiling -- <listen> <database-url> <org_id>

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use mingle_store::Store;
use serde_json::{json, Value};
use std::sync::Arc;

#[derive(Clone)]
struct Ceiling {
    store: Arc<dyn Store>,
    pool: Pool,
    org: String,
}

#[derive(Clone)]
enum Pool {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
}

async fn row(State(c): State<Ceiling>, Path(id): Path<String>) -> Json<Value> {
    let (event_id, title): (String, String) = match &c.pool {
        Pool::Sqlite(pool) => sqlx::query_as("SELECT event_id, title FROM events WHERE org_id = ? AND event_id = ?")
            .bind(&c.org)
            .bind(&id)
            .fetch_one(pool)
            .await
            .expect("read"),
        Pool::Postgres(pool) => {
            sqlx::query_as("SELECT event_id, title FROM events WHERE org_id = $1 AND event_id = $2")
                .bind(&c.org)
                .bind(&id)
                .fetch_one(pool)
                .await
                .expect("read")
        }
    };
    Json(json!({"event_id": event_id, "title": title}))
}

async fn through_store(State(c): State<Ceiling>, Path(id): Path<String>) -> Json<Value> {
    let event = c.store.get_event(&c.org, &id).await.expect("read").expect("the event exists");
    Json(json!({"event_id": event.event_id, "title": event.title}))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let [listen, url, org] =
        <[String; 3]>::try_from(args).expect("usage: load_ceiling <listen> <database-url> <org_id>");
    let store = mingle_store::connect(&url).await.expect("open the database");
    let pool = if url.starts_with("postgres") {
        Pool::Postgres(sqlx::PgPool::connect(&url).await.expect("connect"))
    } else {
        let options = url.parse::<sqlx::sqlite::SqliteConnectOptions>().expect("SQLite URL").read_only(true);
        Pool::Sqlite(sqlx::SqlitePool::connect_with(options).await.expect("open"))
    };
    let app = Router::new().route("/row/{id}", get(row)).route("/store/{id}", get(through_store)).with_state(Ceiling {
        store,
        pool,
        org,
    });
    let listener = tokio::net::TcpListener::bind(&listen).await.expect("listen");
    axum::serve(listener, app).await.expect("serve");
}
