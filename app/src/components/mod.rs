//! What several pages share: the interactive chart and its wire model, the links from a
//! chart or a trace to the other signals, the PromQL editor
//! and its completion, log lines and their wire model, the time picker's ranges, forms,
//! units, diffs, progress bars.

pub mod chart;
pub mod chart_model;
pub mod correlate;
pub mod diff;
pub mod form;
pub mod log_lines;
pub mod log_model;
pub mod progress;
pub mod promql_complete;
pub mod promql_editor;
pub mod time_range;
pub mod units;
