//! Colours: the Okabe-Ito palette, which stays distinguishable for the common kinds of
//! colour blindness, and one fixed colour per model so that a model looks the same in
//! every chart and table.

use egui::Color32;

/// Okabe-Ito, ordered so that the first colours contrast best on dark and light
/// backgrounds (yellow last: weak on white).
pub const OKABE_ITO: [Color32; 8] = [
    Color32::from_rgb(0x56, 0xB4, 0xE9), // sky blue
    Color32::from_rgb(0xE6, 0x9F, 0x00), // orange
    Color32::from_rgb(0x00, 0x9E, 0x73), // bluish green
    Color32::from_rgb(0xCC, 0x79, 0xA7), // reddish purple
    Color32::from_rgb(0x00, 0x72, 0xB2), // blue
    Color32::from_rgb(0xD5, 0x5E, 0x00), // vermillion
    Color32::from_rgb(0x99, 0x99, 0x99), // grey
    Color32::from_rgb(0xF0, 0xE4, 0x42), // yellow
];

/// Good.
pub const GOOD: Color32 = Color32::from_rgb(0x00, 0x9E, 0x73);
/// Needs a look.
pub const WARN: Color32 = Color32::from_rgb(0xE6, 0x9F, 0x00);
/// Bad.
pub const BAD: Color32 = Color32::from_rgb(0xD5, 0x5E, 0x00);

/// The colour of a span class in the timeline, the flamegraph and their legend (errors
/// are drawn in [`BAD`] instead).
pub fn span_class(class: store::SpanClass) -> Color32 {
    use store::SpanClass;
    match class {
        SpanClass::Llm => OKABE_ITO[0],
        SpanClass::Agent => OKABE_ITO[3],
        SpanClass::Tool => OKABE_ITO[1],
        SpanClass::Retrieval => OKABE_ITO[2],
        SpanClass::Other => OKABE_ITO[6],
    }
}

/// The colour of an alert severity (`critical`, `warning`, `info`).
pub fn severity(severity: &str) -> Color32 {
    match severity {
        "critical" => BAD,
        "warning" => WARN,
        _ => OKABE_ITO[4],
    }
}

/// The colour of `model`: its place among all stored models ranked by volume
/// (`ranked`, busiest first), so the same in every panel whatever the filter, and
/// distinct for the eight busiest; a hash of the name beyond them.
pub fn model_color(model: &str, ranked: &[String]) -> Color32 {
    let index = match ranked.iter().position(|m| m == model) {
        Some(i) if i < OKABE_ITO.len() => i,
        _ => model
            .bytes()
            .fold(0usize, |h, b| h.wrapping_mul(31).wrapping_add(b as usize)),
    };
    OKABE_ITO[index % OKABE_ITO.len()]
}

/// Everything not drawn by name ("other"): darker than the palette's own grey.
pub const OTHER: Color32 = Color32::from_rgb(0x5f, 0x5f, 0x5f);

/// The three latency percentiles, always drawn in these colours.
pub const P50: Color32 = OKABE_ITO[0];
/// 95th percentile.
pub const P95: Color32 = OKABE_ITO[1];
/// 99th percentile.
pub const P99: Color32 = OKABE_ITO[5];

/// A point outside its expected band: a crimson ring, unlike any series colour.
pub const ANOMALY: Color32 = Color32::from_rgb(0xD0, 0x10, 0x50);

/// The band of a stack's total (cost over time): a light grey, seen behind bars of
/// every model colour on either theme.
pub const TOTAL_BAND: Color32 = Color32::from_gray(190);

/// People's notes on the charts (a deploy, a prompt change): a blue apart from the
/// alerts' severities.
pub const NOTE: Color32 = OKABE_ITO[4];

/// Evaluation scores (distribution bars, the mean-score line).
pub const SCORE: Color32 = OKABE_ITO[4];

/// The phases of a call (its details' bar, inside its span in the timeline): waiting
/// in the server's queue, reading the prompt until the first token, generating, and
/// the rest.
pub const PHASES: [Color32; 4] = [
    OKABE_ITO[6],
    OKABE_ITO[1],
    OKABE_ITO[2],
    Color32::from_rgb(0xcc, 0xcc, 0xcc),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_model_keeps_its_colour_and_neighbours_differ() {
        let all = vec![
            "claude-3".to_string(),
            "gpt-4o".into(),
            "gpt-4o-mini".into(),
        ];
        assert_eq!(model_color("gpt-4o", &all), model_color("gpt-4o", &all));
        assert_ne!(
            model_color("gpt-4o", &all),
            model_color("gpt-4o-mini", &all)
        );
        assert_ne!(model_color("claude-3", &all), model_color("gpt-4o", &all));
    }
}
