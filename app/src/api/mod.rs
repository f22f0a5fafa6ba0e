//! The query API `serve` answers on its HTTP port (`GET /api/v1/…`, the same token as
//! the exports): the summary, models, series, traces, one trace and calls of a
//! selection, as JSON, the very figures the command line prints with `--json` (both
//! call [`crate::figures`]), and the OpenAPI document describing them.

mod params;

use crate::figures::{self, Metric};
use crate::timearg::duration_ns;
use ingest::receive::{ApiReply, QueryApi};
use params::{PAGE, Params, SELECTION};
use serde_json::{Value, json};
use std::sync::Arc;
use store::Database;

/// The OpenAPI 3.1 document of the API, served at `/api/v1/openapi.json`.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The endpoints, as the index and a 404 list them.
const ENDPOINTS: &[&str] = &[
    "summary",
    "models",
    "series",
    "traces",
    "traces/{trace_id}",
    "calls",
    "openapi.json",
];

/// The parameters of `series`, beside the selection's.
const SERIES: &[&str] = &["metric", "step", "by"];

/// The API over `db`: each request reads on a new reader.
pub fn endpoint(db: Arc<dyn Database>) -> QueryApi {
    QueryApi {
        answer: Arc::new(move |path, query| answer(db.as_ref(), path, query)),
    }
}

/// Why a request got no figures: the asker's mistake, a missing thing, or the
/// database's failure.
enum Refusal {
    Bad(anyhow::Error),
    NotFound(String),
    Failed(anyhow::Error),
}

impl From<anyhow::Error> for Refusal {
    fn from(e: anyhow::Error) -> Refusal {
        if figures::is_bad_request(&e) {
            Refusal::Bad(e)
        } else {
            Refusal::Failed(e)
        }
    }
}

impl From<store::StoreError> for Refusal {
    fn from(e: store::StoreError) -> Refusal {
        Refusal::from(anyhow::Error::from(e))
    }
}

/// Answers one request for `path` (below `/api/v1/`) with the raw `query` string.
pub fn answer(db: &dyn Database, path: &str, query: &str) -> ApiReply {
    if path == "openapi.json" {
        return ApiReply {
            status: 200,
            content_type: "application/json",
            body: OPENAPI.to_string(),
        };
    }
    let (status, body) = match figures_of(db, path.trim_end_matches('/'), query) {
        Ok(v) => (200, v),
        Err(Refusal::Bad(e)) => (400, json!({ "error": format!("{e:#}") })),
        Err(Refusal::NotFound(what)) => (404, json!({ "error": what })),
        Err(Refusal::Failed(e)) => (
            500,
            json!({ "error": format!("the database could not answer: {e:#}") }),
        ),
    };
    ApiReply {
        status,
        content_type: "application/json",
        body: body.to_string(),
    }
}

