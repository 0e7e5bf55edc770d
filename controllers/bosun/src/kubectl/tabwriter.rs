//! Go's `text/tabwriter` as kubectl's describers configure it (`minwidth 0, tabwidth 8,
//! padding 2, padchar ' ', flags 0`): cells end at a tab; a column is aligned over each run of
//! consecutive lines that have a tab-terminated cell in it; a line's last cell is never padded.
//!
//! Worked example (`·` is a space):
//! ```text
//! "Name:\tweb\nReplicas:\t3\nPod Template:\n  Labels:\tapp=web\n"
//! Name:······web
//! Replicas:··3
//! Pod Template:
//! ··Labels:··app=web
//! ```
//!
//! Not the `tabwriter` crate: it measures cells in display columns (`unicode-width`) where Go
//! counts code points, so a wide or combining character pads differently (tests below).

/// Align `text` (tab-separated cells, newline-terminated lines) as Go's tabwriter does.
pub fn align(text: &str) -> String {
    let lines: Vec<Vec<&str>> = text.split('\n').map(|l| l.split('\t').collect()).collect();
    let mut out = String::new();
    let mut widths = Vec::new();
    format(&lines, 0, lines.len(), &mut widths, &mut out);
    out
}

fn width(cell: &str) -> usize {
    cell.chars().count()
}

/// Go's `Writer.format`: find the column blocks of column `widths.len()` in `line0..line1`.
fn format(
    lines: &[Vec<&str>],
    mut line0: usize,
    line1: usize,
    widths: &mut Vec<usize>,
    out: &mut String,
) {
    let column = widths.len();
    let mut this = line0;
    while this < line1 {
        if column + 1 >= lines[this].len() {
            this += 1;
            continue;
        }
        // A block of lines with a terminated cell in this column begins here.
        write_lines(lines, line0, this, widths, out);
        line0 = this;
        let mut w = 0;
        while this < line1 && column + 1 < lines[this].len() {
            w = w.max(width(lines[this][column]) + 2);
            this += 1;
        }
        widths.push(w);
        format(lines, line0, this, widths, out);
        widths.pop();
        line0 = this;
    }
    write_lines(lines, line0, line1, widths, out);
}

fn write_lines(
    lines: &[Vec<&str>],
    line0: usize,
    line1: usize,
    widths: &[usize],
    out: &mut String,
) {
    for (i, line) in lines.iter().enumerate().take(line1).skip(line0) {
        for (j, cell) in line.iter().enumerate() {
            out.push_str(cell);
            if let Some(w) = widths.get(j) {
                out.extend(std::iter::repeat_n(' ', w.saturating_sub(width(cell))));
            }
        }
        if i + 1 < lines.len() {
            out.push('\n');
        }
    }
}

#[cfg(test)]
mod tests {
    use super::align;

    #[test]
    fn a_line_without_tabs_ends_the_column_block() {
        let text = "Name:\tweb\nReplicas:\t3\nPod Template:\n  Labels:\tapp=web\n";
        assert_eq!(
            align(text),
            "Name:      web\nReplicas:  3\nPod Template:\n  Labels:  app=web\n"
        );
    }

    #[test]
    fn nested_columns_align_within_their_own_block() {
        let text = "Conditions:\n  Type\tStatus\tReason\n  ----\t------\t------\n  Available \tTrue\tMinimumReplicasAvailable\n";
        assert_eq!(
            align(text),
            "Conditions:\n  Type        Status  Reason\n  ----        ------  ------\n  Available   True    MinimumReplicasAvailable\n"
        );
    }

    #[test]
    fn empty_terminated_cells_are_padded_and_last_cells_are_not() {
        let text = "Labels:\ta=1\n\tb=2\nX:\t\n";
        assert_eq!(align(text), "Labels:  a=1\n         b=2\nX:       \n");
    }

    /// The `tabwriter` crate configured as kubectl's describers configure Go's.
    fn crate_align(text: &str) -> String {
        use std::io::Write;
        let mut w = tabwriter::TabWriter::new(Vec::new()).minwidth(0).padding(2);
        w.write_all(text.as_bytes()).unwrap();
        w.flush().unwrap();
        String::from_utf8(w.into_inner().unwrap()).unwrap()
    }

    #[test]
    fn the_tabwriter_crate_matches_on_ascii_tables_but_counts_wide_characters_twice() {
        // describe's blocks and nested tables, and rollout history's table: the same bytes.
        for text in [
            "Name:\tweb\nReplicas:\t3\nPod Template:\n  Labels:\tapp=web\n",
            "Conditions:\n  Type\tStatus\tReason\n  ----\t------\t------\n  Available \tTrue\tMinimumReplicasAvailable\n",
            "Labels:\ta=1\n\tb=2\nX:\t\n",
            "REVISION\tCHANGE-CAUSE\n1\t<none>\n2\tkubectl set image deploy/web nginx=nginx:1.28\n",
        ] {
            assert_eq!(crate_align(text), align(text), "{text:?}");
        }
        // An event reason of CJK characters: Go (and kubectl) counts 4 code points, the crate
        // 8 columns; a decomposed accent: Go counts it, the crate does not.
        let events = "  Type\tReason\tAge\n  Normal\t拉取镜像\t5s\n  Normal\tPulled\t6s\n";
        assert_eq!(
            align(events),
            "  Type    Reason  Age\n  Normal  拉取镜像    5s\n  Normal  Pulled  6s\n"
        );
        assert_eq!(
            crate_align(events),
            "  Type    Reason    Age\n  Normal  拉取镜像  5s\n  Normal  Pulled    6s\n"
        );
        let accent = "Cafe\u{301}:\tx\nab:\ty\n";
        assert_eq!(align(accent), "Cafe\u{301}:  x\nab:     y\n");
        assert_eq!(crate_align(accent), "Cafe\u{301}:  x\nab:    y\n");
    }
}
