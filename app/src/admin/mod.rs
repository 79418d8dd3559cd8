//! Admin pages: users, teams, the audit log, data sources and scrape targets. They load their data from the JSON
//! API after hydration and change it through the same API; edit controls are rendered only
//! for roles that may use them (the API refuses the rest anyway).

mod audit;
mod datasources;
mod targets;
mod teams;
mod users;

pub use audit::Audit;
pub use datasources::DataSources;
pub use targets::Targets;
pub use teams::Teams;
pub use users::Users;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api_client::{call, ApiFailure};

/// Loads `path` into `target` whenever `reload` changes (browser only: effects never run
/// on the server).
pub(super) fn load_into<T>(
    path: String,
    target: RwSignal<Option<Result<T, ApiFailure>>>,
    reload: RwSignal<u32>,
) where
    T: serde::de::DeserializeOwned + Send + Sync + 'static,
{
    Effect::new(move |_| {
        reload.track();
        let path = path.clone();
        spawn_local(async move {
            target.set(Some(call::<T>("GET", &path, None::<&()>).await));
        });
    });
}

pub(super) fn input_value(ev: &leptos::ev::Event) -> String {
    event_target_value(ev)
}