fn figures_of(db: &dyn Database, path: &str, query: &str) -> Result<Value, Refusal> {
    let selection = |params: &Params| params.selection().filter("");
    match path {
        "" => {
            Params::parse(query, &[])?;
            Ok(json!({
                "endpoints": ENDPOINTS.iter().map(|e| format!("{}/{e}", ingest::receive::API_PREFIX)).collect::<Vec<_>>(),
                "database": db.describe(),
            }))
        }
        "summary" => {
            let p = Params::parse(query, &[SELECTION])?;
            let filter = selection(&p)?;
            Ok(figures::summary(db.reader()?.as_mut(), &filter)?)
        }
        "models" => {
            let p = Params::parse(query, &[SELECTION])?;
            let filter = selection(&p)?;
            Ok(figures::models(db.reader()?.as_mut(), &filter)?)
        }
        "series" => {
            let p = Params::parse(query, &[SELECTION, SERIES])?;
            let filter = selection(&p)?;
            let metric: Metric = p.choice("metric")?;
            let step = p.one("step").unwrap_or("1h");
            let step_ns = duration_ns(step).map_err(|e| Refusal::Bad(e.context("step")))?;
            let by_model = match p.one("by") {
                None => false,
                Some("model") => true,
                Some(other) => {
                    return Err(Refusal::Bad(anyhow::anyhow!(
                        "by={other:?}: series split by model only (by=model)"
                    )));
                }
            };
            Ok(figures::series(
                db.reader()?.as_mut(),
                &filter,
                metric,
                step_ns,
                by_model,
            )?)
        }
        "traces" => {
            let p = Params::parse(query, &[SELECTION, PAGE])?;
            let filter = selection(&p)?;
            let (dir, page) = p.page()?;
            Ok(figures::traces(
                db.reader()?.as_mut(),
                &filter,
                p.choice("sort")?,
                dir,
                page,
            )?)
        }
        "calls" => {
            let p = Params::parse(query, &[SELECTION, PAGE])?;
            let filter = selection(&p)?;
            let (dir, page) = p.page()?;
            Ok(figures::calls(
                db.reader()?.as_mut(),
                &filter,
                p.choice("sort")?,
                dir,
                page,
            )?)
        }
        other => match other.strip_prefix("traces/") {
            Some(id_text) => {
                Params::parse(query, &[])?;
                let id = store::hex_to_trace_id(id_text).ok_or_else(|| {
                    Refusal::Bad(anyhow::anyhow!(
                        "{id_text:?} is not a trace id (32 hex digits, as /api/v1/traces lists them)"
                    ))
                })?;
                figures::trace(db.reader()?.as_mut(), id)?.ok_or_else(|| {
                    Refusal::NotFound(format!("no trace {id_text} in {}", db.describe()))
                })
            }
            None => Err(Refusal::NotFound(format!(
                "no endpoint /api/v1/{other}; there are {}",
                ENDPOINTS.join(", ")
            ))),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::ValueEnum;

    /// The query parameters the document gives a path, its `$ref`s resolved.
    fn documented(doc: &Value, path: &str) -> Vec<String> {
        let mut names: Vec<String> = doc["paths"][path]["get"]["parameters"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|p| match p["$ref"].as_str() {
                Some(r) => &doc["components"]["parameters"][r.rsplit('/').next().unwrap()],
                None => p,
            })
            .filter(|p| p["in"] == "query")
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_document_lists_every_endpoint_with_the_parameters_it_takes() {
        let doc: Value = serde_json::from_str(OPENAPI).unwrap();
        let mut paths: Vec<&str> = doc["paths"]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.trim_start_matches('/'))
            .collect();
        paths.sort();
        let mut endpoints = ENDPOINTS.to_vec();
        endpoints.sort();
        assert_eq!(paths, endpoints);
        let takes = |sets: &[&[&str]]| {
            let mut v: Vec<String> = sets
                .iter()
                .flat_map(|s| s.iter().map(|n| n.to_string()))
                .collect();
            v.sort();
            v
        };
        assert_eq!(documented(&doc, "/summary"), takes(&[SELECTION]));
        assert_eq!(documented(&doc, "/models"), takes(&[SELECTION]));
        assert_eq!(documented(&doc, "/series"), takes(&[SELECTION, SERIES]));
        assert_eq!(documented(&doc, "/traces"), takes(&[SELECTION, PAGE]));
        assert_eq!(documented(&doc, "/calls"), takes(&[SELECTION, PAGE]));
        assert!(documented(&doc, "/traces/{trace_id}").is_empty());
        // Each choice the document offers is one the code takes, and no other.
        let offered = |path: &str, name: &str| -> Vec<String> {
            let params = doc["paths"][path]["get"]["parameters"].as_array().unwrap();
            let p = params.iter().find(|p| p["name"] == name).unwrap();
            p["schema"]["enum"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(
            offered("/series", "metric"),
            Metric::value_variants()
                .iter()
                .map(figures::choice_name)
                .collect::<Vec<_>>()
        );
        assert_eq!(
            offered("/traces", "sort"),
            figures::TraceOrder::value_variants()
                .iter()
                .map(figures::choice_name)
                .collect::<Vec<_>>()
        );
        assert_eq!(
            offered("/calls", "sort"),
            figures::CallOrder::value_variants()
                .iter()
                .map(figures::choice_name)
                .collect::<Vec<_>>()
        );
    }
}
