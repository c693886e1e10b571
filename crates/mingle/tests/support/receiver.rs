//! A real local webhook receiver for tests: an HTTP server on 127.0.0.1 (its own thread
//! and runtime, so sync and async tests can use it alike) that records every request
//! and answers from a script, then with 204.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

/// One answer of the receiver.
#[derive(Debug, Clone)]
pub enum Reply {
    Status(u16),
    /// A status with a `Retry-After` header.
    RetryAfter(u16, &'static str),
    /// Answers 204 after this long (longer than the sender's timeout: a timeout).
    Slow(Duration),
    /// 302 to another path of this receiver.
    Redirect,
}

#[derive(Debug, Clone)]
pub struct Hit {
    pub at: Instant,
    pub path: String,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// The status the receiver answered (a slow reply records 204).
    pub status: u16,
}

impl Hit {
    pub fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

#[derive(Default)]
struct State {
    script: Mutex<VecDeque<Reply>>,
    hits: Mutex<Vec<Hit>>,
}

pub struct Receiver {
    pub addr: SocketAddr,
    state: Arc<State>,
}

impl Receiver {
    /// Starts a receiver answering `script` in order, then 204 to everything.
    pub fn start(script: Vec<Reply>) -> Self {
        let state = Arc::new(State { script: Mutex::new(script.into()), hits: Mutex::default() });
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind a receiver");
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = state.clone();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                let app = axum::Router::new().fallback(move |uri: Uri, headers: HeaderMap, body: Bytes| {
                    let state = shared.clone();
                    async move { answer(&state, uri, headers, body).await }
                });
                axum::serve(listener, app).await.unwrap();
            });
        });
        Self { addr, state }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.state.hits.lock().unwrap().clone()
    }

    /// Waits (async) until at least `n` requests arrived; panics after `within`.
    pub async fn wait_hits(&self, n: usize, within: Duration) -> Vec<Hit> {
        let state = self.state.clone();
        tokio::task::spawn_blocking(move || wait(&state, n, within))
            .await
            .unwrap_or_else(|e| std::panic::resume_unwind(e.into_panic()))
    }

    /// Waits (blocking) until at least `n` requests arrived; panics after `within`.
    pub fn wait_hits_blocking(&self, n: usize, within: Duration) -> Vec<Hit> {
        wait(&self.state, n, within)
    }
}

fn wait(state: &State, n: usize, within: Duration) -> Vec<Hit> {
    let deadline = Instant::now() + within;
    loop {
        let hits = state.hits.lock().unwrap().clone();
        if hits.len() >= n {
            return hits;
        }
        assert!(Instant::now() < deadline, "{} of {n} webhook requests arrived in {within:?}", hits.len());
        std::thread::sleep(Duration::from_millis(20));
    }
}

async fn answer(state: &State, uri: Uri, headers: HeaderMap, body: Bytes) -> Response {
    let reply = state.script.lock().unwrap().pop_front();
    let at = Instant::now();
    let status = match &reply {
        Some(Reply::Status(s)) | Some(Reply::RetryAfter(s, _)) => *s,
        Some(Reply::Redirect) => 302,
        Some(Reply::Slow(_)) | None => 204,
    };
    state.hits.lock().unwrap().push(Hit { at, path: uri.path().to_owned(), headers, body, status });
    let code = StatusCode::from_u16(status).unwrap();
    match reply {
        Some(Reply::RetryAfter(_, after)) => (code, [("retry-after", after)]).into_response(),
        Some(Reply::Redirect) => (code, [("location", "/redirected")]).into_response(),
        Some(Reply::Slow(wait)) => {
            tokio::time::sleep(wait).await;
            code.into_response()
        }
        _ => code.into_response(),
    }
}
