//! Reusable widgets: each chart or card kind is one widget, used by every view.

pub mod conversation;
pub mod flamegraph;
pub mod gantt;
pub mod health;
pub mod kpi_card;
pub mod series_chart;
pub mod span_bar;
pub mod sparkline;
pub mod tables;
