//! A team's checklist exported as CSV (one row per item) or Markdown.

use wire::checklist::TeamChecklist;

use crate::error::Error;

/// How a team's checklist is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    Json,
    Markdown,
    Csv,
}

impl Format {
    /// `json` (the default), `md` or `csv`.
    pub fn parse(given: Option<&str>) -> Result<Format, Error> {
        match given {
            None | Some("json") => Ok(Format::Json),
            Some("md") => Ok(Format::Markdown),
            Some("csv") => Ok(Format::Csv),
            Some(other) => Err(Error::invalid(
                "format",
                format!("`{other}` is not a format; use json, md or csv"),
            )),
        }
    }

    pub fn extension(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Markdown => "md",
            Format::Csv => "csv",
        }
    }
}

/// The file name a download of `list` gets: `checklist-<team>.<ext>`, the team's name
/// reduced to ASCII letters, digits and `-`.
pub fn file_name(list: &TeamChecklist, format: Format) -> String {
    let name: String = list
        .team
        .name
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("checklist-{name}.{}", format.extension())
}

fn csv_field(s: &str) -> String {
    // Cells starting with a formula character are prefixed so spreadsheets show them as text.
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_owned()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

/// The checklist as CSV (one row per item) or Markdown (the seed's `- [ ]` style; also for
/// `Json`, which callers answer with the list itself).
pub fn export(list: &TeamChecklist, format: Format) -> String {
    let mut out = String::new();
    let items = list
        .sections
        .iter()
        .flat_map(|s| s.items.iter().map(move |i| (s, i)));
    if format == Format::Csv {
        out.push_str("section,item,detail,state,reason,owner,due_date,evidence,evidence_links\r\n");
        for (s, i) in items {
            let cells = [
                s.title.as_str(),
                &i.title,
                &i.detail,
                &i.state,
                &i.reason,
                i.owner
                    .as_ref()
                    .and_then(|o| o.login.as_deref())
                    .unwrap_or(""),
                i.due_date.as_deref().unwrap_or(""),
                i.evidence.as_ref().map(|e| e.status.as_str()).unwrap_or(""),
                &i.evidence_links.join(" "),
            ];
            out.push_str(
                &cells
                    .iter()
                    .map(|c| csv_field(c))
                    .collect::<Vec<_>>()
                    .join(","),
            );
            out.push_str("\r\n");
        }
        return out;
    }
    out.push_str(&format!(
        "# {} — {}\n\nProgress: {}/{} ({}%)\n",
        list.template.name,
        list.team.name,
        list.progress.done,
        list.progress.applicable,
        list.progress.percent
    ));
    for s in &list.sections {
        out.push_str(&format!("\n### {}\n\n", s.title));
        for i in &s.items {
            let mark = match i.state.as_str() {
                "done" => "x",
                "not_applicable" => "-",
                "in_progress" => "~",
                _ => " ",
            };
            out.push_str(&format!("- [{mark}] **{}** {}", i.title, i.detail));
            if let Some(owner) = i.owner.as_ref().and_then(|o| o.login.as_deref()) {
                out.push_str(&format!(" — owner: {owner}"));
            }
            if let Some(due) = &i.due_date {
                out.push_str(&format!(", due {due}"));
            }
            if i.state == "not_applicable" {
                out.push_str(&format!(" (n/a: {})", i.reason));
            }
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
        assert_eq!(csv_field("plain"), "plain");
    }
}
