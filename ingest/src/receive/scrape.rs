//! `GET /metrics` on the OTLP/HTTP port: a Prometheus scrape of what is stored. The
//! receivers know nothing of the figures; the caller hands in a [`Scrape`] that
//! renders them, run off the async threads (it reads the database).

use super::auth::Token;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// What renders a scrape's body: the exposition text, or why it could not (answered
/// as 500 with the reason, so the scraper's target page shows it).
pub type Render = Arc<dyn Fn() -> Result<String, String> + Send + Sync>;

/// The `GET /metrics` endpoint's content: its media type and its renderer.
#[derive(Clone)]
pub struct Scrape {
    /// The `Content-Type` of the body (OpenMetrics or Prometheus text).
    pub content_type: &'static str,
    /// Renders one scrape.
    pub render: Render,
}

impl std::fmt::Debug for Scrape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrape")
            .field("content_type", &self.content_type)
            .finish_non_exhaustive()
    }
}

/// The handler's state.
#[derive(Clone)]
pub(super) struct ScrapeCtx {
    pub(super) scrape: Scrape,
    pub(super) token: Token,
}

/// Answers one scrape: the token checked as for exports (Prometheus sends it with
/// `authorization: {credentials: …}`), then the body rendered on a blocking thread.
pub(super) async fn metrics_page(State(ctx): State<ScrapeCtx>, req: Request) -> Response {
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !ctx.token.allows(auth) {
        return plain(
            StatusCode::UNAUTHORIZED,
            "missing or wrong bearer token\n".into(),
        );
    }
    let render = ctx.scrape.render.clone();
    match tokio::task::spawn_blocking(move || render()).await {
        Ok(Ok(body)) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, ctx.scrape.content_type)],
            body,
        )
            .into_response(),
        Ok(Err(reason)) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the metrics could not be read: {reason}\n"),
        ),
        Err(e) => plain(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the metrics could not be read: {e}\n"),
        ),
    }
}

fn plain(status: StatusCode, message: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        message,
    )
        .into_response()
}
