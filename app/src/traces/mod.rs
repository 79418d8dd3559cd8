//! Explore → Traces: the search (`search.rs`, with the scatter plot in `scatter.rs`), one
//! trace (`trace_view.rs`: waterfall laid out by `layout.rs`, span details, self time), two
//! traces compared (`compare.rs`, its figures from `comparison.rs`) and the service map (`service_map.rs`). `model.rs` holds
//! what crosses the wire, `fetch.rs` how pages get it (the server's backend during server
//! rendering, `/api/v1` in the browser).

mod compare;
pub mod comparison;
pub mod fetch;
mod layout;
pub mod model;
mod range_select;
mod scatter;
mod search;
mod service_map;
mod trace_view;

pub use compare::ComparePage;
pub use search::ExploreTraces;
pub use service_map::ServiceMapPage;
pub use trace_view::TracePage;
