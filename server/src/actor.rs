//! Who is acting on a request: the signed-in user as the routes check them and the audit log
//! records them.

use app::dto::Role;

use crate::error::Error;

/// Who is acting: checked against the route's role and written into the audit log.
#[derive(Clone, Debug)]
pub struct Actor {
    pub user_id: i64,
    pub login: String,
    pub role: Role,
    pub correlation_id: String,
    pub client_addr: String,
}

impl Actor {
    /// The portal itself, writing what it provisions at start (dashboards, the seed's rules).
    pub fn provisioning() -> Actor {
        Actor {
            user_id: 0,
            login: "system:provisioning".into(),
            role: Role::Admin,
            correlation_id: String::new(),
            client_addr: String::new(),
        }
    }

    pub fn require(&self, role: Role) -> Result<(), Error> {
        if self.role >= role {
            Ok(())
        } else {
            Err(Error::forbidden(format!(
                "this needs the {role} role; you act as {}",
                self.role
            )))
        }
    }
}
