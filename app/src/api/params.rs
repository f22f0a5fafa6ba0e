//! The query string of an API request, read strictly: every parameter must be one the
//! endpoint takes, each at most once unless it may repeat (`model=a&model=b`), so a
//! typo (`modle=gpt-4o`) is an error that names the parameters there are rather than
//! a silently wider answer.

use crate::figures::{Direction, MAX_PAGE, Page};
use crate::selection::Selection;
use anyhow::{Context, bail};
use clap::ValueEnum;
use std::collections::BTreeMap;

/// The parameters every endpoint over a selection takes.
pub const SELECTION: &[&str] = &[
    "range", "from", "to", "model", "provider", "service", "status", "query",
];

/// The parameters of a sorted page, beside [`SELECTION`].
pub const PAGE: &[&str] = &["sort", "dir", "offset", "limit"];

/// The parameters that may repeat (any of the values).
const REPEATABLE: &[&str] = &["model", "provider", "service"];

/// A request's parameters by name.
#[derive(Debug, Default)]
pub struct Params(BTreeMap<String, Vec<String>>);

impl Params {
    /// Reads `query` (`a=1&b=2`, percent-encoded), allowing only `allowed`.
    pub fn parse(query: &str, allowed: &[&[&str]]) -> anyhow::Result<Params> {
        let mut map: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (key, value) in form_urlencoded::parse(query.as_bytes()) {
            if !allowed.iter().any(|set| set.contains(&key.as_ref())) {
                let names: Vec<&str> = allowed.iter().flat_map(|s| s.iter().copied()).collect();
                if names.is_empty() {
                    bail!("this endpoint takes no parameters, and {key:?} was given");
                }
                bail!(
                    "unknown parameter {key:?}; this endpoint takes {}",
                    names.join(", ")
                );
            }
            let values = map.entry(key.to_string()).or_default();
            if !values.is_empty() && !REPEATABLE.contains(&key.as_ref()) {
                bail!("{key} is given twice; give it once");
            }
            values.push(value.into_owned());
        }
        Ok(Params(map))
    }

    /// The value of a parameter given once, if it was.
    pub fn one(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.first()).map(String::as_str)
    }

    fn all(&self, key: &str) -> Vec<String> {
        self.0.get(key).cloned().unwrap_or_default()
    }

    /// The selection these parameters name (`range` is the command line's `--last`).
    pub fn selection(&self) -> Selection {
        let owned = |k: &str| self.one(k).map(str::to_string);
        Selection {
            last: owned("range"),
            from: owned("from"),
            to: owned("to"),
            models: self.all("model"),
            providers: self.all("provider"),
            services: self.all("service"),
            status: owned("status").unwrap_or_default(),
            query: owned("query").unwrap_or_default(),
        }
    }

    /// A choice among named values (`sort=cost`), or its default when not given.
    pub fn choice<T: ValueEnum + Default>(&self, key: &str) -> anyhow::Result<T> {
        let Some(text) = self.one(key) else {
            return Ok(T::default());
        };
        T::from_str(text, false).map_err(|_| {
            let names: Vec<String> = T::value_variants()
                .iter()
                .map(crate::figures::choice_name)
                .collect();
            anyhow::anyhow!("{key}={text:?}: use one of {}", names.join(", "))
        })
    }

    /// A whole number, or `default` when not given.
    pub fn number(&self, key: &str, default: u64) -> anyhow::Result<u64> {
        self.one(key).map_or(Ok(default), |t| {
            t.parse()
                .with_context(|| format!("{key}={t:?} is not a whole number"))
        })
    }

    /// The sort direction and page these parameters ask for (50 rows unless `limit`).
    pub fn page(&self) -> anyhow::Result<(Direction, Page)> {
        let limit = self.number("limit", 50)?;
        if limit > MAX_PAGE {
            bail!("limit={limit}: at most {MAX_PAGE} rows a page; ask for the next with offset");
        }
        Ok((
            self.choice("dir")?,
            Page::new(self.number("offset", 0)?, limit)?,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parameters_are_read_strictly_and_decoded() {
        let p = Params::parse(
            "range=1h&model=gpt-4o*&model=claude%2A&query=%22rate+limit%22",
            &[SELECTION],
        )
        .unwrap();
        let s = p.selection();
        assert_eq!(s.last.as_deref(), Some("1h"));
        assert_eq!(s.models, ["gpt-4o*", "claude*"]);
        assert_eq!(s.query, "\"rate limit\"");

        let err = |q: &str, allowed: &[&[&str]]| Params::parse(q, allowed).unwrap_err().to_string();
        assert!(
            err("modle=x", &[SELECTION])
                .starts_with("unknown parameter \"modle\"; this endpoint takes range, from")
        );
        assert!(err("range=1h&range=2h", &[SELECTION]).contains("given twice"));
        assert!(err("x=1", &[]).contains("takes no parameters"));

        let p = Params::parse("limit=5000", &[PAGE]).unwrap();
        assert!(p.page().unwrap_err().to_string().contains("at most 1000"));
        let p = Params::parse("dir=sideways", &[PAGE]).unwrap();
        assert_eq!(
            p.page().unwrap_err().to_string(),
            "dir=\"sideways\": use one of asc, desc"
        );
        let p = Params::parse("offset=-1", &[PAGE]).unwrap();
        assert!(
            p.page()
                .unwrap_err()
                .to_string()
                .contains("not a whole number")
        );
    }
}
