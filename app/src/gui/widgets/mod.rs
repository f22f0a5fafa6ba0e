//! Reusable widgets: each chart or card kind is one widget, used by every view.

pub mod anomaly_list;
pub mod bars;
pub mod conversation;
pub mod data_table;
pub mod flamegraph;
pub mod gantt;
pub mod gauge;
pub mod health;
pub mod heatmap;
pub mod kpi_card;
pub mod phase_bar;
pub mod series_chart;
pub mod span_bar;
pub mod sparkline;
pub mod tables;
