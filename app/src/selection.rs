//! A selection as text, the way the command line (`--last 1h --model 'gpt-4o*'`) and the
//! query API (`?range=1h&model=gpt-4o*`) spell it, turned into the store's filter by one
//! code path, so both read the same calls for the same words.

use crate::timearg::{duration_ns, now_ns, timestamp_ns};
use anyhow::{Context, bail};
use store::{Filter, Query, StatusFilter};

/// The words of a selection: a time range, models, providers, services, an outcome and a
/// query in the Inspector's language.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Selection {
    /// Only the last DURATION (`15m`, `1h`, `7d`), ending now.
    pub last: Option<String>,
    /// From this time (RFC 3339, a date, or Unix seconds).
    pub from: Option<String>,
    /// Until this time (exclusive).
    pub to: Option<String>,
    /// Model globs (`gpt-4o*`); any of them.
    pub models: Vec<String>,
    /// Providers; any of them.
    pub providers: Vec<String>,
    /// Services; any of them.
    pub services: Vec<String>,
    /// `all`, `ok` or `error`; empty means all.
    pub status: String,
    /// The Inspector's query (words, "phrases", model:, latency>2s…); empty for none.
    pub query: String,
}

impl Selection {
    /// The store filter these words select, or what is wrong with them. `flag` names how
    /// the caller spells an option (`--` on the command line, nothing in the API).
    pub fn filter(&self, flag: &str) -> anyhow::Result<Filter> {
        let mut f = Filter {
            models: self.models.clone(),
            providers: self.providers.clone(),
            services: self.services.clone(),
            ..Filter::default()
        };
        if self.last.is_some() && (self.from.is_some() || self.to.is_some()) {
            bail!("{flag}last gives the whole range: leave out {flag}from and {flag}to");
        }
        if let Some(last) = &self.last {
            f.from_ns = Some(now_ns() - duration_ns(last).with_context(|| format!("{flag}last"))?);
        }
        if let Some(from) = &self.from {
            f.from_ns = Some(timestamp_ns(from).with_context(|| format!("{flag}from"))?);
        }
        if let Some(to) = &self.to {
            f.to_ns = Some(timestamp_ns(to).with_context(|| format!("{flag}to"))?);
        }
        f.status = match self.status.as_str() {
            "" | "all" => StatusFilter::All,
            "ok" => StatusFilter::Ok,
            "error" => StatusFilter::Error,
            other => bail!("{flag}status {other:?}: use all, ok or error"),
        };
        if !self.query.is_empty() {
            let query = Query::parse(&self.query)
                .with_context(|| format!("{flag}query {:?}", self.query))?;
            query.apply(&mut f);
        }
        f.validate()?;
        Ok(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_words_become_the_filter_and_bad_words_say_which_option() {
        let s = Selection {
            from: Some("2026-11-27".into()),
            to: Some("2026-11-28T00:00:00Z".into()),
            models: vec!["gpt-4o*".into()],
            status: "error".into(),
            query: "latency>2s".into(),
            ..Selection::default()
        };
        let f = s.filter("--").unwrap();
        assert_eq!(f.from_ns, Some(1_795_737_600_000_000_000));
        assert_eq!(f.to_ns, Some(1_795_824_000_000_000_000));
        assert_eq!(f.models, ["gpt-4o*"]);
        assert_eq!(f.status, StatusFilter::Error);
        assert_eq!(f.latency_ms.len(), 1);

        let bad = |s: Selection| format!("{:#}", s.filter("").unwrap_err());
        assert!(
            bad(Selection {
                status: "failed".into(),
                ..Selection::default()
            })
            .starts_with("status \"failed\"")
        );
        assert!(
            bad(Selection {
                last: Some("soon".into()),
                ..Selection::default()
            })
            .starts_with("last: ")
        );
        assert!(
            bad(Selection {
                last: Some("1h".into()),
                from: Some("2026-11-27".into()),
                ..Selection::default()
            })
            .contains("leave out from")
        );
        assert!(
            bad(Selection {
                query: "latency>".into(),
                ..Selection::default()
            })
            .starts_with("query \"latency>\"")
        );
    }
}
