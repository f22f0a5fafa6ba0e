//! The view a snapshot opens on: which view, its filters frozen to the range shown
//! when it was saved (so "the last hour" stays that hour), and the Inspector's query
//! when it was saved from one. Written into the snapshot as JSON
//! ([`store::SnapshotMark::view`]) by the window and by `snapshot`, read back when the
//! window opens the file.

use super::filter_state::{FilterState, RangePreset, StatusChoice};
use super::views::registry;
use serde::{Deserialize, Serialize};

/// Where a snapshot opens.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OpeningView {
    /// The view's label, as the navigation names it (`Overview`, `Models`…).
    pub view: String,
    /// The filter bar, its range fixed.
    pub filter: FilterState,
    /// The Inspector's query, when it opens on the Inspector.
    #[serde(default)]
    pub inspector_query: Option<String>,
}

impl OpeningView {
    /// The window's view and filters, the range fixed to `window` (Unix ns) as shown.
    pub fn frozen(view: &str, filter: &FilterState, window: Option<(i64, i64)>) -> OpeningView {
        let mut filter = filter.clone();
        if let Some((from, to)) = window {
            filter.range = RangePreset::Custom;
            filter.custom_from = rfc3339(from);
            filter.custom_to = rfc3339(to);
        }
        filter.follow_live = false;
        filter.paused_at_ns = None;
        OpeningView {
            view: view.to_string(),
            filter,
            inspector_query: None,
        }
    }

    /// The view of a selection the command line names: its range, models, outcome and
    /// first service in the filter bar; with a query, the Inspector showing it. A view
    /// label is matched without regard to case; an unknown one is an error listing
    /// them.
    pub fn of_selection(
        view: Option<&str>,
        selection: &store::Filter,
        status: &str,
        query: &str,
    ) -> Result<OpeningView, String> {
        let labels: Vec<&str> = registry().iter().map(|e| e.label).collect();
        let inspector = super::views::inspector::INSPECTOR;
        let label = match view {
            Some(v) => *labels
                .iter()
                .find(|l| l.eq_ignore_ascii_case(v))
                .ok_or_else(|| format!("--view {v:?}: use one of {}", labels.join(", ")))?,
            None if !query.is_empty() => inspector,
            None => labels[0],
        };
        let mut filter = FilterState {
            range: RangePreset::All,
            models: selection.models.clone(),
            status: match status {
                "ok" => StatusChoice::Ok,
                "error" => StatusChoice::Error,
                _ => StatusChoice::All,
            },
            service: selection.services.first().cloned().unwrap_or_default(),
            ..FilterState::default()
        };
        if let Some(from) = selection.from_ns {
            filter.range = RangePreset::Custom;
            filter.custom_from = rfc3339(from);
            filter.custom_to = selection.to_ns.map(rfc3339).unwrap_or_default();
        }
        filter.follow_live = false;
        Ok(OpeningView {
            view: label.to_string(),
            filter,
            inspector_query: (label == inspector && !query.is_empty()).then(|| query.to_string()),
        })
    }

    /// As written into the snapshot.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a view serializes")
    }

    /// Read back from a snapshot; `None` when it was written by something else.
    pub fn from_json(text: &str) -> Option<OpeningView> {
        serde_json::from_str(text).ok()
    }
}

/// A moment as RFC 3339 UTC, as short as it is exact (`2026-12-07T11:00:00Z`): the
/// filter bar shows it, and every time zone reads it the same.
fn rfc3339(ns: i64) -> String {
    chrono::DateTime::<chrono::Utc>::from_timestamp_nanos(ns)
        .to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_relative_range_is_frozen_to_what_was_shown() {
        let live = FilterState {
            range: RangePreset::Hour1,
            models: vec!["gpt-4o*".into()],
            ..FilterState::default()
        };
        let v = OpeningView::frozen(
            "Models",
            &live,
            Some((3_600_000_000_000, 7_200_000_000_000)),
        );
        let back = OpeningView::from_json(&v.to_json()).unwrap();
        assert_eq!(back, v);
        assert_eq!(back.filter.range, RangePreset::Custom);
        assert_eq!(back.filter.custom_from, "1970-01-01T01:00:00Z");
        let resolved = back.filter.resolve(i64::MAX / 2).unwrap();
        assert_eq!(
            resolved.window,
            Some((3_600_000_000_000, 7_200_000_000_000))
        );
        assert_eq!(resolved.filter.models, ["gpt-4o*"]);
    }

    #[test]
    fn the_command_line_names_a_view_or_gets_the_list() {
        let f = store::Filter::default();
        let v = OpeningView::of_selection(Some("models"), &f, "error", "").unwrap();
        assert_eq!(
            (v.view.as_str(), v.filter.status),
            ("Models", StatusChoice::Error)
        );
        let v = OpeningView::of_selection(None, &f, "", "latency>2s").unwrap();
        assert_eq!(v.inspector_query.as_deref(), Some("latency>2s"));
        let e = OpeningView::of_selection(Some("charts"), &f, "", "").unwrap_err();
        assert!(
            e.starts_with("--view \"charts\": use one of Overview, Latency"),
            "{e}"
        );
    }
}
