//! The tree as text: a header of the Deployment's fields, its conditions, then the table of
//! the Deployment, its revisions, ReplicaSets and Pods.

use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use k8s_openapi::jiff::Timestamp;

use super::super::describe::human_duration;
use super::pod::pod_tone;
use super::{ReplicaSetNode, Role, Strategy, Tone, Tree};

fn int_or_string(v: &IntOrString) -> String {
    match v {
        IntOrString::Int(i) => i.to_string(),
        IntOrString::String(s) => s.clone(),
    }
}

fn age(t: Option<Timestamp>, now: Timestamp) -> String {
    match t {
        Some(t) => human_duration(now.as_second() - t.as_second()),
        None => "<unknown>".into(),
    }
}

fn revision_label(r: Option<i64>) -> String {
    match r {
        Some(r) => format!("revision:{r}"),
        None => "revision:?".into(),
    }
}

/// A cell of the table: its text and, for a status, its colour.
struct Cell {
    text: String,
    sgr: Option<&'static str>,
}

fn plain(text: impl Into<String>) -> Cell {
    Cell {
        text: text.into(),
        sgr: None,
    }
}

fn status_cell(tone: Tone, word: &str) -> Cell {
    Cell {
        text: format!("{} {word}", tone.icon()),
        sgr: Some(tone.sgr()),
    }
}

