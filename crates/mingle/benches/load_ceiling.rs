//! The load benchmark's ceiling: a bare route that reads one event by key from the same
//! SQLite file through the same store, with no auth, no middleware and no envelope —
//! what the framework and the database give before mingle adds anything. Run by
//! `scripts/load-bench`, which points wrk at it beside the real server.
//!
//!     cargo bench -p mingle --bench load_ceiling -- <listen> <sqlite-url> <org_id>

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use mingle_store::Store;
use serde_json::{json, Value};
use std::sync::Arc;

async fn row(State((store, org)): State<(Arc<dyn Store>, String)>, Path(id): Path<String>) -> Json<Value> {
    let event = store.get_event(&org, &id).await.expect("read").expect("the event exists");
    Json(json!({"event_id": event.event_id, "title": event.title}))
}

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).filter(|a| a != "--bench").collect();
    let [listen, url, org] = <[String; 3]>::try_from(args).expect("usage: load_ceiling <listen> <sqlite-url> <org_id>");
    let store = mingle_store::connect(&url).await.expect("open the database");
    let app = Router::new().route("/row/{id}", get(row)).with_state((store, org));
    let listener = tokio::net::TcpListener::bind(&listen).await.expect("listen");
    axum::serve(listener, app).await.expect("serve");
}
