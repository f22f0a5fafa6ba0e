//! The model price table: bundled prices, overridable by the user's file, matched to
//! model names so that dated variants (`gpt-4o-2024-08-06`) find their base model.

use crate::error::StoreError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// The bundled price table, shipped in `assets/`.
const BUNDLED: &str = include_str!("../../assets/prices.toml");

/// Prices of one model, in USD per million tokens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Price {
    /// Uncached input tokens.
    pub input: f64,
    /// Output tokens.
    pub output: f64,
    /// Input tokens read from the prompt cache; the input price when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read: Option<f64>,
    /// Input tokens written to the prompt cache; the input price when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write: Option<f64>,
}

impl Price {
    /// USD per million tokens of each class a call's tokens fall in: plain input,
    /// cache reads, cache writes (both at the input price when not set), output. The
    /// store's one cost formula multiplies these by the call's tokens.
    pub fn rates(&self) -> [f64; 4] {
        [
            self.input,
            self.cache_read.unwrap_or(self.input),
            self.cache_write.unwrap_or(self.input),
            self.output,
        ]
    }
}

/// The file format: `[models."name"]` tables of [`Price`].
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct PriceFile {
    #[serde(default)]
    models: BTreeMap<String, Price>,
}

impl PriceFile {
    /// Parses and checks a price file's text; errors name the line and field.
    fn parse(text: &str) -> Result<PriceFile, String> {
        let file: PriceFile = toml::from_str(text).map_err(|e| e.to_string())?;
        for (name, price) in &file.models {
            for (what, v) in [
                ("input", Some(price.input)),
                ("output", Some(price.output)),
                ("cache_read", price.cache_read),
                ("cache_write", price.cache_write),
            ] {
                if let Some(v) = v
                    && !(v.is_finite() && v >= 0.0)
                {
                    return Err(format!(
                        "model {name:?}: {what} price {v} is not a non-negative number"
                    ));
                }
            }
        }
        Ok(file)
    }

    /// Reads and checks the price file at `path`.
    fn read(path: &Path) -> Result<PriceFile, StoreError> {
        let text = std::fs::read_to_string(path).map_err(|source| StoreError::Io {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text).map_err(|message| StoreError::Prices {
            path: path.to_owned(),
            message,
        })
    }
}

/// Prices by model name (lower case), bundled entries overridden by the user's.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PriceTable {
    models: BTreeMap<String, Price>,
}

impl PriceTable {
    /// The table bundled with the program.
    pub fn bundled() -> Self {
        Self::parse(BUNDLED).expect("the bundled price table parses")
    }

    /// Parses a price file's text; errors name the line and field.
    pub fn parse(text: &str) -> Result<Self, String> {
        PriceFile::parse(text).map(Self::from_file)
    }

    /// Reads a user's price file.
    pub fn load(path: &Path) -> Result<Self, StoreError> {
        PriceFile::read(path).map(Self::from_file)
    }

    /// The table of a checked file, names in lower case.
    fn from_file(file: PriceFile) -> Self {
        Self {
            models: file
                .models
                .into_iter()
                .map(|(name, price)| (name.to_lowercase(), price))
                .collect(),
        }
    }

    /// The table as a price file's text (what [`PriceTable::parse`] reads back).
    pub fn to_toml(&self) -> String {
        let file = PriceFile {
            models: self.models.clone(),
        };
        toml::to_string(&file).expect("prices serialize")
    }

    /// This table with `other`'s entries added or replacing ours.
    pub fn overridden_by(mut self, other: PriceTable) -> Self {
        self.models.extend(other.models);
        self
    }

    /// Sets `model`'s price in the price file at `path` (created when missing), keeping
    /// its other entries. A file that does not parse is left alone and named in the error.
    pub fn save_entry(path: &Path, model: &str, price: Price) -> Result<(), StoreError> {
        let mut file = if path.exists() {
            PriceFile::read(path)?
        } else {
            PriceFile::default()
        };
        file.models.insert(model.to_string(), price);
        let text = toml::to_string(&file).map_err(|e| StoreError::Prices {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        let io = |source| StoreError::Io {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        crate::output::write_file(path, text.as_bytes(), crate::output::Replace::Allowed)
    }

    /// Sets one model's price.
    pub fn set(&mut self, model: &str, price: Price) {
        self.models.insert(model.to_lowercase(), price);
    }

    /// The price of a model: an exact (case-insensitive) entry, else the longest entry
    /// the name extends with `-` or `@` (dated and versioned variants), after dropping a
    /// `provider/` prefix.
    pub fn lookup(&self, model: &str) -> Option<Price> {
        let lower = model.to_lowercase();
        let name = lower.rsplit('/').next().unwrap_or(&lower);
        if let Some(p) = self.models.get(name) {
            return Some(*p);
        }
        self.models
            .iter()
            .filter(|(key, _)| {
                name.len() > key.len()
                    && name.starts_with(key.as_str())
                    && matches!(name.as_bytes()[key.len()], b'-' | b'@' | b':')
            })
            .max_by_key(|(key, _)| key.len())
            .map(|(_, p)| *p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dated_variants_find_their_base_model_and_the_longest_key_wins() {
        let t = PriceTable::bundled();
        let base = t.lookup("gpt-4o").unwrap();
        assert_eq!(t.lookup("gpt-4o-2024-08-06"), Some(base));
        let mini = t.lookup("gpt-4o-mini").unwrap();
        assert_ne!(mini, base);
        assert_eq!(t.lookup("gpt-4o-mini-2024-07-18"), Some(mini));
        assert_eq!(t.lookup("openai/GPT-4o"), Some(base));
        assert_eq!(t.lookup("gpt-4oz"), None);
        assert_eq!(t.lookup("no-such-model"), None);
    }

    #[test]
    fn user_entries_override_bundled_ones() {
        let user = PriceTable::parse("[models.\"gpt-4o\"]\ninput = 1.0\noutput = 2.0\n").unwrap();
        let t = PriceTable::bundled().overridden_by(user);
        assert_eq!(t.lookup("gpt-4o-2024-08-06").unwrap().input, 1.0);
    }

    #[test]
    fn a_saved_entry_joins_the_file_and_reads_back() {
        let dir = std::env::temp_dir().join(format!("prices-save-{}", std::process::id()));
        let path = dir.join("sub").join("prices.toml");
        let p = Price {
            input: 1.5,
            output: 2.0,
            cache_read: Some(0.5),
            cache_write: None,
        };
        PriceTable::save_entry(&path, "my-model", p).unwrap();
        PriceTable::save_entry(
            &path,
            "other",
            Price {
                cache_read: None,
                ..p
            },
        )
        .unwrap();
        let t = PriceTable::load(&path).unwrap();
        assert_eq!(t.lookup("my-model"), Some(p));
        assert_eq!(t.lookup("other").unwrap().input, 1.5);
        std::fs::write(&path, "not toml [").unwrap();
        assert!(PriceTable::save_entry(&path, "x", p).is_err());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "not toml [");
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn bad_files_name_the_problem() {
        let e = PriceTable::parse("[models.x]\ninput = 1.0\n").unwrap_err();
        assert!(e.contains("output"), "{e}");
        let e = PriceTable::parse("[models.x]\ninput = -1.0\noutput = 1.0\n").unwrap_err();
        assert!(e.contains("not a non-negative"), "{e}");
        let e = PriceTable::parse("[models.x]\ninput = 1.0\noutput = 1.0\ncahce_read = 2\n")
            .unwrap_err();
        assert!(e.contains("cahce_read"), "{e}");
    }
}
