//! Rule groups as Prometheus rule files write them: the types are `wire::rules`, shared with
//! the rule editor; this module keeps the seed's file for tests.

pub use wire::rules::{GroupSpec, GroupWrite, NoDataBehaviour, RuleFile, RuleSpec};

/// The seed's `keiko.rules` group, verbatim (provisioned at the first start, see
/// `rules::provision`).
pub const SEED_RULES: &str = r#"# Prometheus Alert Rules
groups:
  - name: keiko.rules
    rules:
      # High Error Rate
      - alert: HighErrorRate
        expr: rate(keiko_errors_total[5m]) > 0.1
        for: 2m
        labels:
          severity: warning
        annotations:
          summary: "Hohe Fehlerrate erkannt"
          description: "Fehlerrate von {{ $value }} in den letzten 5 Minuten"

      # Agent Task Failures
      - alert: AgentTaskFailures
        expr: rate(keiko_agent_task_duration_seconds_count{status="failed"}[5m]) > 0.05
        for: 1m
        labels:
          severity: critical
        annotations:
          summary: "Agent-Task-Fehler erkannt"
          description: "Agent {{ $labels.agent_id }} hat Fehlerrate von {{ $value }}"

      # MCP Server Down
      - alert: MCPServerDown
        expr: keiko_mcp_server_health == 0
        for: 30s
        labels:
          severity: critical
        annotations:
          summary: "MCP-Server nicht erreichbar"
          description: "MCP-Server {{ $labels.server_name }} ist nicht erreichbar"

      # High Memory Usage
      - alert: HighMemoryUsage
        expr: process_resident_memory_bytes / 1024 / 1024 > 1000
        for: 5m
        labels:
          severity: warning
        annotations:
          summary: "Hoher Speicherverbrauch"
          description: "Speicherverbrauch: {{ $value }}MB"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_seed_file_reads_and_writes_back_the_same() {
        let file: RuleFile = serde_norway::from_str(SEED_RULES).unwrap();
        assert_eq!(file.groups[0].name, "keiko.rules");
        assert_eq!(file.groups[0].rules.len(), 4);
        assert_eq!(file.groups[0].rules[1].labels["severity"], "critical");
        let again: RuleFile =
            serde_norway::from_str(&serde_norway::to_string(&file).unwrap()).unwrap();
        assert_eq!(again, file);
    }
}
