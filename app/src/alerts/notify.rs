//! Telling people: a desktop notification when a rule fires, and the rule's webhook
//! POSTed for each firing and resolution (Slack-compatible `text` plus structured
//! fields), with a timeout and a few retries. Everything runs on a thread of its own;
//! sending never waits, so a hung or failing server delays nothing else.

use super::rules::Rule;
use crate::alerts::rules::RuleText;
use std::time::Duration;
use store::AlertEvent;
use tokio::sync::mpsc;

/// How long one webhook attempt may take.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per webhook delivery (the first and the retries).
pub const WEBHOOK_ATTEMPTS: u32 = 3;

/// Webhook deliveries under way: URL and what they tell, by delivery number.
type Pending = std::sync::Arc<std::sync::Mutex<std::collections::BTreeMap<u64, (String, String)>>>;

/// One event to tell.
struct Note {
    event: AlertEvent,
    webhook: Option<String>,
    body: serde_json::Value,
}

/// How long deliveries under way may still take once the program stops; those still
/// waiting then are named in the log as not delivered.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// The sending thread's handle; when the last clone is dropped, the thread finishes the
/// deliveries under way (within [`SHUTDOWN_GRACE`]) and is joined.
#[derive(Clone)]
pub struct Notifier {
    inner: std::sync::Arc<Sender>,
}

/// The channel to the sending thread, and the thread.
struct Sender {
    tx: Option<mpsc::UnboundedSender<Note>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Sender {
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Notifier {
    /// Starts the sender; `desktop` shows desktop notifications of firing alerts.
    pub fn start(desktop: bool) -> Notifier {
        let (tx, mut rx) = mpsc::unbounded_channel::<Note>();
        let thread = std::thread::Builder::new()
            .name("alert-notify".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime for notifications");
                let client = reqwest::Client::builder()
                    .timeout(WEBHOOK_TIMEOUT)
                    .build()
                    .expect("an HTTP client");
                runtime.block_on(async move {
                    let mut tasks = tokio::task::JoinSet::new();
                    let pending = Pending::default();
                    let mut next_id = 0u64;
                    while let Some(note) = rx.recv().await {
                        if desktop && note.event.state == "firing" {
                            let e = note.event.clone();
                            tasks.spawn_blocking(move || show_desktop(&e));
                        }
                        if let Some(url) = note.webhook {
                            let (client, pending) = (client.clone(), pending.clone());
                            next_id += 1;
                            let id = next_id;
                            let what = format!("{} {}", note.event.rule, note.event.state);
                            pending.lock().expect("pending lock").insert(id, (url.clone(), what));
                            tasks.spawn(async move {
                                deliver(&client, &url, &note.body).await;
                                pending.lock().expect("pending lock").remove(&id);
                            });
                        }
                        while tasks.try_join_next().is_some() {}
                    }
                    // Stopping: deliveries under way get a short grace, then are named.
                    let finished = tokio::time::timeout(SHUTDOWN_GRACE, async {
                        while tasks.join_next().await.is_some() {}
                    })
                    .await;
                    if finished.is_err() {
                        for (url, what) in pending.lock().expect("pending lock").values() {
                            tracing::warn!(
                                "alert webhook {url}: no answer by shutdown; the notification of '{what}' was not delivered (it is in the alert history)"
                            );
                        }
                        tasks.abort_all();
                    }
                });
            })
            .expect("spawn the notification thread");
        Notifier {
            inner: std::sync::Arc::new(Sender {
                tx: Some(tx),
                thread: Some(thread),
            }),
        }
    }

    /// Queues `event` of `rule` for telling; returns at once.
    pub fn send(&self, event: &AlertEvent, rule: &Rule) {
        let Some(tx) = &self.inner.tx else {
            return;
        };
        let _ = tx.send(Note {
            event: event.clone(),
            webhook: rule.webhook.clone(),
            body: webhook_body(event, rule),
        });
    }
}

/// The webhook's JSON: `text` for Slack and chat tools, and the fields for machines.
pub fn webhook_body(event: &AlertEvent, rule: &Rule) -> serde_json::Value {
    serde_json::json!({
        "text": format!("[{}] {}", event.severity.to_uppercase(), event.message),
        "source": "llm-observatory",
        "rule": event.rule,
        "state": event.state,
        "severity": event.severity,
        "scope": event.scope,
        "metric": rule.metric,
        "value": event.value,
        "threshold": event.threshold,
        "condition": rule.condition(),
        "window_seconds": rule.window.0.as_secs_f64(),
        "time": crate::timearg::rfc3339(event.time_ns),
    })
}

/// POSTs `body` to `url` as the alert webhooks are (a timeout, a few retries), from a
/// thread that may wait: for the digest's webhook.
pub fn deliver_blocking(url: &str, body: &serde_json::Value) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let client = reqwest::Client::builder().timeout(WEBHOOK_TIMEOUT).build();
    match (runtime, client) {
        (Ok(rt), Ok(client)) => rt.block_on(deliver(&client, url, body)),
        _ => tracing::warn!("webhook {url}: no HTTP client could be made; not delivered"),
    }
}

/// POSTs `body`, retrying server errors and timeouts with a growing pause.
async fn deliver(client: &reqwest::Client, url: &str, body: &serde_json::Value) {
    for attempt in 1..=WEBHOOK_ATTEMPTS {
        let outcome = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body.to_string())
            .send()
            .await;
        let retry = match &outcome {
            Ok(r) if r.status().is_success() => return,
            Ok(r) => {
                let s = r.status();
                tracing::warn!("webhook {url}: HTTP {s} (attempt {attempt})");
                s.is_server_error() || s == reqwest::StatusCode::TOO_MANY_REQUESTS
            }
            Err(e) => {
                tracing::warn!("webhook {url}: {e} (attempt {attempt})");
                true
            }
        };
        if !retry {
            return;
        }
        if attempt < WEBHOOK_ATTEMPTS {
            tokio::time::sleep(Duration::from_millis(500 * 2u64.pow(attempt - 1))).await;
        }
    }
    tracing::warn!("webhook {url}: gave up after {WEBHOOK_ATTEMPTS} attempts");
}

fn show_desktop(event: &AlertEvent) {
    let shown = notify_rust::Notification::new()
        .summary(&format!("LLM Observatory: {}", event.rule))
        .body(&event.message)
        .appname("LLM Observatory")
        .icon("llm-observatory")
        .show();
    if let Err(e) = shown {
        tracing::info!("desktop notification not shown: {e}");
    }
}