/// Lay cells out in columns two spaces apart over the whole table (not a tabwriter, whose
/// columns end at a row without the cell: a test shows the difference) (widths in characters); a line's last cell is not
/// padded and trailing blanks are dropped. Colour wraps a cell's text, never its padding.
fn columns(rows: &[Vec<Cell>], colour: bool) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, c) in row.iter().enumerate() {
            let w = c.text.chars().count();
            match widths.get_mut(i) {
                Some(x) => *x = (*x).max(w),
                None => widths.push(w),
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        let last = row.iter().rposition(|c| !c.text.is_empty()).unwrap_or(0);
        let mut line = String::new();
        for (i, c) in row.iter().enumerate().take(last + 1) {
            match (colour, c.sgr) {
                (true, Some(sgr)) => line.push_str(&format!("\x1b[{sgr}m{}\x1b[0m", c.text)),
                _ => line.push_str(&c.text),
            }
            if i < last {
                let pad = widths[i] - c.text.chars().count() + 2;
                line.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// The tree as text, ages as of `now`, with ANSI colours when `colour`.
pub fn render_text(t: &Tree, now: Timestamp, colour: bool) -> String {
    let mut out = columns(&head_rows(t), colour);
    if !t.conditions.is_empty() {
        out.push_str("Conditions:\n");
        let rows: Vec<Vec<Cell>> = std::iter::once(vec![
            plain("  TYPE"),
            plain("STATUS"),
            plain("REASON"),
            plain("MESSAGE"),
        ])
        .chain(t.conditions.iter().map(|c| {
            vec![
                plain(format!("  {}", c.type_)),
                plain(&c.status),
                plain(&c.reason),
                plain(&c.message),
            ]
        }))
        .collect();
        out.push_str(&columns(&rows, colour));
    }
    out.push('\n');
    out.push_str(&columns(&tree_rows(t, now), colour));
    out
}

/// The header: name, namespace, status, message, strategy, images, replica counts.
fn head_rows(t: &Tree) -> Vec<Vec<Cell>> {
    let mut head: Vec<Vec<Cell>> = vec![
        vec![plain("Name:"), plain(&t.name)],
        vec![plain("Namespace:"), plain(&t.namespace)],
        vec![
            plain("Status:"),
            status_cell(t.health.tone(), t.health.word()),
        ],
    ];
    if let Some(m) = &t.message {
        head.push(vec![plain("Message:"), plain(m)]);
    }
    head.push(vec![
        plain("Strategy:"),
        plain(match &t.strategy {
            Strategy::RollingUpdate {
                max_surge,
                max_unavailable,
            } => format!(
                "RollingUpdate (max surge {}, max unavailable {})",
                int_or_string(max_surge),
                int_or_string(max_unavailable)
            ),
            Strategy::Recreate => "Recreate".into(),
        }),
    ]);
    for (n, (image, role)) in images(t).iter().enumerate() {
        let title = if n == 0 { "Images:" } else { "" };
        head.push(vec![
            plain(title),
            plain(format!("{image} ({})", role.word())),
        ]);
    }
    let r = t.replicas;
    head.push(vec![plain("Replicas:")]);
    for (k, v) in [
        ("  Desired:", r.desired),
        ("  Current:", r.current),
        ("  Updated:", r.updated),
        ("  Ready:", r.ready),
        ("  Available:", r.available),
    ] {
        head.push(vec![plain(k), plain(v.to_string())]);
    }
    head
}

/// Images of the ReplicaSets that run or are to run Pods, tagged with their role.
fn images(t: &Tree) -> Vec<(String, Role)> {
    let mut images: Vec<(String, Role)> = Vec::new();
    for rs in &t.replica_sets {
        if rs.desired > 0 || rs.current > 0 || rs.role != Role::Old {
            for i in &rs.images {
                if !images.iter().any(|(x, r)| x == i && *r == rs.role) {
                    images.push((i.clone(), rs.role));
                }
            }
        }
    }
    images
}

/// The table: the Deployment, then each revision (one ReplicaSet each, unless someone edited
/// the annotations) with its ReplicaSets and their Pods, drawn as branches.
fn tree_rows(t: &Tree, now: Timestamp) -> Vec<Vec<Cell>> {
    let mut rows: Vec<Vec<Cell>> = vec![vec![
        plain("NAME"),
        plain("KIND"),
        plain("STATUS"),
        plain("AGE"),
        plain("INFO"),
    ]];
    rows.push(vec![
        plain(format!("⟳ {}", t.name)),
        plain("Deployment"),
        status_cell(t.health.tone(), t.health.word()),
        plain(age(t.created, now)),
    ]);
    let mut groups: Vec<(Option<i64>, Vec<&ReplicaSetNode>)> = Vec::new();
    for rs in &t.replica_sets {
        match groups.last_mut() {
            Some((r, v)) if *r == rs.revision => v.push(rs),
            _ => groups.push((rs.revision, vec![rs])),
        }
    }
    for (g, (rev, members)) in groups.iter().enumerate() {
        let (branch, stem) = branches(g + 1 == groups.len());
        rows.push(vec![plain(format!("{branch}# {}", revision_label(*rev)))]);
        for (i, rs) in members.iter().enumerate() {
            replicaset_rows(&mut rows, rs, stem, i + 1 == members.len(), now);
        }
    }
    rows
}

/// The branch drawn to the last child (`└──`) or another (`├──`), and the stem its own
/// children hang from.
fn branches(last: bool) -> (&'static str, &'static str) {
    if last {
        ("└──", "   ")
    } else {
        ("├──", "│  ")
    }
}

/// The rows of one ReplicaSet (below `stem`) and its Pods.
fn replicaset_rows(
    rows: &mut Vec<Vec<Cell>>,
    rs: &ReplicaSetNode,
    stem: &str,
    last: bool,
    now: Timestamp,
) {
    let (rs_branch, rs_stem) = branches(last);
    rows.push(vec![
        plain(format!("{stem}{rs_branch}⧉ {}", rs.name)),
        plain("ReplicaSet"),
        status_cell(rs.health.tone(), rs.health.word()),
        plain(age(rs.created, now)),
        plain(format!(
            "{},ready:{}/{}",
            rs.role.word(),
            rs.ready,
            rs.desired
        )),
    ]);
    for (j, p) in rs.pods.iter().enumerate() {
        let (pod_branch, _) = branches(j + 1 == rs.pods.len());
        rows.push(vec![
            plain(format!("{stem}{rs_stem}{pod_branch}□ {}", p.name)),
            plain("Pod"),
            status_cell(pod_tone(&p.status), &p.status),
            plain(age(p.created, now)),
            plain(format!(
                "ready:{}/{},restarts:{}",
                p.ready, p.containers, p.restarts
            )),
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::super::build;
    use super::super::fixtures::{deploy, now, pod, rs};
    use super::*;

    #[test]
    fn ages_read_as_kubectls_age_column() {
        let d = deploy(3, "app:1").build();
        let rss = [rs("a", 1, "app:1").replicas(3, 3, 3).build()];
        let pods = [
            pod("web-a-1", "a", 5).running().build(),
            pod("web-a-2", "a", 150).running().build(),
            pod("web-a-3", "a", 3 * 3600 + 60).running().build(),
        ];
        let text = render_text(&build(&d, &rss, &pods), now(), false);
        let ages: Vec<&str> = text
            .lines()
            .filter(|l| l.contains(" Pod "))
            .filter_map(|l| l.split_whitespace().nth(5))
            .collect();
        assert_eq!(ages, ["5s", "2m30s", "3h1m"], "{text}");
    }

    #[test]
    fn colour_wraps_the_status_cells_only_and_keeps_the_columns() {
        let d = deploy(1, "app:1").build();
        let rss = [rs("a", 1, "app:1").replicas(1, 1, 1).build()];
        let pods = [pod("web-a-1", "a", 5).running().build()];
        let tree = build(&d, &rss, &pods);
        let plain_text = render_text(&tree, now(), false);
        let coloured = render_text(&tree, now(), true);
        assert!(!plain_text.contains('\x1b'));
        assert!(coloured.contains("\x1b[32m✔ Healthy\x1b[0m"), "{coloured}");
        assert!(coloured.contains("\x1b[32m✔ Running\x1b[0m"), "{coloured}");
        let stripped = coloured.replace("\x1b[32m", "").replace("\x1b[0m", "");
        assert_eq!(stripped, plain_text);
    }

    #[test]
    fn the_table_is_aligned_as_a_whole_where_a_tabwriter_would_break_it() {
        use std::io::Write;
        let rows = vec![
            vec![plain("Name:"), plain("web")],
            vec![plain("Replicas:")],
            vec![plain("  Available:"), plain("3")],
        ];
        assert_eq!(
            columns(&rows, false),
            "Name:         web\nReplicas:\n  Available:  3\n"
        );
        let mut w = tabwriter::TabWriter::new(Vec::new()).minwidth(0).padding(2);
        w.write_all(b"Name:\tweb\nReplicas:\n  Available:\t3\n")
            .unwrap();
        w.flush().unwrap();
        assert_eq!(
            String::from_utf8(w.into_inner().unwrap()).unwrap(),
            "Name:  web\nReplicas:\n  Available:  3\n"
        );
    }
}
