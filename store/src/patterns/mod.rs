//! Prompt patterns: which template a call's prompt was made from, learned from the calls
//! at ingest ([`PatternMiner`]) or taken from what the instrumentation declared, so that
//! a team sees which of its prompts costs the most whatever was filled into them.

mod declared;
mod miner;
mod tokens;

pub use declared::declared_prompt;
pub use miner::{CallRef, DeclaredPrompt, Learned, PatternMiner, PatternRecord};

/// A template's text cut into its fixed parts (`false`) and its variable slots
/// (`true`: `‹number›`-style masked values and `‹*›` learned ones), in order, for views
/// that show the slots apart. A declared template is all fixed text.
pub fn template_parts(template: &str) -> Vec<(&str, bool)> {
    let mut parts = Vec::new();
    let mut rest = template;
    while let Some((at, marker)) = tokens::MARKERS
        .iter()
        .filter_map(|m| rest.find(m).map(|at| (at, *m)))
        .min_by_key(|(at, _)| *at)
    {
        if at > 0 {
            parts.push((&rest[..at], false));
        }
        parts.push((&rest[at..at + marker.len()], true));
        rest = &rest[at + marker.len()..];
    }
    if !rest.is_empty() {
        parts.push((rest, false));
    }
    parts
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_template_is_cut_at_its_slots() {
        assert_eq!(
            super::template_parts("Order ‹id› for ‹*›."),
            [
                ("Order ", false),
                ("‹id›", true),
                (" for ", false),
                ("‹*›", true),
                (".", false)
            ]
        );
        assert_eq!(super::template_parts("plain"), [("plain", false)]);
    }
}
