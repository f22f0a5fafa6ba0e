//! Telling people: a desktop notification when a rule fires, and the rule's webhook
//! POSTed for each firing and resolution (Slack-compatible `text` plus structured
//! fields), with a timeout and a few retries. Everything runs on a thread of its own;
//! sending never waits, so a hung or failing server delays nothing else.

use super::rules::Rule;
use std::time::Duration;
use store::AlertEvent;
use tokio::sync::mpsc;

/// How long one webhook attempt may take.
pub const WEBHOOK_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts per webhook delivery (the first and the retries).
pub const WEBHOOK_ATTEMPTS: u32 = 3;

/// One event to tell.
struct Note {
    event: AlertEvent,
    webhook: Option<String>,
    body: serde_json::Value,
}

/// The sending thread's handle.
#[derive(Clone)]
pub struct Notifier {
    tx: mpsc::UnboundedSender<Note>,
}

impl Notifier {
    /// Starts the sender; `desktop` shows desktop notifications of firing alerts.
    pub fn start(desktop: bool) -> Notifier {
        let (tx, mut rx) = mpsc::unbounded_channel::<Note>();
        std::thread::Builder::new()
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
                    while let Some(note) = rx.recv().await {
                        if desktop && note.event.state == "firing" {
                            let e = note.event.clone();
                            tasks.spawn_blocking(move || show_desktop(&e));
                        }
                        if let Some(url) = note.webhook {
                            let client = client.clone();
                            tasks.spawn(async move { deliver(&client, &url, &note.body).await });
                        }
                        while tasks.try_join_next().is_some() {}
                    }
                    // Let deliveries under way finish (each is bounded by its timeouts).
                    while tasks.join_next().await.is_some() {}
                });
            })
            .expect("spawn the notification thread");
        Notifier { tx }
    }

    /// Queues `event` of `rule` for telling; returns at once.
    pub fn send(&self, event: &AlertEvent, rule: &Rule) {
        let _ = self.tx.send(Note {
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
                tracing::warn!("alert webhook {url}: HTTP {s} (attempt {attempt})");
                s.is_server_error() || s == reqwest::StatusCode::TOO_MANY_REQUESTS
            }
            Err(e) => {
                tracing::warn!("alert webhook {url}: {e} (attempt {attempt})");
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
    tracing::warn!("alert webhook {url}: gave up after {WEBHOOK_ATTEMPTS} attempts");
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
