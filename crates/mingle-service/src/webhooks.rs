//! Webhook delivery: a sender that claims due deliveries under a lease (so one process
//! sends each even when several run), POSTs the signed run event to the address it
//! checked, records the attempt and schedules the next; and the operator's reads and
//! redelivery. The rules (signature, schedule, which addresses are internal) are the
//! engine's, in `mingle_core::webhook`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mingle_core::webhook::{internal_address, parse_retry_after, retry_delay, signature_header};
use mingle_core::Timestamp;
use mingle_store::models::{Delivery, DeliveryAttempt, DeliveryLease, DeliveryNext, Run};
use mingle_store::Store;
use serde_json::{json, Value};
use tokio::sync::watch;
use url::Url;

use crate::ServiceError;

/// How long a webhook host may take to resolve before the attempt fails (and is
/// retried): the system resolver can otherwise take retries x nameservers x 5 s.
pub const RESOLVE_TIMEOUT: Duration = Duration::from_secs(5);

/// Renders a run as the API shows it (the HTTP layer owns that shape); a delivery's
/// `data` is that object.
pub type RenderRun = fn(Run) -> Value;

#[derive(Debug, Clone)]
pub struct SenderSettings {
    /// A POST that has not answered after this long failed (the spec: 15 s).
    pub timeout: Duration,
    /// Allow `http` URLs and internal addresses (local development only).
    pub insecure: bool,
    /// How often to look for due deliveries.
    pub poll: Duration,
    /// Deliveries sent at once.
    pub concurrency: usize,
}

impl Default for SenderSettings {
    fn default() -> Self {
        Self { timeout: Duration::from_secs(15), insecure: false, poll: Duration::from_millis(250), concurrency: 4 }
    }
}

/// Sends due deliveries until shut down.
#[derive(Clone)]
pub struct WebhookSender {
    store: Arc<dyn Store>,
    render: RenderRun,
    settings: SenderSettings,
    id: String,
}

/// How one attempt ended, before it is recorded.
struct Outcome {
    status_code: Option<u16>,
    error: Option<String>,
    retry_after: Option<Duration>,
    /// No later attempt can succeed (the address is refused): fail at once.
    permanent: bool,
    /// The `outcome` label of `mingle_webhook_attempts_total`.
    label: &'static str,
}

impl WebhookSender {
    pub fn new(store: Arc<dyn Store>, render: RenderRun, settings: SenderSettings) -> Self {
        let id = format!("sender-{}", uuid::Uuid::new_v4().simple());
        Self { store, render, settings, id }
    }

    /// A claim outlives the slowest attempt (the bounded lookup, two reads, the POST)
    /// with a wide margin, so a live sender does not lose its delivery to another
    /// sender mid-attempt (which would send it twice and record one attempt only).
    fn lease(&self) -> Duration {
        RESOLVE_TIMEOUT + self.settings.timeout + Duration::from_secs(30)
    }

    /// Works until `shutdown` turns true. A delivery being sent then is finished (it
    /// takes at most the timeout); one not yet claimed stays queued.
    pub async fn run(self, shutdown: watch::Receiver<bool>) {
        let concurrency = self.settings.concurrency;
        crate::worker::run_slots(concurrency, shutdown, move |slot, shutdown| {
            let sender = self.clone();
            async move { sender.slot(slot, shutdown).await }
        })
        .await;
    }

