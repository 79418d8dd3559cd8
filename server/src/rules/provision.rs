//! The seed's rule file, provisioned at the first start as the seed's dashboard and contact
//! points are: its groups are written into an empty rule store under the default namespace
//! by `system:provisioning`. A store that ever held a group is left alone, so a team that
//! edits or deletes the seed's rules keeps its choice across restarts.

use sqlx::SqlitePool;

use super::actions;
use super::model::{RuleFile, SEED_RULES};
use super::namespace::Namespace;
use crate::actor::Actor;
use crate::error::Error;
use crate::metrics::Metrics;

/// Writes the seed's groups if no rule group was ever stored; answers how many it wrote.
pub async fn seed_rules(db: &SqlitePool, metrics: &Metrics) -> Result<usize, Error> {
    let ever: i64 = sqlx::query_scalar("SELECT count(*) FROM rule_group_versions")
        .fetch_one(db)
        .await?;
    if ever > 0 {
        return Ok(0);
    }
    let file: RuleFile = serde_norway::from_str(SEED_RULES).map_err(Error::internal)?;
    let ns =
        Namespace::parse(Namespace::DEFAULT).map_err(|e| Error::internal(anyhow::anyhow!(e)))?;
    let actor = Actor::provisioning();
    let mut written = 0;
    for spec in file.groups {
        actions::save(
            db,
            metrics,
            &actor,
            &ns,
            spec,
            None,
            "provisioned from the seed's rule file",
        )
        .await?;
        written += 1;
    }
    Ok(written)
}
