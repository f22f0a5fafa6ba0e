//! Alerts: threshold and spike rules evaluated on live data in the background, their
//! history in the database, the desktop and webhook notifications. Used by the window
//! and by `serve`.

pub mod engine;
pub mod evaluator;
pub mod measure;
pub mod notify;
pub mod rules;

pub use evaluator::{AlertStatus, Evaluation, Evaluator};
pub use notify::{Notifier, deliver_blocking};
pub use rules::{Rule, Rules};

/// How often rules are evaluated.
pub const EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// The rules file by default: `alerts.toml` in the platform config directory.
pub fn default_rules_path() -> Option<std::path::PathBuf> {
    crate::paths::config_file("alerts.toml")
}