    async fn slot(&self, slot: usize, mut shutdown: watch::Receiver<bool>) {
        let owner = format!("{}/{slot}", self.id);
        loop {
            if *shutdown.borrow() {
                return;
            }
            match self.store.claim_delivery(&owner, Timestamp::now(), self.lease().as_millis() as i64).await {
                Ok(Some(delivery)) => {
                    let lease = DeliveryLease {
                        org_id: delivery.org_id.clone(),
                        delivery_id: delivery.delivery_id.clone(),
                        owner: owner.clone(),
                    };
                    if let Err(e) = self.deliver(&delivery, &lease).await {
                        tracing::warn!(error = %e, delivery_id = %delivery.delivery_id, "delivery not recorded; it will be retried when its claim expires");
                    }
                    continue;
                }
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "could not claim a delivery"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.settings.poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// One attempt of a claimed delivery, recorded with what follows it.
    async fn deliver(&self, delivery: &Delivery, lease: &DeliveryLease) -> Result<(), ServiceError> {
        let attempt = delivery.attempts + 1;
        let started = Instant::now();
        let attempted_at = Timestamp::now();
        let outcome = self.attempt(delivery).await?;
        let latency_ms = started.elapsed().as_millis() as i64;
        metrics::counter!("mingle_webhook_attempts_total", "outcome" => outcome.label).increment(1);
        let next = match (&outcome.error, outcome.permanent) {
            (None, _) => DeliveryNext::Succeeded,
            (Some(_), true) => DeliveryNext::Failed,
            (Some(_), false) => match retry_delay(attempt as u32, outcome.retry_after, rand::random::<f64>()) {
                Some(wait) => {
                    DeliveryNext::RetryAt(Timestamp::from_millis(Timestamp::now().millis() + wait.as_millis() as i64))
                }
                None => DeliveryNext::Failed,
            },
        };
        tracing::info!(
            delivery_id = %delivery.delivery_id, run_id = %delivery.run_id, attempt,
            status = outcome.status_code, latency_ms, error = outcome.error.as_deref(), next = ?next,
            "webhook attempt"
        );
        let record = DeliveryAttempt {
            attempt,
            attempted_at,
            status_code: outcome.status_code,
            latency_ms,
            error: outcome.error,
        };
        if !self.store.record_attempt(lease, &record, next, Timestamp::now()).await? {
            tracing::warn!(delivery_id = %delivery.delivery_id, "lost the delivery's claim; the attempt is not recorded");
        }
        Ok(())
    }

    async fn attempt(&self, delivery: &Delivery) -> Result<Outcome, ServiceError> {
        let failed = |error: String, permanent: bool, label| Outcome {
            status_code: None,
            error: Some(error),
            retry_after: None,
            permanent,
            label,
        };
        let destination = match check_destination(&delivery.url, self.settings.insecure).await {
            Ok(d) => d,
            Err(Refusal::Refused(why)) => return Ok(failed(why, true, "refused")),
            Err(Refusal::Unresolved(why)) => return Ok(failed(why, false, "unresolved")),
        };
        let run = self.store.get_run(&delivery.org_id, &delivery.run_id).await?;
        let org = self.store.get_org(&delivery.org_id).await?;
        let (Some(run), Some(org)) = (run, org) else {
            return Ok(failed("the run or its org no longer exists".into(), true, "gone"));
        };
        let body = json!({
            "type": delivery.event_type,
            "timestamp": run.terminal_at.unwrap_or(delivery.created_at).to_rfc3339(),
            "data": (self.render)(run),
        })
        .to_string();
        let now = Timestamp::now();
        let mut secrets = vec![org.webhook_secret.as_str()];
        if let (Some(old), Some(until)) = (&org.previous_webhook_secret, org.previous_webhook_secret_until) {
            if until > now {
                secrets.push(old.as_str());
            }
        }
        let timestamp = now.millis().div_euclid(1000);
        let signature = signature_header(&secrets, &delivery.delivery_id, timestamp, body.as_bytes());

        let client = destination.client(self.settings.timeout)?;
        let response = client
            .post(destination.url)
            .header("content-type", "application/json")
            .header("webhook-id", &delivery.delivery_id)
            .header("webhook-timestamp", timestamp.to_string())
            .header("webhook-signature", signature)
            .body(body)
            .send()
            .await;
        Ok(match response {
            Ok(r) if r.status().is_success() => {
                let status_code = Some(r.status().as_u16());
                Outcome { status_code, error: None, retry_after: None, permanent: false, label: "delivered" }
            }
            Ok(r) => {
                let status = r.status();
                let retry_after = r
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| parse_retry_after(v, Timestamp::now().millis()));
                let error = match status.is_redirection() {
                    true => format!("HTTP {} (redirects are not followed)", status.as_u16()),
                    false => format!("HTTP {}", status.as_u16()),
                };
                let status_code = Some(status.as_u16());
                Outcome { status_code, error: Some(error), retry_after, permanent: false, label: "http_error" }
            }
            Err(e) if e.is_timeout() => {
                failed(format!("no answer within {} s", self.settings.timeout.as_secs()), false, "timeout")
            }
            // Without the URL: its user-info or query string may hold a receiver's secret.
            Err(e) => {
                failed(format!("connection failed: {}", error_chain(&e.without_url())), false, "connection_error")
            }
        })
    }
}

fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// Where a delivery may go: the URL and, for a host name, the checked addresses the
/// connection must use.
#[derive(Debug)]
pub struct Destination {
    pub url: Url,
    pub pinned: Option<(String, Vec<SocketAddr>)>,
}

impl Destination {
    /// An HTTP client that can only reach this destination's checked addresses: they
    /// replace DNS for its host (no second lookup), with no proxy (a proxy would
    /// resolve the host again) and no redirects.
    pub fn client(&self, timeout: Duration) -> Result<reqwest::Client, ServiceError> {
        let mut client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(timeout)
            .no_proxy()
            .user_agent(concat!("mingle-webhooks/", env!("CARGO_PKG_VERSION")));
        if let Some((host, addrs)) = &self.pinned {
            client = client.resolve_to_addrs(host, addrs);
        }
        client.build().map_err(|e| ServiceError::Internal(format!("webhook client: {e}")))
    }
}

/// Why a delivery may not go (now).
#[derive(Debug, PartialEq)]
pub enum Refusal {
    /// The URL or one of its addresses is not allowed: no attempt can succeed.
    Refused(String),
    /// The host did not resolve; it may later.
    Unresolved(String),
}

/// The SSRF guard: resolves the URL's host and refuses it unless every address is
/// public (`insecure` allows `http` and internal addresses, for local development).
pub async fn check_destination(url: &str, insecure: bool) -> Result<Destination, Refusal> {
    let url = Url::parse(url).map_err(|e| Refusal::Refused(format!("invalid URL: {e}")))?;
    if !(url.scheme() == "https" || (insecure && url.scheme() == "http")) {
        return Err(Refusal::Refused(format!("scheme '{}' refused: webhooks use https", url.scheme())));
    }
    let port = url.port_or_known_default().unwrap_or(443);
    let (name, addrs): (Option<String>, Vec<SocketAddr>) = match url.host() {
        Some(url::Host::Ipv4(ip)) => (None, vec![SocketAddr::new(ip.into(), port)]),
        Some(url::Host::Ipv6(ip)) => (None, vec![SocketAddr::new(ip.into(), port)]),
        Some(url::Host::Domain(host)) => {
            let found = tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
                .await
                .map_err(|_| {
                    Refusal::Unresolved(format!("'{host}' did not resolve within {} s", RESOLVE_TIMEOUT.as_secs()))
                })?
                .map_err(|e| Refusal::Unresolved(format!("cannot resolve '{host}': {e}")))?
                .collect::<Vec<_>>();
            if found.is_empty() {
                return Err(Refusal::Unresolved(format!("'{host}' has no address")));
            }
            (Some(host.to_owned()), found)
        }
        None => return Err(Refusal::Refused("the URL has no host".into())),
    };
    if !insecure {
        for addr in &addrs {
            if let Some(why) = internal_address(addr.ip()) {
                let host = url.host_str().unwrap_or_default();
                return Err(Refusal::Refused(format!("refused: '{host}' resolves to {} ({why})", addr.ip())));
            }
        }
    }
    Ok(Destination { url, pinned: name.map(|n| (n, addrs)) })
}

/// The operator's view of deliveries.
#[derive(Clone)]
pub struct WebhooksService {
    store: Arc<dyn Store>,
}

impl WebhooksService {
    pub fn new(store: Arc<dyn Store>) -> Self {
        Self { store }
    }

    /// The org's newest deliveries (at most `limit`), each with its last attempt.
    pub async fn list(&self, org_id: &str, failed_only: bool, limit: i64) -> Result<Vec<Delivery>, ServiceError> {
        if self.store.get_org(org_id).await?.is_none() {
            return Err(ServiceError::org_not_found(org_id));
        }
        Ok(self.store.list_deliveries(org_id, failed_only, limit).await?)
    }

    pub async fn get(&self, delivery_id: &str) -> Result<Delivery, ServiceError> {
        self.store.find_delivery(delivery_id).await?.ok_or_else(|| {
            ServiceError::not_found(
                "DELIVERY_NOT_FOUND",
                format!("No delivery '{delivery_id}'."),
                ("delivery_id", delivery_id),
            )
        })
    }

    pub async fn attempts(&self, delivery: &Delivery) -> Result<Vec<DeliveryAttempt>, ServiceError> {
        Ok(self.store.delivery_attempts(&delivery.org_id, &delivery.delivery_id).await?)
    }

    /// Queues a delivery again, due now, with the same `webhook-id`. A delivery a
    /// sender is attempting right now is `409 DELIVERY_IN_FLIGHT` (its attempt's outcome
    /// would overwrite the redelivery); try again in a few seconds.
    pub async fn redeliver(&self, delivery_id: &str) -> Result<Delivery, ServiceError> {
        let delivery = self.get(delivery_id).await?;
        if !self.store.redeliver(&delivery.org_id, delivery_id, Timestamp::now()).await? {
            return Err(ServiceError::conflict(
                "DELIVERY_IN_FLIGHT",
                format!(
                    "Delivery '{delivery_id}' is being sent right now; redeliver it once that attempt is recorded."
                ),
                ("delivery_id", delivery_id),
            ));
        }
        self.get(delivery_id).await
    }
}
