//! The HTTP server loop: accepts connections up to a cap (excess ones get an immediate
//! `503` and are closed, never queued), serves each with HTTP/1.1 under a header read
//! timeout, and shuts down gracefully: it stops accepting, lets in-flight requests
//! finish within a grace period, then closes what is left. Requests hyper cannot parse
//! (a malformed request line or header, a negative `Content-Length`, an over-long URI,
//! too many or too large headers) never reach the router; their answers get the
//! envelope here (`EnvelopedSocket`).

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{ready, Context, Poll};
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

#[derive(Debug, Clone)]
pub struct ConnectionLimits {
    /// A request's headers must arrive within this long of the connection opening or
    /// of the previous response on it; so it is also the keep-alive idle timeout
    /// (hyper counts both on one timer).
    pub header_read_timeout: Duration,
    /// Connections served at once.
    pub max_connections: usize,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
}

/// Serves `router` on `listener` until `shutdown` completes, then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    // Answering a refused connection holds its socket for up to 2 s; beyond this many at
    // once, refused connections are closed without an answer.
    let refusals = Arc::new(Semaphore::new(256));
    let graceful = GracefulShutdown::new();
    let mut http = http1::Builder::new();
    http.timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout).keep_alive(true);
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(e) => {
                    // Out of file descriptors, typically: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            metrics::counter!("mingle_connections_refused_total").increment(1);
            if let Ok(answering) = refusals.clone().try_acquire_owned() {
                tokio::spawn(async move {
                    refuse(stream).await;
                    drop(answering);
                });
            }
            continue;
        };
        let _ = stream.set_nodelay(true);
        let socket = EnvelopedSocket { inner: stream, pending: Vec::new(), sent: 0 };
        let connection =
            graceful.watch(http.serve_connection(TokioIo::new(socket), TowerToHyperService::new(router.clone())));
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tracing::info!("stopped accepting connections; finishing in-flight requests");
    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown()).await.is_err() {
        tracing::warn!(
            grace_secs = limits.shutdown_grace.as_secs(),
            "requests still running after the grace period are abandoned; they end with the process"
        );
    }
    Ok(())
}

/// Answers a connection beyond the cap with `503 UNAVAILABLE` (the envelope) and closes it.
async fn refuse(mut stream: TcpStream) {
    let cid = uuid::Uuid::new_v4().simple().to_string();
    let body = serde_json::json!({
        "code": "UNAVAILABLE",
        "message": "The server has too many open connections; retry shortly.",
        "correlation_id": cid,
    })
    .to_string();
    let response = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nretry-after: 1\r\nx-correlation-id: {cid}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(response.as_bytes())).await;
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.shutdown()).await;
    // Read what the client sent before closing: closing with unread data makes the
    // kernel reset the connection, which can destroy the answer before it is read.
    let mut sink = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_millis(500), async {
        while matches!(tokio::io::AsyncReadExt::read(&mut stream, &mut sink).await, Ok(n) if n > 0) {}
    })
    .await;
}

/// A connection's socket that gives the envelope to the answers hyper writes by itself,
/// before any handler runs, to requests it cannot parse: `400`, `414` and `431` with an
/// empty body. Every answer of the router carries `x-correlation-id`; a head without it,
/// with one of those statuses, is hyper's, and is replaced by the envelope with a new
/// correlation ID (hyper closes the connection after it).
struct EnvelopedSocket {
    inner: TcpStream,
    /// A replacement answer being written, and how much of it is out.
    pending: Vec<u8>,
    sent: usize,
}

impl EnvelopedSocket {
    fn poll_drain(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.pending.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.pending[self.sent..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.sent += n;
        }
        Poll::Ready(Ok(()))
    }
}

