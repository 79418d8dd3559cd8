//! The signed-in user's own settings.

mod profile;

pub use profile::Profile;
