//! Dashboards: the list (search, tags, folders, stars, import with its report, new), the
//! view at `/d/{uid}` (every panel drawn on the server and in the first HTML; time picker,
//! variables, refresh, zoom, full-screen panel, "explore this query"), and the editor
//! (add, move and resize panels with buttons or the keyboard, edit queries with a live
//! preview, save with a message, versions with restore, duplicate, delete, unlink).

mod decode;
mod editor;
pub mod grid_layout;
mod import;
mod list;
pub mod model;
mod page;
mod panel;

pub use list::DashboardList;
pub use page::DashboardPage;

use leptos::lazy;
use leptos::prelude::{AnyView, IntoAny};

#[cfg(feature = "hydrate")]
pub use panel::preload_drawn_panels;

/// `/d/{uid}`, the module of its lazy route (`crate::LazyDashboardPage`, whose `preload` also
/// loads the modules of the panel kinds the server drew, before the page hydrates).
#[lazy]
pub fn dashboard_page_view() -> AnyView {
    DashboardPage().into_any()
}
