//! `GET /api/v1/…` on the OTLP/HTTP port: the query API scripts ask the running
//! collector for figures with. The receivers know nothing of the figures; the caller
//! hands in a [`QueryApi`] that answers a path and a query string, run off the async
//! threads (it reads the database). The token rules are those of the exports.

use super::auth::Token;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;

/// Where the API lives on the HTTP port; what follows is the endpoint's path.
pub const API_PREFIX: &str = "/api/v1";

/// One answer of the API: an HTTP status, the body's media type, and the body.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiReply {
    /// HTTP status code (200, 400, 404, 500…).
    pub status: u16,
    /// The `Content-Type` of the body.
    pub content_type: &'static str,
    /// The body.
    pub body: String,
}

/// Answers one request: the endpoint's path below [`API_PREFIX`] (`summary`,
/// `traces/0af7…`; empty for the prefix itself) and the raw query string (empty when
/// there is none).
pub type Answer = Arc<dyn Fn(&str, &str) -> ApiReply + Send + Sync>;

/// The query API's content: what answers its requests.
#[derive(Clone)]
pub struct QueryApi {
    /// Answers one request.
    pub answer: Answer,
}

impl std::fmt::Debug for QueryApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("QueryApi").finish_non_exhaustive()
    }
}

/// The handlers' state.
#[derive(Clone)]
pub(super) struct ApiCtx {
    pub(super) api: QueryApi,
    pub(super) token: Token,
}

/// Answers one API request: the token checked as for exports, then the answer made on
/// a blocking thread.
pub(super) async fn api_page(State(ctx): State<ApiCtx>, req: Request) -> Response {
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    if !ctx.token.allows(auth) {
        return (
            StatusCode::UNAUTHORIZED,
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::WWW_AUTHENTICATE, "Bearer"),
            ],
            r#"{"error":"missing or wrong bearer token: send Authorization: Bearer TOKEN, the token serve was started with"}"#,
        )
            .into_response();
    }
    let path = req
        .uri()
        .path()
        .strip_prefix(API_PREFIX)
        .unwrap_or_default()
        .trim_start_matches('/')
        .to_string();
    let query = req.uri().query().unwrap_or_default().to_string();
    let answer = ctx.api.answer.clone();
    let reply = match tokio::task::spawn_blocking(move || answer(&path, &query)).await {
        Ok(reply) => reply,
        Err(e) => ApiReply {
            status: 500,
            content_type: "application/json",
            body: serde_json::json!({ "error": format!("the answer failed: {e}") }).to_string(),
        },
    };
    let status = StatusCode::from_u16(reply.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (
        status,
        [(header::CONTENT_TYPE, reply.content_type)],
        reply.body,
    )
        .into_response()
}
