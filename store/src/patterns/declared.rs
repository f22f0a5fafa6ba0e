//! Templates the instrumentation names: a prompt manager's name and version, or the
//! template text with its `{variables}` (OpenInference, OpenLLMetry, Langfuse,
//! OpenTelemetry GenAI). Ingest reads them from a span's attributes and the backfill of
//! older files from the attributes stored as JSON, by the same keys.

use super::DeclaredPrompt;
use crate::conventions::{PROMPT_NAME, PROMPT_TEMPLATE, PROMPT_VERSION};

/// The template a call declares, reading attributes through `text` (the first of the
/// keys given that holds a non-empty text); `None` when it names none.
pub fn declared_prompt(text: impl Fn(&[&str]) -> Option<String>) -> Option<DeclaredPrompt> {
    let clean = |keys: &[&str]| {
        text(keys)
            .map(|t| t.trim().to_string())
            .filter(|t| !t.is_empty())
    };
    let name = clean(PROMPT_NAME);
    let template = clean(PROMPT_TEMPLATE);
    let version = clean(PROMPT_VERSION);
    let identity = name.clone().or_else(|| template.clone())?;
    let key = match &version {
        Some(v) => format!("{identity}@{v}"),
        None => identity.clone(),
    };
    // Without its text a template shows as its name (the identity then).
    let shown = template.unwrap_or_else(|| match &version {
        Some(v) => format!("{identity} (version {v})"),
        None => identity,
    });
    Some(DeclaredPrompt {
        key,
        template: shown,
        name,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn read(pairs: &[(&str, &str)]) -> Option<DeclaredPrompt> {
        let map: HashMap<&str, &str> = pairs.iter().copied().collect();
        declared_prompt(|keys| keys.iter().find_map(|k| map.get(k).map(|v| v.to_string())))
    }

    #[test]
    fn an_openinference_template_is_its_text_and_version() {
        let d = read(&[
            (
                "llm.prompt_template.template",
                "Tell me a joke about {topic}",
            ),
            ("llm.prompt_template.version", "v2"),
        ])
        .unwrap();
        assert_eq!(d.key, "Tell me a joke about {topic}@v2");
        assert_eq!(d.template, "Tell me a joke about {topic}");
        assert_eq!(d.name, None);
    }

    #[test]
    fn a_named_prompt_without_text_shows_its_name_and_version() {
        let d = read(&[
            ("traceloop.prompt.key", "support-triage"),
            ("traceloop.prompt.version", "3"),
        ])
        .unwrap();
        assert_eq!(d.key, "support-triage@3");
        assert_eq!(d.template, "support-triage (version 3)");
        assert_eq!(d.name.as_deref(), Some("support-triage"));
    }

    #[test]
    fn a_version_alone_or_blank_names_declare_nothing() {
        assert_eq!(read(&[("gen_ai.prompt.version", "3")]), None);
        assert_eq!(read(&[("gen_ai.prompt.name", "  ")]), None);
    }
}
