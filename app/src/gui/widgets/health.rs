//! The health light: one glance says whether the system is healthy, from the error rate
//! and the p95 latency of the range.

use crate::format;
use crate::gui::palette;
use egui::{Color32, RichText, Sense, Ui, Vec2};

/// Error rate at which the light turns amber.
pub const ERROR_RATE_WARN: f64 = 0.01;
/// Error rate at which it turns red.
pub const ERROR_RATE_BAD: f64 = 0.05;
/// p95 latency (ms) at which it turns amber.
pub const P95_WARN_MS: f64 = 2_000.0;
/// p95 latency (ms) at which it turns red.
pub const P95_BAD_MS: f64 = 5_000.0;

/// Green, amber or red.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Within both thresholds.
    Healthy,
    /// Past a warning threshold.
    Degraded,
    /// Past a bad threshold.
    Unhealthy,
    /// No calls to judge.
    NoData,
}

impl Health {
    /// Judges a range from its call count, error rate and p95.
    pub fn judge(calls: u64, error_rate: f64, p95_ms: f64) -> Health {
        if calls == 0 {
            Health::NoData
        } else if error_rate >= ERROR_RATE_BAD || p95_ms >= P95_BAD_MS {
            Health::Unhealthy
        } else if error_rate >= ERROR_RATE_WARN || p95_ms >= P95_WARN_MS {
            Health::Degraded
        } else {
            Health::Healthy
        }
    }

    fn color(self) -> Color32 {
        match self {
            Health::Healthy => palette::GOOD,
            Health::Degraded => palette::WARN,
            Health::Unhealthy => palette::BAD,
            Health::NoData => Color32::GRAY,
        }
    }

    /// One word for it.
    pub fn word(self) -> &'static str {
        match self {
            Health::Healthy => "Healthy",
            Health::Degraded => "Degraded",
            Health::Unhealthy => "Unhealthy",
            Health::NoData => "No calls",
        }
    }
}

/// Draws the light and its verdict with the two figures behind it.
pub fn health_light(ui: &mut Ui, health: Health, error_rate: f64, p95_ms: f64) {
    ui.horizontal(|ui| {
        let (rect, resp) = ui.allocate_exact_size(Vec2::splat(22.0), Sense::hover());
        ui.painter()
            .circle_filled(rect.center(), 10.0, health.color());
        let verdict = if health == Health::NoData {
            "No calls in this range".to_string()
        } else {
            format!(
                "{} · error rate {} · p95 {}",
                health.word(),
                format::percent(error_rate),
                format::millis(p95_ms)
            )
        };
        resp.on_hover_text(format!(
            "Amber at error rate ≥ {} or p95 ≥ {}; red at ≥ {} or ≥ {}",
            format::percent(ERROR_RATE_WARN),
            format::millis(P95_WARN_MS),
            format::percent(ERROR_RATE_BAD),
            format::millis(P95_BAD_MS)
        ));
        ui.label(RichText::new(verdict).size(18.0).strong());
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thresholds_pick_the_colour() {
        assert_eq!(Health::judge(0, 0.0, 0.0), Health::NoData);
        assert_eq!(Health::judge(10, 0.001, 800.0), Health::Healthy);
        assert_eq!(Health::judge(10, 0.02, 800.0), Health::Degraded);
        assert_eq!(Health::judge(10, 0.001, 2500.0), Health::Degraded);
        assert_eq!(Health::judge(10, 0.06, 800.0), Health::Unhealthy);
        assert_eq!(Health::judge(10, 0.0, 6000.0), Health::Unhealthy);
    }
}