/// The envelope answer standing in for hyper's bare answer `head`, if it is one.
pub fn enveloped_parse_error(head: &[u8]) -> Option<Vec<u8>> {
    // hyper answers in the version of the connection's earlier requests, 1.1 unless one was 1.0.
    let version = if head.starts_with(b"HTTP/1.0 ") { "HTTP/1.0" } else { "HTTP/1.1" };
    let head_status = head.get(9..13).unwrap_or_default();
    if !(head.starts_with(b"HTTP/1.1 ") || head.starts_with(b"HTTP/1.0 ")) {
        return None;
    }
    let (status, code, message) = if head_status == b"400 " {
        (
            "400 Bad Request",
            "MALFORMED_REQUEST",
            "The request is not valid HTTP/1.1: its request line or a header (Content-Length, say) is malformed.",
        )
    } else if head_status == b"414 " {
        ("414 URI Too Long", "URI_TOO_LONG", "The request's URI is too long.")
    } else if head_status == b"431 " {
        (
            "431 Request Header Fields Too Large",
            "HEADERS_TOO_LARGE",
            "The request has too many headers, or too large ones.",
        )
    } else {
        return None;
    };
    let text = std::str::from_utf8(head).ok()?;
    let (headers, rest) = text.split_once("\r\n\r\n")?;
    let lower = headers.to_ascii_lowercase();
    if !rest.is_empty() || lower.contains("x-correlation-id:") || !lower.contains("content-length: 0") {
        return None;
    }
    let cid = uuid::Uuid::new_v4().simple().to_string();
    tracing::info!(correlation_id = %cid, status, "request not parsed");
    let body = serde_json::json!({"code": code, "message": message, "correlation_id": cid}).to_string();
    let date = headers.lines().find(|l| l.to_ascii_lowercase().starts_with("date:"));
    let date = date.map(|d| format!("{d}\r\n")).unwrap_or_default();
    Some(
        format!(
            "{version} {status}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nx-correlation-id: {cid}\r\nconnection: close\r\n{date}\r\n{body}",
            body.len()
        )
        .into_bytes(),
    )
}

impl AsyncRead for EnvelopedSocket {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for EnvelopedSocket {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        ready!(self.poll_drain(cx))?;
        if let Some(answer) = enveloped_parse_error(buf) {
            self.pending = answer;
            self.sent = 0;
            // Taken whole; what the socket cannot take now goes out on the next flush.
            if let Poll::Ready(Err(e)) = self.poll_drain(cx) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(buf.len()));
        }
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_drain(cx))?;
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }

    // Not vectored: hyper then writes each head in one buffer, which is what
    // `enveloped_parse_error` looks at.
    fn is_write_vectored(&self) -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::enveloped_parse_error;

    #[test]
    fn only_hypers_own_bare_answers_are_replaced() {
        let bare = b"HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-length: 0\r\ndate: Wed, 02 Dec 2026 09:00:00 GMT\r\n\r\n";
        let answer = String::from_utf8(enveloped_parse_error(bare).unwrap()).unwrap();
        assert!(answer.starts_with("HTTP/1.1 431 "), "{answer}");
        assert!(answer.contains("date: Wed, 02 Dec 2026"), "{answer}");
        assert!(answer.ends_with('}') && answer.contains(r#""code":"HEADERS_TOO_LARGE""#), "{answer}");
        // The router's answers carry a correlation ID and are left alone, as are others.
        let routed = b"HTTP/1.1 400 Bad Request\r\nx-correlation-id: abc\r\ncontent-length: 0\r\n\r\n";
        assert!(enveloped_parse_error(routed).is_none());
        assert!(enveloped_parse_error(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n").is_none());
        let with_body = b"HTTP/1.1 400 Bad Request\r\ncontent-length: 2\r\n\r\n{}";
        assert!(enveloped_parse_error(with_body).is_none());
        // After an HTTP/1.0 request on the connection hyper answers in 1.0; so do we.
        let old = enveloped_parse_error(b"HTTP/1.0 400 Bad Request\r\ncontent-length: 0\r\n\r\n").unwrap();
        assert!(old.starts_with(b"HTTP/1.0 400 Bad Request\r\n"));
    }
}
